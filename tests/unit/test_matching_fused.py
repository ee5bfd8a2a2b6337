"""The fused pass keeps, worker by worker, exactly the best scores a plain numpy computation finds: ties, filtered
pairs, a running top-k from earlier blocks, rare n-grams and frequent ones (dense), certificates and late
availability included."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from services.matching import fused


def test_the_fused_pass_keeps_what_a_full_sort_keeps() -> None:
    rng = np.random.default_rng(11)
    for n_workers, n_jobs, k in ((40, 300, 20), (25, 7, 20), (30, 120, 1), (10, 0, 5)):
        n_ages, n_occ, n_grams = 5, 6, 50
        # weights of few distinct values: many ties
        worker_grams = sp.random(n_workers, n_grams, density=0.1, format="csr", dtype=np.float32, rng=rng)
        worker_grams.data = np.round(worker_grams.data, 1)
        # half the n-grams in many jobs, half in few
        postings = sp.vstack(
            [
                sp.random(n_grams // 2, n_jobs, density=density, format="csr", dtype=np.float32, rng=rng)
                for density in (0.4, 0.03)
            ],
            format="csr",
        )
        postings.data = np.round(postings.data, 1)
        table = np.round(rng.random((2 * n_ages, n_jobs)), 1).astype(np.float32)
        table[rng.random(table.shape) < 0.2] = -np.inf  # the job's age range
        keys = rng.integers(0, 2 * n_ages, n_workers)
        occ_part = np.round(rng.random((n_workers, n_occ)), 1).astype(np.float32)
        occupation = rng.integers(0, n_occ, n_jobs).astype(np.int32)
        has_min = rng.random(n_workers) < 0.7
        min_pay = rng.integers(3000, 9000, n_workers).astype(np.float32)
        mid_pay = rng.integers(3000, 9000, n_jobs).astype(np.float32)
        needs = np.flatnonzero(rng.random(n_jobs) < 0.2)
        of_column = np.full(n_jobs, -1, dtype=np.int64)
        of_column[needs] = np.arange(needs.size)
        cert_ok = rng.random((n_workers, needs.size)) < 0.5
        day = 1000
        available = np.where(rng.random(n_workers) < 0.3, day + 10, day - 5).astype(np.int32)
        valid_until = rng.integers(day, day + 20, n_jobs).astype(np.int32)
        job_rows = (np.arange(n_jobs) * 3 + 1).astype(np.int32)  # index rows, not block columns
        text_weight, slope, half = 0.4, 0.0002, 0.15

        cosine = (worker_grams @ postings).toarray()
        pay = np.where(
            has_min[:, None], np.clip(mid_pay[None, :] * slope - min_pay[:, None] * slope, -half, half), 0
        )
        wanted = table[keys] + cosine * text_weight + occ_part[:, occupation] + pay
        wanted[:, needs] = np.where(cert_ok, wanted[:, needs], -np.inf)
        wanted[(available[:, None] > day) & (valid_until[None, :] < available[:, None])] = -np.inf
        # a running best from an earlier block: some workers have k earlier jobs, some a few, some none
        # (rows of `best` for the other workers, not in this block, stay as they were)
        n_best = n_workers + 6
        earlier = np.round(rng.random((n_best, k)), 1).astype(np.float32) + 0.5
        earlier[rng.random(earlier.shape) < 0.4] = -np.inf
        best_scores = earlier.copy()
        best_rows = np.where(np.isfinite(earlier), 100_000 + np.arange(k), -1).astype(np.int32)
        best_text = np.zeros((n_best, k), dtype=np.float32)
        positions = rng.permutation(n_best)[:n_workers]  # the block's worker i is row positions[i] of best

        # the block of 30 workers sums every n-gram from postings; the others take the frequent ones dense
        frequent = fused.split_frequent(postings)
        if n_workers == 30:
            frequent = (frequent[0][:0], frequent[1][:0])
        elif n_jobs > 100:
            assert 0 < frequent[0].size < n_grams, "both paths taken"
        fused.score_and_keep(
            positions=positions, grams_indptr=worker_grams.indptr, grams=worker_grams.indices,
            gram_weights=worker_grams.data, postings_indptr=postings.indptr, posting_jobs=postings.indices,
            posting_weights=postings.data, gram_slots=fused.dense_slots(worker_grams.indices, frequent[0]),
            dense=frequent[1], table=table, keys=keys, text_weight=text_weight,
            occ_part=occ_part, occupation=occupation, has_min=has_min, min_pay=min_pay, mid_pay=mid_pay, slope=slope,
            half=half, cert_of_column=of_column, cert_ok=np.ascontiguousarray(cert_ok), available=available,
            valid_until=valid_until, day=day, job_rows=job_rows, best_scores=best_scores, best_rows=best_rows,
            best_text=best_text,
        )  # fmt: skip

        for at in set(range(n_best)) - set(positions.tolist()):
            assert np.array_equal(best_scores[at], earlier[at]), at
        for i, at in enumerate(positions.tolist()):
            before = earlier[at][np.isfinite(earlier[at])]
            expected = np.sort(np.concatenate([before, wanted[i][np.isfinite(wanted[i])]]))[::-1][:k]
            got = best_scores[at][best_rows[at] >= 0]
            assert np.all(np.diff(got) <= 0), "best first"
            np.testing.assert_allclose(got, expected, atol=1e-5)
            for row, score, text in zip(best_rows[at], best_scores[at], best_text[at], strict=True):
                if row < 0 or row >= 100_000:
                    continue
                j = (row - 1) // 3
                assert abs(score - wanted[i, j]) < 1e-5 and abs(text - cosine[i, j]) < 1e-5
