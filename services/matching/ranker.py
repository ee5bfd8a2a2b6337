"""Two-way ranking in memory: jobs for a worker (`recommend`), workers for a job (`candidates`), and top-k for many
workers at once (`top_k`, `top_k_arrays`) for allocation and the benchmark.

Why it is built this way:

- Text is hashed character n-grams (1-3): Chinese needs no dictionary, and hashing needs no vocabulary, so a new
  job or worker is encoded on arrival without refitting anything (`ngrams.hashed_counts`, in numpy, for a whole
  batch at once). The idf is fitted on the open jobs (`smooth_idf`, scikit-learn's `TfidfTransformer` formula)
  and refitted only when the job set has changed by `refit_fraction` since the last fit.
- Each job and worker owns a fixed-width slot (its n-gram columns and counts; longer texts keep their heaviest
  n-grams) found through a row map with a free list, so an upsert or removal rewrites one row, never a matrix.
  Queries use an inverted snapshot of the slots (a CSR matrix features x rows) plus an exact overlay for the rows
  changed since the snapshot; the snapshot is rebuilt once enough rows have changed.
- Hard filters are boolean masks over per-slot arrays, so only eligible rows are scored, and every score is the
  sum of named components, so every result can say why (`Reason`s, largest first) and policy priority is always
  one of the listed reasons.
- `top_k_arrays` works city by city (a worker only sees jobs in acceptable cities) in blocks of workers x jobs:
  the n-grams found in many jobs go through a dense matrix product, the rest through a sparse one, and the other
  components are gathers from small per-city tables; nothing is computed per pair in Python.

Not thread-safe: the service serialises mutations and queries (one event loop, or a lock).
"""

from __future__ import annotations

import contextlib
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from libs.db import beijing_date
from libs.reference.regions import JIANGSU_CITIES

from . import fused
from .columns import (
    CATEGORY_BIT,
    CATEGORY_REASONS,
    KEY_REGION_BIT,
    LEGAL_WORKING_AGE,
    MAX_INTENDED_OCCUPATIONS,
    MAX_TRAINED_OCCUPATIONS,
    NEVER,
    JobColumns,
    WorkerColumns,
    job_columns,
    worker_columns,
)
from .features import JobFeatures, Match, PriorityWeights, Reason, ScoreWeights, WorkerFeatures
from .synthetic import make_jobs, make_workers

F32 = npt.NDArray[np.float32]
I32 = npt.NDArray[np.int32]
I64 = npt.NDArray[np.int64]
Bool = npt.NDArray[np.bool_]
U64 = npt.NDArray[np.uint64]

MIN_LEGAL_AGE = 16
MAX_LEGAL_AGE = max(high for _, high in LEGAL_WORKING_AGE.values())
AVAILABLE_WITHIN_DAYS = 30  # a worker available within this many days is matched now
# The factors whose weights can be learned (ScoreWeights' names), in the order `MatchIndex.factors` gives them.
FACTORS = ("text", "occupation", "training", "pay", "dormitory")

N_FEATURES = 2**20
JOB_WIDTH = 256  # n-gram slots per job (synthetic jobs use <= ~180; longer texts keep their heaviest)
WORKER_WIDTH = 192  # per worker (keywords, skills, occupation names, work history: the heaviest n-grams kept)

OCCUPATION_LEVEL_LABELS: dict[float, tuple[str, str]] = {
    1.0: ("same_occupation", "同一职业"),
    0.75: ("occupation_group", "同一职业小类"),
    0.5: ("occupation_group", "同一职业中类"),
    0.25: ("occupation_group", "同一职业大类"),
}

_SEPARATORS = re.compile(r"[\W_]+")
_TF = np.zeros(256, dtype=np.float32)
_TF[1:] = 1.0 + np.log(np.arange(1, 256, dtype=np.float32))  # sublinear tf, counts capped at 255


def char_ngrams(text: str) -> list[str]:
    """Character 1-3-grams within each run of letters/digits/CJK: no n-gram spans punctuation or spaces."""
    grams: list[str] = []
    for token in _SEPARATORS.split(unicodedata.normalize("NFKC", text).lower()):
        n = len(token)
        if n:
            grams.extend(token)
            grams.extend(token[i : i + 2] for i in range(n - 1))
            grams.extend(token[i : i + 3] for i in range(n - 2))
    return grams


def smooth_idf(document_frequency: npt.NDArray[np.int64], n_documents: int) -> F32:
    """scikit-learn's `TfidfTransformer(smooth_idf=True)` idf, to the bit, from counts already at hand: it would
    rebuild the whole corpus as a sparse matrix to count the same (a tenth of an index build)."""
    df = document_frequency.astype(np.float32) + np.float32(1.0)
    idf = np.full_like(df, n_documents + 1)
    idf /= df
    np.log(idf, out=idf)
    idf += np.float32(1.0)
    return idf


def _grow(array: npt.NDArray[Any], capacity: int, fill: Any) -> npt.NDArray[Any]:
    grown = np.full((capacity, *array.shape[1:]), fill, dtype=array.dtype)
    grown[: array.shape[0]] = array
    return grown


# ------------------------------------------------------------------------------------------------ vocabularies


class _Vocabulary:
    """Strings to small ints, in order of first sight."""

    def __init__(self, reserved: Iterable[str] = ()) -> None:
        self.index: dict[str, int] = {}
        self.items: list[str] = []
        for item in reserved:
            self.add(item)

    def add(self, item: str) -> int:
        found = self.index.get(item)
        if found is None:
            found = self.index[item] = len(self.items)
            self.items.append(item)
        return found

    def __len__(self) -> int:
        return len(self.items)


class _BitRows:
    """One set of vocabulary items per row, as 64-bit words; more words are added as the vocabulary grows."""

    def __init__(self) -> None:
        self.bits: U64 = np.zeros((0, 1), dtype=np.uint64)

    def grow(self, capacity: int) -> None:
        self.bits = _grow(self.bits, capacity, 0)

    def set(self, rows: I64, members: Sequence[Sequence[int]]) -> None:
        needed = max((max(items) // 64 + 1 for items in members if items), default=1)
        if needed > self.bits.shape[1]:
            wider = np.zeros((self.bits.shape[0], needed), dtype=np.uint64)
            wider[:, : self.bits.shape[1]] = self.bits
            self.bits = wider
        words = self.bits.shape[1]
        masks = [sum(1 << item for item in set(items)) for items in members]
        for word in range(words):
            self.bits[rows, word] = np.array(
                [(mask >> (64 * word)) & 0xFFFFFFFFFFFFFFFF for mask in masks], dtype=np.uint64
            )

    def covers(self, rows: I64, required: U64) -> Bool:
        """Rows whose sets contain every item of `required` (one row of words, possibly of another width)."""
        return _covers(self.bits[rows], required[None, :])


def _covers(have: U64, need: U64) -> Bool:
    """have (n x words) contains need (n or 1 x words') row by row; words beyond `have`'s are not held."""
    words = min(have.shape[1], need.shape[1])
    ok = np.all((need[:, :words] & ~have[:, :words]) == 0, axis=1)
    if need.shape[1] > words:
        ok &= ~need[:, words:].any(axis=1)
    return np.asarray(ok, dtype=np.bool_)


class _Occupations:
    """Occupation codes to ints, with the closeness of every pair: the share of the four code levels
    (major-minor-unit-detail, "6-18-02-04") that two codes have in common from the top.

    Index 0 is "no occupation", close to nothing."""

    def __init__(self) -> None:
        self.vocabulary = _Vocabulary([""])
        self.closeness: F32 = np.zeros((1, 1), dtype=np.float32)

    @staticmethod
    def level(a: str, b: str) -> float:
        if not a or not b:
            return 0.0
        pa, pb = a.split("-"), b.split("-")
        if len(pa) != 4 or len(pb) != 4:
            return 1.0 if a == b else 0.0
        shared = 0
        for x, y in zip(pa, pb, strict=True):
            if x != y:
                break
            shared += 1
        return shared / 4

    def add(self, code: str | None) -> int:
        code = (code or "").strip()
        before = len(self.vocabulary)
        index = self.vocabulary.add(code)
        if index == before:
            size = self.closeness.shape[0]
            if index >= size:
                self.closeness = _grow(self.closeness.T, max(2 * size, 64), 0).T.copy()
                self.closeness = _grow(self.closeness, self.closeness.shape[1], 0)
            row = np.array([self.level(code, other) for other in self.vocabulary.items], dtype=np.float32)
            self.closeness[index, : len(row)] = row
            self.closeness[: len(row), index] = row
        return index

    def __len__(self) -> int:
        return len(self.vocabulary)


# --------------------------------------------------------------------------------------------------- text rows


class _TextRows:
    """Hashed n-gram counts in fixed-width slots (columns sorted, padding last), their tf-idf norms, and an
    inverted snapshot for queries. Weights are computed from counts x idf when needed, so an idf refit only
    recomputes the norms."""

    def __init__(self, width: int, n_features: int) -> None:
        self.width = width
        self.pad = n_features  # a column no text hashes to
        self.n_columns = n_features + 1
        self.cols: I32 = np.full((0, width), self.pad, dtype=np.int32)
        self.counts: npt.NDArray[np.uint8] = np.zeros((0, width), dtype=np.uint8)
        self.inv_norm: F32 = np.zeros(0, dtype=np.float32)
        self.truncated = 0
        self.snapshots = 0
        self._postings: Any = None  # CSR, n_columns x rows at snapshot time
        self._dirty: set[int] = set()
        self._dirty_array: I64 | None = None

    @property
    def capacity(self) -> int:
        return int(self.cols.shape[0])

    def grow(self, capacity: int) -> None:
        self.cols = _grow(self.cols, capacity, self.pad)
        self.counts = _grow(self.counts, capacity, 0)
        self.inv_norm = _grow(self.inv_norm, capacity, 0.0)

    def put(self, rows: I64, counts: Any, idf: F32) -> None:
        """Write one hashed text per row; a text with more n-grams than the width keeps its heaviest ones."""
        counts = sp.csr_matrix(counts)
        counts.sum_duplicates()  # sorted columns, as the padding-last layout needs
        self.cols[rows] = self.pad
        self.counts[rows] = 0
        lengths = np.diff(counts.indptr)
        fits = lengths <= self.width
        if fits.all():
            fitting, sub = rows, counts
        else:
            fitting, sub = rows[fits], counts[np.flatnonzero(fits)]
        sub_lengths = np.diff(sub.indptr)
        if sub.nnz:
            row_of = np.repeat(fitting, sub_lengths)
            position = np.arange(sub.nnz) - np.repeat(sub.indptr[:-1], sub_lengths)
            self.cols[row_of, position] = sub.indices
            self.counts[row_of, position] = np.minimum(sub.data, 255)
        for i in np.flatnonzero(~fits):
            start, end = counts.indptr[i], counts.indptr[i + 1]
            columns, values = counts.indices[start:end], np.minimum(counts.data[start:end], 255)
            heaviest = np.sort(
                np.argsort(-(_TF[values.astype(np.uint8)] * idf[columns]), kind="stable")[: self.width]
            )
            self.cols[rows[i]] = columns[heaviest]
            self.counts[rows[i]] = values[heaviest]
            self.truncated += 1
        self.renorm(rows, idf)
        self.touch(rows)

    def clear(self, rows: I64) -> None:
        self.cols[rows] = self.pad
        self.counts[rows] = 0
        self.inv_norm[rows] = 0.0
        self.touch(rows)

    def touch(self, rows: I64) -> None:
        self._dirty.update(rows.tolist())
        self._dirty_array = None

    def renorm(self, rows: I64 | None, idf: F32, chunk: int = 65536) -> None:
        todo = np.arange(self.capacity) if rows is None else rows
        for start in range(0, len(todo), chunk):
            part = todo[start : start + chunk]
            weights = _TF[self.counts[part]] * idf[self.cols[part]]
            norms = np.sqrt(np.einsum("ij,ij->i", weights, weights))
            self.inv_norm[part] = np.divide(1.0, norms, out=np.zeros_like(norms), where=norms > 0)

    def values(self, rows: I64, idf: F32) -> tuple[I32, F32]:
        """Columns and L2-normalised tf-idf weights of these rows (padding weighs 0)."""
        cols = self.cols[rows]
        return cols, _TF[self.counts[rows]] * idf[cols] * self.inv_norm[rows][:, None]

    def matrix(self, rows: I64 | None, idf: F32, scale: float = 1.0) -> Any:
        """CSR (len(rows) x n_columns) of the rows' weights (every slot with None). Weighs only the n-grams
        present: the slots' padding is most of a dense weight array of a few hundred MB at a province's scale."""
        cols = self.cols if rows is None else self.cols[rows]
        counts = self.counts if rows is None else self.counts[rows]
        inv_norm = self.inv_norm if rows is None else self.inv_norm[rows]
        keep = counts > 0
        lengths = keep.sum(axis=1)
        indptr = np.zeros(len(lengths) + 1, dtype=np.int64)
        np.cumsum(lengths, out=indptr[1:])
        kept = cols[keep]
        data = _TF[counts[keep]] * idf[kept] * np.repeat(inv_norm, lengths)
        if scale != 1.0:
            data *= scale
        return sp.csr_matrix((data, kept, indptr), shape=(len(lengths), self.n_columns))

    def vector(self, row: int, idf: F32) -> tuple[I32, F32]:
        keep = self.counts[row] > 0
        cols, weights = self.values(np.array([row]), idf)
        return cols[0][keep], weights[0][keep]

    def snapshot(self, idf: F32) -> Any:
        stale = len(self._dirty) > max(1024, self.capacity // 50)
        if self._postings is None or stale:
            self._postings = self.matrix(None, idf).T.tocsr()
            self._dirty.clear()
            self._dirty_array = None
            self.snapshots += 1
        return self._postings

    def invalidate(self) -> None:
        self._postings = None

    def postings_matrix(self) -> Any:
        return self._postings

    def dot_all(self, cols: I32, weights: F32, idf: F32) -> F32:
        """Cosine of one query vector (sorted columns, weights) with every row: snapshot plus dirty overlay."""
        postings = self.snapshot(idf)
        out = np.zeros(self.capacity, dtype=np.float32)
        if not len(cols):
            return out
        query = sp.csr_matrix((weights, cols, np.array([0, len(cols)])), shape=(1, self.n_columns))
        base = np.asarray((query @ postings).toarray(), dtype=np.float32).ravel()
        out[: base.size] = base
        if self._dirty:
            if self._dirty_array is None:
                self._dirty_array = np.fromiter(self._dirty, dtype=np.int64, count=len(self._dirty))
            out[self._dirty_array] = self.dot_rows(self._dirty_array, cols, weights, idf)
        return out

    def dot_rows(self, rows: I64, cols: I32, weights: F32, idf: F32) -> F32:
        """Exact cosine of one query vector with some rows, from their slots."""
        row_cols, row_weights = self.values(rows, idf)
        position = np.minimum(np.searchsorted(cols, row_cols), len(cols) - 1)
        matched = cols[position] == row_cols
        return np.asarray(
            np.where(matched, weights[position] * row_weights, 0.0).sum(axis=1), dtype=np.float32
        )


# --------------------------------------------------------------------------------------------------- results


@dataclass(frozen=True)
class TopK:
    """Top-k jobs for many workers as arrays (materialising a million `Match`es would cost more than ranking).

    `job_rows[i]` are slots into `job_ids`, best first; -1 (score -inf) where fewer than k jobs were eligible."""

    person_ids: list[str]
    job_rows: npt.NDArray[np.int32]
    scores: F32
    text: F32  # the text cosine of each pair (for reasons)
    job_ids: list[str | None]

    def jobs_for(self, i: int) -> list[tuple[str, float]]:
        return [
            (str(self.job_ids[row]), float(score))
            for row, score in zip(self.job_rows[i].tolist(), self.scores[i].tolist(), strict=True)
            if row >= 0
        ]


@dataclass(frozen=True)
class _CityBlock:
    rows: I64  # job slots in this city, eligible today
    postings: Any  # CSR n_columns x n: per n-gram, the jobs carrying it and its weight in each
    dense_columns: I64  # the frequent n-grams (fused.split_frequent), sorted
    dense: F32  # len(dense_columns) x n: their weights, row by row
    table: F32  # (2 * ages) x n: assistance boost + dormitory +/- + (0 | -inf for the job's age range)
    occupation: I32
    mid_pay: F32
    valid_until: I32
    certificate_columns: I64
    certificate_of_column: I64  # per job: its place in certificate_columns, -1 when it needs none
    certificates: U64


# ------------------------------------------------------------------------------------------------------- index


class MatchIndex:
    """Jobs and workers in memory, updated one event at a time, ranked both ways. Unknown ids raise KeyError."""

    def __init__(
        self,
        priority: PriorityWeights | None = None,
        weights: ScoreWeights | None = None,
        *,
        refit_fraction: float = 0.2,
        job_width: int = JOB_WIDTH,
        worker_width: int = WORKER_WIDTH,
        n_features: int = N_FEATURES,
    ) -> None:
        self.priority = priority or PriorityWeights()
        self.weights = weights or ScoreWeights()
        self.refit_fraction = refit_fraction
        self.refits = 0
        self._n_features = n_features
        self._idf: F32 = np.ones(n_features + 1, dtype=np.float32)
        self._idf[n_features] = 0.0
        self._changed_jobs = 0
        self._fitted_on = 0
        self._occupations = _Occupations()
        self._cities = _Vocabulary(JIANGSU_CITIES)
        self._certificates = _Vocabulary()

        self._job_text = _TextRows(job_width, n_features)
        self._job_ids: list[str | None] = []
        self._job_row: dict[str, int] = {}
        self._job_free: list[int] = []
        self._j_live: Bool = np.zeros(0, dtype=np.bool_)
        self._j_open: Bool = np.zeros(0, dtype=np.bool_)
        self._j_city: I32 = np.zeros(0, dtype=np.int32)
        self._j_occ: I32 = np.zeros(0, dtype=np.int32)
        self._j_pay_min: I32 = np.zeros(0, dtype=np.int32)
        self._j_pay_max: I32 = np.zeros(0, dtype=np.int32)
        self._j_mid: F32 = np.zeros(0, dtype=np.float32)
        self._j_age_min: I32 = np.zeros(0, dtype=np.int32)
        self._j_age_max: I32 = np.zeros(0, dtype=np.int32)
        self._j_valid: I32 = np.zeros(0, dtype=np.int32)
        self._j_dorm: Bool = np.zeros(0, dtype=np.bool_)
        self._j_base: Bool = np.zeros(0, dtype=np.bool_)
        self._j_needs_cert: Bool = np.zeros(0, dtype=np.bool_)
        self._j_certs = _BitRows()
        self._j_headcount: I32 = np.zeros(0, dtype=np.int32)
        # what spreading recommendations takes off each job's score (services/matching/congestion.py)
        self._j_spread: F32 = np.zeros(0, dtype=np.float32)

        self._worker_text = _TextRows(worker_width, n_features)
        self._worker_ids: list[str | None] = []
        self._worker_row: dict[str, int] = {}
        self._worker_free: list[int] = []
        self._w_live: Bool = np.zeros(0, dtype=np.bool_)
        self._w_legal: Bool = np.zeros(0, dtype=np.bool_)
        self._w_age: I32 = np.zeros(0, dtype=np.int32)
        self._w_any_city: Bool = np.zeros(0, dtype=np.bool_)
        self._w_cities = _BitRows()
        self._w_occ: I32 = np.zeros((0, MAX_INTENDED_OCCUPATIONS), dtype=np.int32)
        self._occ_used = 1  # columns of _w_occ / _w_trained any worker has used: the rest are all "none"
        self._trained_used = 1
        self._w_trained: I32 = np.zeros((0, MAX_TRAINED_OCCUPATIONS), dtype=np.int32)
        self._w_min: F32 = np.zeros(0, dtype=np.float32)
        self._w_has_min: Bool = np.zeros(0, dtype=np.bool_)
        self._w_dorm: Bool = np.zeros(0, dtype=np.bool_)
        self._w_available: I32 = np.zeros(0, dtype=np.int32)
        self._w_unemployed: I32 = np.zeros(0, dtype=np.int32)
        self._w_flags: npt.NDArray[np.uint8] = np.zeros(0, dtype=np.uint8)
        self._w_certs = _BitRows()
        self._w_seeking: Bool = np.zeros(0, dtype=np.bool_)
        self._stations = _Vocabulary()
        self._provinces = _Vocabulary()
        self._w_station: I32 = np.zeros(0, dtype=np.int32)
        self._w_province: I32 = np.zeros(0, dtype=np.int32)

    # ------------------------------------------------------------------------------------------------ counts

    @property
    def job_count(self) -> int:
        return len(self._job_row)

    @property
    def worker_count(self) -> int:
        return len(self._worker_row)

    def __len__(self) -> int:
        """Jobs plus workers held."""
        return self.job_count + self.worker_count

    def __contains__(self, item_id: object) -> bool:
        return item_id in self._job_row or item_id in self._worker_row

    def has_job(self, job_id: str) -> bool:
        return job_id in self._job_row

    def has_worker(self, person_id: str) -> bool:
        return person_id in self._worker_row

    def stats(self) -> dict[str, int]:
        return {
            "jobs": self.job_count,
            "open_jobs": int((self._j_live & self._j_open).sum()),
            "workers": self.worker_count,
            "job_slots": self._job_text.capacity,
            "worker_slots": self._worker_text.capacity,
            "idf_refits": self.refits,
            "jobs_changed_since_refit": self._changed_jobs,
            "job_snapshots": self._job_text.snapshots,
            "worker_snapshots": self._worker_text.snapshots,
            "jobs_truncated": self._job_text.truncated,
            "workers_truncated": self._worker_text.truncated,
        }

    def nbytes(self) -> int:
        """Memory held in arrays (slots, attributes, snapshots); ids and dicts not included."""
        total = 0
        for value in vars(self).values():
            if isinstance(value, np.ndarray):
                total += value.nbytes
            elif isinstance(value, _BitRows):
                total += value.bits.nbytes
            elif isinstance(value, _TextRows):
                total += value.cols.nbytes + value.counts.nbytes + value.inv_norm.nbytes
                postings = value.postings_matrix()
                if postings is not None:
                    total += postings.data.nbytes + postings.indices.nbytes + postings.indptr.nbytes
        return total

    def job_vectors(self) -> tuple[list[str], Any]:
        """Ids and tf-idf vectors (CSR, L2-normalised) of the open jobs: for text-only baselines and audits."""
        self.maintain()
        rows = np.flatnonzero(self._j_live & self._j_open)
        return [str(self._job_ids[row]) for row in rows.tolist()], self._job_text.matrix(rows, self._idf)

    def job_vectors_of(self, job_ids: Sequence[str]) -> Any:
        """Tf-idf vectors (CSR, L2-normalised) of these jobs, open or not, in the order given."""
        self.maintain()
        rows = np.array([self._job_row[j] for j in job_ids], dtype=np.int64)
        return self._job_text.matrix(rows, self._idf)

    def worker_vectors(self, person_ids: Sequence[str]) -> Any:
        """Tf-idf vectors (CSR, L2-normalised) of these workers, in the same space as `job_vectors`."""
        self.maintain()
        rows = np.array([self._worker_row[p] for p in person_ids], dtype=np.int64)
        return self._worker_text.matrix(rows, self._idf)

    # --------------------------------------------------------------------------------------------- mutations

    def _slots(
        self, ids: list[str], row_map: dict[str, int], free: list[int], id_list: list[str | None]
    ) -> I64:
        rows = np.empty(len(ids), dtype=np.int64)
        for i, item_id in enumerate(ids):
            row = row_map.get(item_id)
            if row is None:
                row = free.pop() if free else len(id_list)
                if row == len(id_list):
                    id_list.append(item_id)
                else:
                    id_list[row] = item_id
                row_map[item_id] = row
            rows[i] = row
        return rows

    def _grow_jobs(self, needed: int = 0) -> None:
        capacity = self._job_text.capacity
        needed = max(needed, len(self._job_ids))
        if needed <= capacity:
            return
        capacity = max(needed, 2 * capacity, 1024)
        self._job_text.grow(capacity)
        self._j_certs.grow(capacity)
        for name, fill in (
            ("_j_live", False), ("_j_open", False), ("_j_city", 0), ("_j_occ", 0), ("_j_pay_min", 0),
            ("_j_pay_max", 0), ("_j_mid", 0.0), ("_j_age_min", 0), ("_j_age_max", 0), ("_j_valid", 0),
            ("_j_dorm", False), ("_j_base", False), ("_j_needs_cert", False), ("_j_headcount", 0),
            ("_j_spread", 0.0),
        ):  # fmt: skip
            setattr(self, name, _grow(getattr(self, name), capacity, fill))

    def _grow_workers(self, needed: int = 0) -> None:
        capacity = self._worker_text.capacity
        needed = max(needed, len(self._worker_ids))
        if needed <= capacity:
            return
        capacity = max(needed, 2 * capacity, 1024)
        self._worker_text.grow(capacity)
        self._w_cities.grow(capacity)
        self._w_certs.grow(capacity)
        for name, fill in (
            ("_w_live", False), ("_w_legal", False), ("_w_age", 0), ("_w_any_city", False), ("_w_occ", 0),
            ("_w_trained", 0), ("_w_min", 0.0), ("_w_has_min", False), ("_w_dorm", False),
            ("_w_available", 0), ("_w_unemployed", NEVER), ("_w_flags", 0), ("_w_seeking", False),
            ("_w_station", 0), ("_w_province", 0),
        ):  # fmt: skip
            setattr(self, name, _grow(getattr(self, name), capacity, fill))

    def reserve(self, jobs: int, workers: int) -> None:
        """Room for this many jobs and workers at once: a bulk load then writes its rows in place, where growing
        by doubling would fill and copy a few hundred MB of n-gram slots several times over."""
        self._grow_jobs(jobs)
        self._grow_workers(workers)

    @property
    def n_features(self) -> int:
        return self._n_features

    def upsert_job(self, job: JobFeatures) -> None:
        self.upsert_jobs([job])

    def upsert_jobs(self, jobs: Iterable[JobFeatures]) -> None:
        """Add or replace jobs (by id); rankable at once. Closed or full jobs stay, filtered out, until removed."""
        batch = list({job.id: job for job in jobs}.values())
        if batch:
            self.write_jobs(job_columns(batch, self._n_features))

    def write_jobs(self, columns: JobColumns) -> None:
        """`upsert_jobs` of columns already made (`columns.job_columns`, with this index's `n_features`)."""
        if not columns.ids:
            return
        rows = self._slots(columns.ids, self._job_row, self._job_free, self._job_ids)
        self._grow_jobs()
        occupations, cities, certificates = self._occupations, self._cities, self._certificates
        self._j_live[rows] = True
        self._j_open[rows] = columns.open
        self._j_city[rows] = [cities.add(code) for code in columns.city_codes]
        self._j_occ[rows] = [occupations.add(code) for code in columns.occupation_codes]
        self._j_pay_min[rows] = columns.pay_min
        self._j_pay_max[rows] = columns.pay_max
        self._j_mid[rows] = (columns.pay_min + columns.pay_max) / 2
        self._j_age_min[rows] = columns.age_min
        self._j_age_max[rows] = columns.age_max
        self._j_valid[rows] = columns.valid
        self._j_dorm[rows] = columns.dormitory
        self._j_base[rows] = columns.assistance_base
        self._j_headcount[rows] = columns.headcount
        required = [[certificates.add(c) for c in items] for items in columns.certificates]
        self._j_needs_cert[rows] = [bool(items) for items in required]
        self._j_certs.set(rows, required)
        self._job_text.put(rows, columns.counts, self._idf)
        self._changed_jobs += len(rows)

    def remove_job(self, job_id: str) -> bool:
        """Forget a job (closed, withdrawn). False if it was not held."""
        row = self._job_row.pop(job_id, None)
        if row is None:
            return False
        self._job_ids[row] = None
        self._job_free.append(row)
        self._j_live[row] = False
        self._j_open[row] = False
        self._j_spread[row] = 0.0
        self._job_text.clear(np.array([row]))
        self._changed_jobs += 1
        return True

    def upsert_worker(self, worker: WorkerFeatures) -> None:
        self.upsert_workers([worker])

    def upsert_workers(self, workers: Iterable[WorkerFeatures]) -> None:
        """Add or replace workers (by id); rankable at once."""
        batch = list({worker.id: worker for worker in workers}.values())
        if batch:
            self.write_workers(worker_columns(batch, self._n_features))

    def write_workers(self, columns: WorkerColumns) -> None:
        """`upsert_workers` of columns already made (`columns.worker_columns`)."""
        if not columns.ids:
            return
        rows = self._slots(columns.ids, self._worker_row, self._worker_free, self._worker_ids)
        self._grow_workers()
        occupations, cities, certificates = self._occupations, self._cities, self._certificates
        self._w_live[rows] = True
        self._w_age[rows] = columns.age
        self._w_legal[rows] = columns.legal
        self._w_any_city[rows] = [not codes for codes in columns.city_codes]
        city_sets = [[cities.add(code) for code in codes] for codes in columns.city_codes]
        if len(cities) > 64:
            raise ValueError("more than 64 distinct city codes: only Jiangsu's 13 are expected")
        self._w_cities.set(rows, city_sets)
        occ = np.zeros((len(rows), MAX_INTENDED_OCCUPATIONS), dtype=np.int32)
        trained = np.zeros((len(rows), MAX_TRAINED_OCCUPATIONS), dtype=np.int32)
        for i, (wanted, done) in enumerate(
            zip(columns.occupation_codes, columns.trained_occupations, strict=True)
        ):
            codes = list(dict.fromkeys(occupations.add(c) for c in wanted))[:MAX_INTENDED_OCCUPATIONS]
            occ[i, : len(codes)] = codes
            last = list(dict.fromkeys(occupations.add(c) for c in done))[-MAX_TRAINED_OCCUPATIONS:]
            trained[i, : len(last)] = last
        self._w_occ[rows] = occ
        self._w_trained[rows] = trained
        self._occ_used = max(self._occ_used, int((occ > 0).sum(axis=1).max()))
        self._trained_used = max(self._trained_used, int((trained > 0).sum(axis=1).max()))
        self._w_min[rows] = columns.min_salary
        self._w_has_min[rows] = columns.has_min_salary
        self._w_dorm[rows] = columns.dormitory
        self._w_available[rows] = columns.available
        self._w_unemployed[rows] = columns.unemployed
        self._w_flags[rows] = columns.flags
        self._w_certs.set(rows, [[certificates.add(c) for c in items] for items in columns.certificates])
        self._w_seeking[rows] = columns.seeking
        self._w_station[rows] = [self._stations.add(station) for station in columns.station_ids]
        self._w_province[rows] = [self._provinces.add(code) for code in columns.province_codes]
        self._worker_text.put(rows, columns.counts, self._idf)

    def remove_worker(self, person_id: str) -> bool:
        """Forget a worker (erased, placed, inactive). False if they were not held."""
        row = self._worker_row.pop(person_id, None)
        if row is None:
            return False
        self._worker_ids[row] = None
        self._worker_free.append(row)
        self._w_live[row] = False
        self._worker_text.clear(np.array([row]))
        return True

    # ------------------------------------------------------------------------------------------- maintenance

    def maintain(self, force_refit: bool = False, *, snapshots: bool = False) -> bool:
        """Refit the idf when the job set has changed by `refit_fraction` since the last fit, and with
        `snapshots` rebuild the inverted snapshots that are missing or stale. Queries do both lazily; the service
        may call `maintain(snapshots=True)` after a bulk load or when idle, so that no request pays for it (at 1M
        workers the worker snapshot takes seconds). True if it refitted."""
        due = self._changed_jobs > 0 and self._changed_jobs > self.refit_fraction * self._fitted_on
        if force_refit or due:
            self._refit()
        if snapshots:
            self._job_text.snapshot(self._idf)
            self._worker_text.snapshot(self._idf)
        return force_refit or due

    def _refit(self) -> None:
        live = int(self._j_live.sum())
        text = self._job_text
        # A column appears at most once in a slot (put sums the repeats) and a slot not in use holds only the
        # padding column: the count of a column over every slot is its document frequency over the live jobs.
        document_frequency = np.zeros(text.n_columns, dtype=np.int64)
        for start in range(0, text.capacity, 16384):  # a few MB at a time, not the whole slot array as int64
            document_frequency += np.bincount(
                text.cols[start : start + 16384].ravel(), minlength=text.n_columns
            )
        idf = smooth_idf(document_frequency, live)
        idf[self._job_text.pad] = 0.0
        self._idf = idf
        self._job_text.renorm(np.flatnonzero(self._j_live), idf)  # slots not in use weigh nothing anyway
        self._worker_text.renorm(np.flatnonzero(self._w_live), idf)
        self._job_text.invalidate()
        self._worker_text.invalidate()
        self._fitted_on, self._changed_jobs = live, 0
        self.refits += 1

    # ---------------------------------------------------------------------------------------------- filters

    def _worker_ready(self, w: int, day: int) -> bool:
        return bool(self._w_legal[w] and self._w_available[w] <= day + AVAILABLE_WITHIN_DAYS)

    def _eligible_job_rows(self, w: int, day: int) -> I64:
        """Jobs a worker may be shown: open with headcount, acceptable city, age, certificates, dates."""
        if not self._worker_ready(w, day):
            return np.zeros(0, dtype=np.int64)
        age = self._w_age[w]
        start = max(day, int(self._w_available[w]))
        mask = self._j_live & self._j_open & (self._j_valid >= start)
        mask &= (self._j_age_min <= age) & (self._j_age_max >= age)
        accepted = np.zeros(len(self._cities), dtype=np.bool_)
        if self._w_any_city[w]:
            accepted[: len(JIANGSU_CITIES)] = True
        else:
            word = int(self._w_cities.bits[w, 0])
            accepted[[i for i in range(len(self._cities)) if word >> i & 1]] = True
        mask &= accepted[self._j_city]
        rows = np.flatnonzero(mask)
        needs = rows[self._j_needs_cert[rows]]
        if needs.size:
            ok = _covers(self._w_certs.bits[[w]], self._j_certs.bits[needs])
            rows = np.setdiff1d(rows, needs[~ok], assume_unique=True)
        return rows

    def _eligible_worker_rows(self, j: int, day: int, among: Bool | None = None) -> I64:
        """Workers a job may be shown: seeking, of legal age, available in time, in its age range and city, with
        its certificates; `among` narrows them to some workers (a station's, a province's)."""
        if not (self._j_live[j] and self._j_open[j]) or self._j_valid[j] < day:
            return np.zeros(0, dtype=np.int64)
        mask = self._w_live & self._w_legal & self._w_seeking
        if among is not None:
            mask &= among
        mask &= self._w_available <= min(day + AVAILABLE_WITHIN_DAYS, int(self._j_valid[j]))
        mask &= (self._w_age >= self._j_age_min[j]) & (self._w_age <= self._j_age_max[j])
        city = int(self._j_city[j])
        in_city = ((self._w_cities.bits[:, 0] >> np.uint64(city)) & np.uint64(1)) == 1
        mask &= in_city | (self._w_any_city if city < len(JIANGSU_CITIES) else False)
        rows = np.flatnonzero(mask)
        if self._j_needs_cert[j] and rows.size:
            rows = rows[self._w_certs.covers(rows, self._j_certs.bits[j])]
        return rows

    def eligible_jobs(self, person_id: str, today: date | None = None) -> list[str]:
        """Ids of every job that passes the worker's hard filters (for baselines and audits)."""
        self.maintain()
        rows = self._eligible_job_rows(self._worker_row[person_id], (today or beijing_date()).toordinal())
        return [str(self._job_ids[row]) for row in rows.tolist()]

    def rows_of(self, person_ids: Sequence[str], job_ids: Sequence[str]) -> tuple[I64, I64]:
        """The index rows of these workers and jobs, for `pairs_pass`."""
        workers = np.fromiter(
            (self._worker_row[p] for p in person_ids), dtype=np.int64, count=len(person_ids)
        )
        jobs = np.fromiter((self._job_row[j] for j in job_ids), dtype=np.int64, count=len(job_ids))
        return workers, jobs

    def pairs_pass(self, w_rows: I64, j_rows: I64, today: date | None = None) -> Bool:
        """Whether each (worker row, job row) pair passes the worker's hard filters: `_eligible_job_rows` pair by
        pair, vectorised, for baselines that rank by text first and filter after."""
        self.maintain()
        day = (today or beijing_date()).toordinal()
        available = self._w_available[w_rows]
        ok = self._w_legal[w_rows] & (available <= day + AVAILABLE_WITHIN_DAYS)
        ok &= (
            self._j_live[j_rows]
            & self._j_open[j_rows]
            & (self._j_valid[j_rows] >= np.maximum(day, available))
        )
        age = self._w_age[w_rows]
        ok &= (self._j_age_min[j_rows] <= age) & (self._j_age_max[j_rows] >= age)
        city = self._j_city[j_rows].astype(np.uint64)
        ok &= (((self._w_cities.bits[w_rows, 0] >> city) & np.uint64(1)) == 1) | (
            self._w_any_city[w_rows] & (city < len(JIANGSU_CITIES))
        )
        needs = np.flatnonzero(ok & self._j_needs_cert[j_rows])
        if needs.size:
            ok[needs] = _covers(self._w_certs.bits[w_rows[needs]], self._j_certs.bits[j_rows[needs]])
        return np.asarray(ok, dtype=np.bool_)

    # ----------------------------------------------------------------------------------------------- scores

    def _occupation_part(self, w_rows: I64) -> F32:
        """Per worker, over the occupation vocabulary: occupation closeness x weight + training x weight."""
        closeness = self._occupations.closeness
        part = (
            closeness[self._w_occ[w_rows, : self._occ_used]].max(axis=1)[:, : len(self._occupations)]
            * self.weights.occupation
        )
        trained = self._w_trained[w_rows, : self._trained_used]
        hit_rows, hit_cols = np.nonzero(trained)
        part[hit_rows, trained[hit_rows, hit_cols]] += self.weights.training
        return np.asarray(part, dtype=np.float32)

    def _worker_boost(self, w_rows: I64, day: int) -> F32:
        p = self.priority
        flags = self._w_flags[w_rows]
        boost = np.zeros(len(w_rows), dtype=np.float32)
        for code, bit in CATEGORY_BIT.items():
            boost = np.maximum(boost, np.where(flags & bit, p.category(code), 0.0)).astype(np.float32)
        boost += np.where(flags & KEY_REGION_BIT, p.key_region, 0.0).astype(np.float32)
        long_unemployed = (day - self._w_unemployed[w_rows].astype(np.int64)) >= p.long_unemployed_days
        boost += np.where(long_unemployed, p.long_unemployed, 0.0).astype(np.float32)
        return boost

    def _pay(self, w_rows: I64 | int, j_rows: I64 | int) -> F32:
        half = self.weights.pay / 2
        diff = self._j_mid[j_rows] - self._w_min[w_rows]
        pay = np.clip(diff * np.float32(self.weights.pay / self.weights.pay_span), -half, half)
        return np.asarray(np.where(self._w_has_min[w_rows], pay, 0.0), dtype=np.float32)

    def _dormitory(self, w_rows: I64 | int, j_rows: I64 | int) -> F32:
        offered = np.where(self._j_dorm[j_rows], self.weights.dormitory, -self.weights.dormitory)
        return np.asarray(np.where(self._w_dorm[w_rows], offered, 0.0), dtype=np.float32)

    def _job_boost(self, j_rows: I64 | int) -> F32:
        return np.asarray(
            np.where(self._j_base[j_rows], self.priority.assistance_base, 0.0), dtype=np.float32
        )

    def _top(
        self, scores: F32, rows: I64, ids: list[str | None], limit: int, after: RankKey | None = None
    ) -> I64:
        """Positions of the `limit` best scores, best first, ties by id (stable across runs); with `after`, of
        those ranked after that key (the last of the previous page)."""
        if after is not None:
            rest = np.flatnonzero(scores <= np.float32(after[0]))
            at = rest[scores[rest] == np.float32(after[0])]
            rest = np.setdiff1d(rest, at[[str(ids[int(rows[i])]) <= after[1] for i in at.tolist()]])
            kept = self._top(scores[rest], rows[rest], ids, limit)
            return rest[kept]
        if limit < len(scores):
            # every score tied with the limit-th is a contender: which of them comes first is the ids' say
            kth = -np.partition(-scores, limit - 1)[limit - 1]
            picked = np.flatnonzero(scores >= kth)
        else:
            picked = np.arange(len(scores))
        order = sorted(picked.tolist(), key=lambda i: (-float(scores[i]), str(ids[int(rows[i])])))
        return np.array(order[:limit], dtype=np.int64)

    # ----------------------------------------------------------------------------------------------- queries

    def recommend(self, person_id: str, limit: int = 20, today: date | None = None) -> list[Match]:
        """The best `limit` jobs for a worker, with reasons."""
        return self.recommend_page(person_id, limit, today).matches

    def recommend_page(
        self, person_id: str, limit: int = 20, today: date | None = None, after: RankKey | None = None
    ) -> Ranked:
        """A page of a worker's jobs, best first, with reasons: the first, or the one after `after`."""
        self.maintain()
        w = self._worker_row[person_id]
        day = (today or beijing_date()).toordinal()
        rows = self._eligible_job_rows(w, day)
        if not rows.size or limit <= 0:
            return Ranked([], None, 0)
        scores, text = self._job_scores(w, rows)
        best = self._top(scores, rows, self._job_ids, limit, after)
        w_rows = np.full(len(best), w, dtype=np.int64)
        matches = self._explain(w_rows, rows[best], text[best], day, self._j_spread)
        return Ranked(matches, _next_key(scores, best, rows, self._job_ids, limit), len(rows))

    def _job_scores(self, w: int, rows: I64) -> tuple[F32, F32]:
        """The ranking scores (without the worker's own boosts, the same for every job) and text cosines."""
        cols, weights = self._worker_text.vector(w, self._idf)
        text = self._job_text.dot_all(cols, weights, self._idf)[rows]
        occupation = self._occupation_part(np.array([w]))[0]
        scores = (
            self.weights.text * text
            + occupation[self._j_occ[rows]]
            + self._pay(w, rows)
            + self._dormitory(w, rows)
            + self._job_boost(rows)
            - self._j_spread[rows]
        )
        return np.asarray(scores, dtype=np.float32), text

    def candidates(self, job_id: str, limit: int = 20, today: date | None = None) -> list[Match]:
        """The best `limit` workers for a job, with reasons (priority boosts matter here: same fit, who first)."""
        return self.candidates_page(job_id, limit, today).matches

    def candidates_page(
        self,
        job_id: str,
        limit: int = 20,
        today: date | None = None,
        after: RankKey | None = None,
        *,
        stations: Iterable[str] | None = None,
        provinces: Iterable[str] | None = None,
    ) -> Ranked:
        """A page of a job's workers, best first: the first, or the one after `after`; only those of
        `stations` or `provinces` when either is given (a station sees its own workers)."""
        self.maintain()
        j = self._job_row[job_id]
        day = (today or beijing_date()).toordinal()
        rows = self._eligible_worker_rows(j, day, self._among(stations, provinces))
        if not rows.size or limit <= 0:
            return Ranked([], None, 0)
        scores, text = self._worker_scores(j, rows, day)
        best = self._top(scores, rows, self._worker_ids, limit, after)
        j_rows = np.full(len(best), j, dtype=np.int64)
        matches = self._explain(rows[best], j_rows, text[best], day)
        return Ranked(matches, _next_key(scores, best, rows, self._worker_ids, limit), len(rows))

    def _among(self, stations: Iterable[str] | None, provinces: Iterable[str] | None) -> Bool | None:
        if stations is None and provinces is None:
            return None
        mask = np.zeros(len(self._w_live), dtype=np.bool_)
        for names, vocabulary, column in (
            (stations, self._stations, self._w_station),
            (provinces, self._provinces, self._w_province),
        ):
            codes = [vocabulary.index[name] for name in names or () if name in vocabulary.index]
            if codes:
                mask |= np.isin(column, codes)
        return mask

    def _worker_scores(self, j: int, rows: I64, day: int) -> tuple[F32, F32]:
        cols, weights = self._job_text.vector(j, self._idf)
        text = self._worker_text.dot_all(cols, weights, self._idf)[rows]
        occ = int(self._j_occ[j])
        close_to_job = self._occupations.closeness[: len(self._occupations), occ]
        closeness = close_to_job[self._w_occ[rows, : self._occ_used]].max(axis=1)
        trained = (self._w_trained[rows, : self._trained_used] == occ).any(axis=1) & (occ > 0)
        scores = (
            self.weights.text * text
            + self.weights.occupation * closeness
            + np.where(trained, self.weights.training, 0.0)
            + self._pay(rows, j)
            + self._dormitory(rows, j)
            + self._job_boost(j)
            + self._worker_boost(rows, day)
        ).astype(np.float32)
        return scores, text

    def pair(self, person_id: str, job_id: str, today: date | None = None) -> PairRank:
        """One pair's score and reasons, whatever the filters say, and, when it passes them, its place in the
        worker's jobs and in the job's workers (1 = first)."""
        self.maintain()
        w, j = self._worker_row[person_id], self._job_row[job_id]
        day = (today or beijing_date()).toordinal()
        cols, weights = self._worker_text.vector(w, self._idf)
        text = self._job_text.dot_rows(np.array([j]), cols, weights, self._idf)
        [match] = self._explain(np.array([w]), np.array([j]), text, day, self._j_spread)
        job_rows, worker_rows = self._eligible_job_rows(w, day), self._eligible_worker_rows(j, day)
        for_worker = for_job = None
        if (job_rows == j).any():
            scores, _ = self._job_scores(w, job_rows)
            own = scores[job_rows == j][0]
            for_worker = _place(scores, own, job_rows, self._job_ids, job_id)
        if (worker_rows == w).any():
            scores, _ = self._worker_scores(j, worker_rows, day)
            own = scores[worker_rows == w][0]
            for_job = _place(scores, own, worker_rows, self._worker_ids, person_id)
        return PairRank(match, for_worker, len(job_rows), for_job, len(worker_rows))

    def top_k(
        self,
        person_ids: Sequence[str] | None = None,
        k: int = 20,
        today: date | None = None,
        *,
        threads: int = 1,
        spread: F32 | None = None,
    ) -> dict[str, list[Match]]:
        """`recommend` for many workers at once (for allocation), with reasons; see `top_k_arrays` for bulk."""
        result = self.top_k_arrays(person_ids, k, today, threads=threads, spread=spread)
        day = (today or beijing_date()).toordinal()
        counts = (result.job_rows >= 0).sum(axis=1)
        w_rows = np.repeat(np.array([self._worker_row[p] for p in result.person_ids], dtype=np.int64), counts)
        j_rows = result.job_rows[result.job_rows >= 0].astype(np.int64)
        matches = self._explain(w_rows, j_rows, result.text[result.job_rows >= 0], day, spread)
        out: dict[str, list[Match]] = {}
        start = 0
        for person_id, count in zip(result.person_ids, counts.tolist(), strict=True):
            out[person_id] = matches[start : start + count]
            start += count
        return out

    # -------------------------------------------------------------------------------------------- batch top-k

    def top_k_arrays(
        self,
        person_ids: Sequence[str] | None = None,
        k: int = 20,
        today: date | None = None,
        *,
        threads: int = 1,
        block_pairs: int = 1 << 21,
        spread: F32 | None = None,
    ) -> TopK:
        """Top-k jobs for many workers (default: all), vectorised city by city in blocks of about
        `block_pairs` worker-job pairs. Same filters and scores as `recommend`, without reasons; `spread`
        (per job slot, as `spread_penalties` returns) is taken off the scores, none by default (allocation
        spreads workers by the headcounts themselves).

        `threads` > 1 scores blocks concurrently: the fused pass (services/matching/fused.py) releases the
        GIL, and chunks hold different workers, so their rows of the running best never overlap."""
        self.maintain()
        day = (today or beijing_date()).toordinal()
        if person_ids is None:
            w_rows = np.flatnonzero(self._w_live)
            ids = [str(self._worker_ids[row]) for row in w_rows.tolist()]
        else:
            ids = list(person_ids)
            w_rows = np.array([self._worker_row[p] for p in ids], dtype=np.int64)
        n = len(w_rows)
        best_scores = np.full((n, k), -np.inf, dtype=np.float32)
        best_rows = np.full((n, k), -1, dtype=np.int32)
        best_text = np.zeros((n, k), dtype=np.float32)
        if not n or k <= 0:
            return TopK(ids, best_rows, best_scores, best_text, list(self._job_ids))
        ready = self._w_legal[w_rows] & (self._w_available[w_rows] <= day + AVAILABLE_WITHIN_DAYS)
        positions = np.flatnonzero(ready)
        open_jobs = self._j_live & self._j_open & (self._j_valid >= day)
        city_bits = self._w_cities.bits[w_rows, 0]
        any_city = self._w_any_city[w_rows]
        best = (best_scores, best_rows, best_text)
        with contextlib.ExitStack() as stack:
            pool = stack.enter_context(ThreadPoolExecutor(threads)) if threads > 1 else None
            for city in np.unique(self._j_city[open_jobs]).tolist():
                accepts = ((city_bits[positions] >> np.uint64(city)) & np.uint64(1)) == 1
                if city < len(JIANGSU_CITIES):
                    accepts |= any_city[positions]
                members = positions[accepts]
                if not members.size:
                    continue
                block = self._city_block(np.flatnonzero(open_jobs & (self._j_city == city)), spread)
                size = max(8, min(4096, block_pairs // max(1, block.rows.size)))
                chunks = [members[start : start + size] for start in range(0, members.size, size)]
                if pool is None:
                    for chunk in chunks:
                        self._score_block(chunk, w_rows[chunk], block, day, k, best)
                else:
                    done = [pool.submit(self._score_block, c, w_rows[c], block, day, k, best) for c in chunks]
                    for future in done:
                        future.result()
        valid = best_rows >= 0
        best_scores += np.where(valid, self._worker_boost(w_rows, day)[:, None], 0.0).astype(np.float32)
        order = np.argsort(-best_scores, axis=1, kind="stable")
        return TopK(
            ids,
            np.take_along_axis(best_rows, order, axis=1),
            np.take_along_axis(best_scores, order, axis=1),
            np.take_along_axis(best_text, order, axis=1),
            list(self._job_ids),
        )

    def _city_block(self, rows: I64, spread: F32 | None = None) -> _CityBlock:
        postings = self._job_text.matrix(rows, self._idf).T.tocsr()
        dense_columns, dense = fused.split_frequent(postings)
        ages = np.arange(MIN_LEGAL_AGE, MAX_LEGAL_AGE + 1)[:, None]
        allowed = (self._j_age_min[rows][None, :] <= ages) & (self._j_age_max[rows][None, :] >= ages)
        base = self._job_boost(rows) - (spread[rows] if spread is not None else 0.0)
        dorm = np.where(self._j_dorm[rows], self.weights.dormitory, -self.weights.dormitory).astype(
            np.float32
        )
        n_ages = len(ages)
        table = np.empty((2 * n_ages, rows.size), dtype=np.float32)
        table[:n_ages] = base
        table[n_ages:] = base + dorm
        table[:n_ages][~allowed] = -np.inf
        table[n_ages:][~allowed] = -np.inf
        needs = np.flatnonzero(self._j_needs_cert[rows])
        of_column = np.full(rows.size, -1, dtype=np.int64)
        of_column[needs] = np.arange(needs.size)
        return _CityBlock(
            rows=rows,
            postings=postings,
            dense_columns=dense_columns,
            dense=dense,
            table=table,
            occupation=self._j_occ[rows],
            mid_pay=self._j_mid[rows],
            valid_until=self._j_valid[rows],
            certificate_columns=needs,
            certificate_of_column=of_column,
            certificates=self._j_certs.bits[rows[needs]],
        )

    def _score_block(
        self,
        positions: I64,
        w_rows: I64,
        block: _CityBlock,
        day: int,
        k: int,
        best: tuple[F32, npt.NDArray[np.int32], F32],
    ) -> None:
        """Merge these workers' scores against a city's jobs into their running top-k (`best`, rows
        `positions`) in the fused pass. The text cosine is summed there from the workers' n-grams, the jobs'
        postings and the dense rows of the frequent n-grams (a separate dense product over those, tried before,
        multiplied the zeros of every worker without them and cost twice the CPU)."""
        weights = self.weights
        text = self._worker_text
        n_ages = MAX_LEGAL_AGE - MIN_LEGAL_AGE + 1
        cols, values = text.values(w_rows, self._idf)
        held = text.counts[w_rows] > 0
        grams_indptr = np.zeros(len(w_rows) + 1, dtype=np.int64)
        np.cumsum(held.sum(axis=1), out=grams_indptr[1:])
        grams = cols[held]
        # dormitory, assistance base and the job's age range: one row of the city table per (needs dorm, age)
        keys = self._w_dorm[w_rows].astype(np.int64) * n_ages + (self._w_age[w_rows] - MIN_LEGAL_AGE)
        cert_ok = np.zeros((len(w_rows), block.certificate_columns.size), dtype=np.bool_)
        if block.certificate_columns.size:
            have = self._w_certs.bits[w_rows]
            need = block.certificates
            words = min(have.shape[1], need.shape[1])
            cert_ok = np.all((need[None, :, :words] & ~have[:, None, :words]) == 0, axis=2)
            if need.shape[1] > words:
                cert_ok &= ~np.any(need[:, words:], axis=1)[None, :]
        best_scores, best_rows, best_text = best
        fused.score_and_keep(
            positions=positions,
            grams_indptr=grams_indptr,
            grams=grams,
            gram_weights=values[held],
            postings_indptr=block.postings.indptr,
            posting_jobs=block.postings.indices,
            posting_weights=block.postings.data,
            gram_slots=fused.dense_slots(grams, block.dense_columns),
            dense=block.dense,
            table=block.table,
            keys=keys,
            text_weight=float(weights.text),
            occ_part=self._occupation_part(w_rows),
            occupation=block.occupation,
            has_min=self._w_has_min[w_rows],
            min_pay=self._w_min[w_rows],
            mid_pay=block.mid_pay,
            slope=float(weights.pay / weights.pay_span),
            half=float(weights.pay / 2),
            cert_of_column=block.certificate_of_column,
            cert_ok=np.ascontiguousarray(cert_ok),
            available=self._w_available[w_rows],
            valid_until=block.valid_until,
            day=day,
            job_rows=block.rows.astype(np.int32),
            best_scores=best_scores,
            best_rows=best_rows,
            best_text=best_text,
        )

    # ------------------------------------------------------------------------------------------------ reasons

    def _explain(
        self, w_rows: I64, j_rows: I64, text: F32, day: int, spread: F32 | None = None
    ) -> list[Match]:
        """Matches with every factor as a Reason; the score is their sum (factors below `min_reason_weight`
        count but are listed only when there is nothing larger; priority factors and spreading are always
        listed). Constant reasons are shared objects."""
        if not len(w_rows):
            return []
        taken = (spread[j_rows] if spread is not None else np.zeros(len(j_rows), dtype=np.float32)).tolist()
        sw, p = self.weights, self.priority
        occ = self._j_occ[j_rows]
        codes = self._w_occ[w_rows, : self._occ_used]
        closeness = self._occupations.closeness[codes, occ[:, None]].max(axis=1).tolist()
        done = self._w_trained[w_rows, : self._trained_used]
        trained = ((done == occ[:, None]).any(axis=1) & (occ > 0)).tolist()
        pay64 = self._pay(w_rows, j_rows).astype(np.float64)
        pay, pay_shown = pay64.tolist(), np.round(pay64, 4).tolist()
        gap = (self._j_mid[j_rows] - self._w_min[w_rows]).round().astype(np.int64).tolist()
        dorm = np.sign(self._dormitory(w_rows, j_rows)).astype(np.int64).tolist()
        text64 = sw.text * text.astype(np.float64)
        text_weight, text_shown = text64.tolist(), np.round(text64, 4).tolist()
        long_unemployed = (day - self._w_unemployed[w_rows].astype(np.int64)) >= p.long_unemployed_days
        priority_key = (
            self._w_flags[w_rows].astype(np.int64) * 4 + long_unemployed * 2 + self._j_base[j_rows]
        ).tolist()
        person_ids = [self._worker_ids[row] for row in w_rows.tolist()]
        job_ids = [self._job_ids[row] for row in j_rows.tolist()]
        shown = sw.min_reason_weight

        occupation_reasons = {
            level: (sw.occupation * level, Reason(code, label, round(sw.occupation * level, 4)))
            for level, (code, label) in OCCUPATION_LEVEL_LABELS.items()
        }
        trained_reason = Reason("trained", "已完成相关培训", round(sw.training, 4))
        dorm_reasons = {
            1: Reason("dormitory", "提供住宿", round(sw.dormitory, 4)),
            -1: Reason("no_dormitory", "不提供住宿", -round(sw.dormitory, 4)),
        }
        priorities = {key: self._priority_reasons(key) for key in set(priority_key)}

        matches: list[Match] = []
        for i in range(len(person_ids)):
            score = text_weight[i]
            reasons: list[Reason] = []
            small: list[Reason] = []  # listed only if nothing larger is
            if score:
                (reasons if abs(score) >= shown else small).append(
                    Reason("text_similarity", "岗位与求职意向、技能或工作经历相近", text_shown[i])
                )
            level = closeness[i]
            if level > 0:
                weight, reason = occupation_reasons.get(level) or (
                    sw.occupation * level,
                    Reason("occupation_group", "职业相近", round(sw.occupation * level, 4)),
                )
                score += weight
                reasons.append(reason)
            if trained[i]:
                score += sw.training
                reasons.append(trained_reason)
            weight = pay[i]
            if weight:
                score += weight
                (reasons if abs(weight) >= shown else small).append(
                    Reason("pay_above_minimum", f"薪资高于期望 {gap[i]} 元", pay_shown[i])
                    if gap[i] > 0
                    else Reason("pay_below_minimum", f"薪资低于期望 {-gap[i]} 元", pay_shown[i])
                )
            if dorm[i]:
                score += sw.dormitory * dorm[i]
                reasons.append(dorm_reasons[dorm[i]])
            boost, priority = priorities[priority_key[i]]
            if priority:
                score += boost
                reasons.extend(priority)
            if taken[i] > 0:
                score -= taken[i]
                reasons.append(
                    Reason("spread", "该岗位近期推荐人数已多于剩余名额，适当靠后", -round(taken[i], 4))
                )
            if not reasons and small:
                reasons.append(max(small, key=lambda r: abs(r.weight)))
            reasons.sort(key=_by_weight)
            matches.append(Match(str(person_ids[i]), str(job_ids[i]), round(score, 6), tuple(reasons)))
        return matches

    def set_spread(self, spread: Mapping[str, float]) -> None:
        """Take `spread` (job id -> what to take off, from `congestion.spread`) off those jobs' scores in
        recommendations; every other job's is left whole. By id: slots may have been reused meanwhile."""
        self._j_spread = np.zeros(len(self._j_live), dtype=np.float32)
        for job_id, amount in spread.items():
            row = self._job_row.get(job_id)
            if row is not None:
                self._j_spread[row] = amount

    def factors(self, person_ids: Sequence[str], job_ids: Sequence[str]) -> npt.NDArray[np.float64]:
        """Per pair, the value of each learnable factor (`FACTORS`), whatever the filters say: its contribution
        to a score is the factor's weight times this value (the pay and dormitory values are signed)."""
        self.maintain()
        w = np.array([self._worker_row[p] for p in person_ids], dtype=np.int64)
        j = np.array([self._job_row[i] for i in job_ids], dtype=np.int64)
        if not len(w):
            return np.zeros((0, len(FACTORS)), dtype=np.float64)
        text = np.asarray(
            self._worker_text.matrix(w, self._idf).multiply(self._job_text.matrix(j, self._idf)).sum(axis=1)
        ).ravel()
        occ = self._j_occ[j]
        closeness = self._occupations.closeness[self._w_occ[w, : self._occ_used], occ[:, None]].max(axis=1)
        trained = (self._w_trained[w, : self._trained_used] == occ[:, None]).any(axis=1) & (occ > 0)
        diff = self._j_mid[j] - self._w_min[w]
        pay = np.where(self._w_has_min[w], np.clip(diff / self.weights.pay_span, -0.5, 0.5), 0.0)
        dorm = np.where(self._w_dorm[w], np.where(self._j_dorm[j], 1.0, -1.0), 0.0)
        return np.column_stack([text, closeness, trained, pay, dorm]).astype(np.float64)

    def set_weights(self, weights: ScoreWeights) -> None:
        """Score with other factor weights from now on (hand-set or learned); the policy boosts stay."""
        self.weights = weights

    def spread_array(self) -> F32:
        """What spreading takes off each job slot's score now (a copy)."""
        return self._j_spread.copy()

    def job_ids_of(self, rows: I64) -> list[str]:
        return [str(self._job_ids[row]) for row in rows.tolist()]

    def spread_inputs(self, today: date | None = None) -> tuple[I64, I32, list[str]]:
        """What spreading needs: the open job slots, each slot's headcount left, and the ids of the workers it
        plans for (seeking, of legal age, available soon)."""
        day = (today or beijing_date()).toordinal()
        open_rows = np.flatnonzero(self._j_live & self._j_open & (self._j_valid >= day))
        ready = self._w_live & self._w_legal & self._w_seeking
        ready &= self._w_available <= day + AVAILABLE_WITHIN_DAYS
        ids = [str(self._worker_ids[row]) for row in np.flatnonzero(ready).tolist()]
        return open_rows, self._j_headcount.copy(), ids

    def _priority_reasons(self, key: int) -> tuple[float, tuple[Reason, ...]]:
        """The policy reasons for one combination of worker flags, long unemployment and assistance base."""
        p = self.priority
        flags, unemployed, assisted = key >> 2, bool(key & 2), bool(key & 1)
        reasons: list[Reason] = []
        weight, category = max(
            ((p.category(c), c) for c, bit in CATEGORY_BIT.items() if flags & bit), default=(0.0, "")
        )
        boost = 0.0
        if weight > 0:
            code, label = CATEGORY_REASONS[category]
            reasons.append(Reason(code, label, round(weight, 4)))
            boost += weight
        if flags & KEY_REGION_BIT and p.key_region > 0:
            reasons.append(Reason("priority_key_region", "重点地区优先", round(p.key_region, 4)))
            boost += p.key_region
        if unemployed and p.long_unemployed > 0:
            reasons.append(Reason("priority_long_unemployed", "长期失业优先", round(p.long_unemployed, 4)))
            boost += p.long_unemployed
        if assisted and p.assistance_base > 0:
            reasons.append(Reason("assistance_base", "就业帮扶基地", round(p.assistance_base, 4)))
            boost += p.assistance_base
        return boost, tuple(reasons)


def compile_fused() -> None:
    """Compile the fused pass of `top_k_arrays` now (a few CPU seconds), before the service says it is ready,
    rather than in the first ranking somebody waits for."""
    index = MatchIndex()
    index.upsert_jobs(make_jobs(8, seed=1))
    index.upsert_workers(make_workers(8, seed=1))
    index.top_k_arrays(None, 3)


RankKey = tuple[float, str]  # (ranking score, id) of the last item of a page


@dataclass(frozen=True)
class Ranked:
    """A page of a ranked list: its matches, the key to ask for the next page (None: this is the last), and
    how many passed the filters in all."""

    matches: list[Match]
    next_key: RankKey | None
    total: int


@dataclass(frozen=True)
class PairRank:
    match: Match
    place_for_worker: int | None  # None: the job is not among the worker's (a filter fails)
    jobs_for_worker: int
    place_for_job: int | None
    workers_for_job: int


def _next_key(scores: F32, best: I64, rows: I64, ids: list[str | None], limit: int) -> RankKey | None:
    if len(best) < limit or not len(best):
        return None
    last = int(best[-1])
    return float(scores[last]), str(ids[int(rows[last])])


def _place(scores: F32, own: np.float32, rows: I64, ids: list[str | None], item_id: str) -> int:
    """1 + how many rank before `item_id`: higher scores, and equal ones with smaller ids."""
    ahead = int((scores > own).sum())
    ties = rows[scores == own]
    return 1 + ahead + sum(1 for row in ties.tolist() if str(ids[row]) < item_id)


def _by_weight(reason: Reason) -> float:
    return -reason.weight


def matches_by_job(matches: Mapping[str, Sequence[Match]]) -> dict[str, list[Match]]:
    """Invert per-worker results to per-job lists (best first)."""
    out: dict[str, list[Match]] = {}
    for items in matches.values():
        for match in items:
            out.setdefault(match.job_id, []).append(match)
    for items in out.values():
        items.sort(key=lambda m: -m.score)
    return out
