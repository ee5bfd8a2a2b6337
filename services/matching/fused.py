"""The fused pass of `MatchIndex.top_k_arrays`: for a block of workers against one city's jobs, the text cosine
(the worker's n-grams against the jobs' postings), every factor of the score and the running top-k, in one loop
per worker over the jobs.

Written with numpy alone, the same work made a workers x jobs score matrix and passed over it a dozen times
(gather the city table, add text, occupation, pay, certificates, dates, then pick the best), which took most of
the CPU of a top-k. Here each pair's score lives in a register and is kept only when it beats the worker's k-th
best so far. Compiled by numba with the GIL released, so two threads score two blocks at once.

The cosine is summed n-gram by n-gram of the worker: a rare n-gram's postings are scattered into the worker's row
(about 1.7 ns a posting), a frequent one's dense row of weights is added to it whole, which the compiler
vectorises (about 0.2 ns a job). An n-gram in more than `DENSE_SHARE` of the jobs is cheaper dense; at 20k x 20k
those carried four fifths of the postings a top-k touched."""

from __future__ import annotations

from typing import Any

import numba
import numpy as np
import numpy.typing as npt

F32 = npt.NDArray[np.float32]
I32 = npt.NDArray[np.int32]
I64 = npt.NDArray[np.int64]
Bool = npt.NDArray[np.bool_]

DENSE_SHARE = (
    0.1  # an n-gram in more than this share of a block's jobs is summed from a dense row (flat 0.05-0.15)
)


def split_frequent(postings: Any) -> tuple[I64, F32]:
    """The frequent n-grams of a block's postings (CSR n-grams x jobs), sorted, and their dense rows."""
    columns = np.flatnonzero(np.diff(postings.indptr) > DENSE_SHARE * postings.shape[1])
    dense = np.zeros((columns.size, postings.shape[1]), dtype=np.float32)
    if columns.size:
        frequent = postings[columns]
        dense[np.repeat(np.arange(columns.size), np.diff(frequent.indptr)), frequent.indices] = frequent.data
    return columns, dense


def dense_slots(grams: I32 | I64, columns: I64) -> I32:
    """Each of the workers' n-grams' row in the dense part (`columns` as `split_frequent` gives), or -1."""
    if not columns.size:
        return np.full(grams.size, -1, dtype=np.int32)
    slots = np.minimum(np.searchsorted(columns, grams), columns.size - 1)
    return np.where(columns[slots] == grams, slots, -1).astype(np.int32)


@numba.njit(nogil=True, cache=False, boundscheck=False)
def _insert(
    scores: Any, rows: Any, texts: Any, score: float, row: int, text: float
) -> None:  # pragma: no cover
    """Put one item into a list sorted best first, the last one falling off (equal scores keep their order)."""
    place = scores.shape[0] - 1
    while place > 0 and scores[place - 1] < score:
        scores[place] = scores[place - 1]
        rows[place] = rows[place - 1]
        texts[place] = texts[place - 1]
        place -= 1
    scores[place] = score
    rows[place] = row
    texts[place] = text


@numba.njit(nogil=True, cache=False, boundscheck=False, fastmath={"nsz", "arcp", "contract", "reassoc"})
def _score_and_keep(
    positions: Any,
    grams_indptr: Any,
    grams: Any,
    gram_weights: Any,
    postings_indptr: Any,
    posting_jobs: Any,
    posting_weights: Any,
    gram_slots: Any,
    dense: Any,
    table: Any,
    keys: Any,
    text_weight: float,
    occ_part: Any,
    occupation: Any,
    has_min: Any,
    min_pay: Any,
    mid_pay: Any,
    slope: float,
    half: float,
    cert_of_column: Any,
    cert_ok: Any,
    available: Any,
    valid_until: Any,
    day: int,
    job_rows: Any,
    best_scores: Any,
    best_rows: Any,
    best_text: Any,
) -> None:  # pragma: no cover - compiled
    n_jobs = table.shape[1]
    row = np.empty(n_jobs, dtype=np.float32)  # the worker's cosine with each job
    k = best_scores.shape[1]
    scores = np.empty(k, dtype=np.float32)
    rows = np.empty(k, dtype=np.int32)
    texts = np.empty(k, dtype=np.float32)
    total = np.empty(n_jobs, dtype=np.float32)
    tw = np.float32(text_weight)
    sl = np.float32(slope)
    hf = np.float32(half)
    for i in range(positions.shape[0]):
        at = positions[i]
        row[:] = 0.0
        for p in range(grams_indptr[i], grams_indptr[i + 1]):  # the worker's n-grams against the postings
            weight = gram_weights[p]
            slot = gram_slots[p]
            if slot >= 0:  # a frequent n-gram: its whole dense row, vectorised
                for j in range(n_jobs):
                    row[j] += weight * dense[slot, j]
            else:
                gram = grams[p]
                for q in range(postings_indptr[gram], postings_indptr[gram + 1]):
                    row[posting_jobs[q]] += weight * posting_weights[q]
        # the running best, sorted best first (`best` keeps them in any order)
        scores[:] = -np.inf
        rows[:] = -1
        texts[:] = 0.0
        for slot in range(k):
            if best_rows[at, slot] >= 0 and best_scores[at, slot] > -np.inf:
                _insert(scores, rows, texts, best_scores[at, slot], best_rows[at, slot], best_text[at, slot])
        floor = scores[k - 1]
        key = keys[i]
        paying = has_min[i]
        least = min_pay[i] * sl
        later = available[i] > day
        # every job's score in one straight loop the compiler can vectorise, then the few that can enter
        for j in range(n_jobs):
            total[j] = table[key, j] + row[j] * tw + occ_part[i, occupation[j]]
        if paying:
            for j in range(n_jobs):
                total[j] += min(max(mid_pay[j] * sl - least, -hf), hf)
        for j in range(n_jobs):
            s = total[j]
            if not s > floor:
                continue
            c = cert_of_column[j]
            if c >= 0 and not cert_ok[i, c]:
                continue
            if later and valid_until[j] < available[i]:
                continue
            _insert(scores, rows, texts, s, job_rows[j], row[j])
            floor = scores[k - 1]
        for slot in range(k):
            best_scores[at, slot] = scores[slot]
            best_rows[at, slot] = rows[slot]
            best_text[at, slot] = texts[slot]


def score_and_keep(**arrays: Any) -> None:
    """Typed entry to the kernel (keyword arguments as `_score_and_keep` names them)."""
    _score_and_keep(**arrays)
