"""Text matching methods compared on the same texts and the same eligible pairs (`eastwest eval matching`).

Each method turns the worker's text (`columns.worker_text`: keywords, skills, occupations wanted, trained for and
done, work history) and the job's (`columns.job_text`) into vectors and scores a pair by their similarity:

- `char n-grams` (the baseline): TF-IDF over character 1-3-grams, cosine (scikit-learn `TfidfVectorizer`);
- `ranker text`: what the ranker uses, hashed character 1-3-grams with sublinear tf and the idf of the open
  jobs, each text cut to its heaviest n-grams;
- `jieba words`: TF-IDF over jieba's word segmentation, cosine;
- `BM25 bigrams`: Okapi BM25 (k1 1.2, b 0.75) over character unigrams and bigrams, the worker's text as the query.

Every method ranks only the pairs that pass the hard filters, so the comparison is about the text alone; the
full ranker (all factors) is shown beside them. Quality is judged on the planted preferences (P@10, NDCG@10 per
worker, ROC AUC of each job's candidates) and cost in CPU seconds for vectorising and scoring every pair.
An embedding model is not among them: none for Chinese ships inside a package here (the small English one that
does, all-MiniLM-L6-v2, maps most Chinese characters to unknown tokens), and nothing may be downloaded at run time.
"""

from __future__ import annotations

import importlib.util
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer

from .columns import job_text, worker_text
from .features import JobFeatures, WorkerFeatures
from .ranker import MatchIndex, char_ngrams

F64 = npt.NDArray[np.float64]
Scorer = Callable[[list[str], list[str]], F64]  # worker texts, job texts -> workers x jobs similarity


@dataclass(frozen=True)
class TextMethodRow:
    method: str
    precision_at_10: float
    ndcg_at_10: float
    candidate_auc: float
    cpu_seconds: float


def char_ngram_tfidf(workers: list[str], jobs: list[str]) -> F64:
    vectorizer = TfidfVectorizer(analyzer=char_ngrams, sublinear_tf=True)
    job_vectors = vectorizer.fit_transform(jobs)
    return np.asarray((vectorizer.transform(workers) @ job_vectors.T).toarray())


def jieba_tfidf(workers: list[str], jobs: list[str]) -> F64:
    import jieba

    jieba.setLogLevel(60)

    def words(text: str) -> list[str]:
        return [word for word in jieba.lcut(text.lower()) if word.strip() and not _punctuation(word)]

    vectorizer = TfidfVectorizer(analyzer=words, sublinear_tf=True)
    job_vectors = vectorizer.fit_transform(jobs)
    return np.asarray((vectorizer.transform(workers) @ job_vectors.T).toarray())


def bm25_bigrams(workers: list[str], jobs: list[str], k1: float = 1.2, b: float = 0.75) -> F64:
    def grams(text: str) -> list[str]:
        return [gram for gram in char_ngrams(text) if len(gram) <= 2]

    counter = CountVectorizer(analyzer=grams)
    tf = sp.csr_matrix(counter.fit_transform(jobs), dtype=np.float64)
    lengths = np.asarray(tf.sum(axis=1)).ravel()
    df = np.bincount(tf.indices, minlength=tf.shape[1])
    idf = np.log1p((len(jobs) - df + 0.5) / (df + 0.5))
    saturation = k1 * (1 - b + b * lengths / max(lengths.mean(), 1.0))
    data = tf.data * (k1 + 1) / (tf.data + np.repeat(saturation, np.diff(tf.indptr)))
    documents = sp.csr_matrix((data, tf.indices, tf.indptr), shape=tf.shape)
    query = sp.csr_matrix(counter.transform(workers), dtype=np.float64)
    query.data[:] = 1.0
    return np.asarray((query @ sp.diags(idf) @ documents.T).toarray())


def _punctuation(word: str) -> bool:
    return all(not character.isalnum() for character in word)


def _ndcg(ranked: Sequence[int], relevant: set[int], k: int = 10) -> float:
    dcg = sum(1.0 / np.log2(i + 2) for i, item in enumerate(ranked[:k]) if item in relevant)
    ideal = sum(1.0 / np.log2(i + 2) for i in range(min(k, len(relevant))))
    return float(dcg / ideal) if ideal else 0.0


def _auc(scores: F64, labels: npt.NDArray[np.bool_]) -> float | None:
    positives, negatives = scores[labels], scores[~labels]
    if not positives.size or not negatives.size:
        return None
    # the share of (relevant, other) pairs ordered right, ties counting half
    order = np.argsort(np.concatenate([negatives, positives]), kind="stable")
    ranks = np.empty(order.size)
    ordered = np.concatenate([negatives, positives])[order]
    _, first, counts = np.unique(ordered, return_index=True, return_counts=True)
    average = first + (counts - 1) / 2.0 + 1
    ranks[order] = np.repeat(average, counts)
    positive_ranks = ranks[negatives.size :]
    return float(
        (positive_ranks.sum() - positives.size * (positives.size + 1) / 2) / (positives.size * negatives.size)
    )


def judge(
    method: str,
    scores: F64,
    eligible: npt.NDArray[np.bool_],
    relevant: npt.NDArray[np.bool_],
    cpu_seconds: float,
) -> TextMethodRow:
    """Quality of a workers x jobs score matrix over the eligible pairs, against the planted relevance."""
    masked = np.where(eligible, scores, -np.inf)
    precision, ndcg = [], []
    for w in np.flatnonzero(relevant.any(axis=1)):
        allowed = np.flatnonzero(eligible[w])
        ranked = allowed[np.lexsort((allowed, -masked[w, allowed]))][:10].tolist()
        wanted = set(np.flatnonzero(relevant[w]).tolist())
        precision.append(len(wanted & set(ranked)) / 10)
        ndcg.append(_ndcg(ranked, wanted))
    aucs = []
    for j in range(scores.shape[1]):
        rows = np.flatnonzero(eligible[:, j])
        value = _auc(scores[rows, j], relevant[rows, j]) if rows.size else None
        if value is not None:
            aucs.append(value)
    return TextMethodRow(
        method=method,
        precision_at_10=float(np.mean(precision)) if precision else 0.0,
        ndcg_at_10=float(np.mean(ndcg)) if ndcg else 0.0,
        candidate_auc=float(np.mean(aucs)) if aucs else 0.0,
        cpu_seconds=cpu_seconds,
    )


def compare(
    index: MatchIndex,
    workers: Sequence[WorkerFeatures],
    jobs: Sequence[JobFeatures],
    eligible: npt.NDArray[np.bool_],
    relevant: npt.NDArray[np.bool_],
    today: date,
) -> list[TextMethodRow]:
    """Every method on the same pairs; the full score comes from `index` (holding these workers and jobs)."""
    worker_texts = [worker_text(w) for w in workers]
    job_texts = [job_text(j) for j in jobs]
    rows = []
    methods: list[tuple[str, Scorer]] = [
        ("char n-grams TF-IDF (baseline)", char_ngram_tfidf),
        ("jieba words TF-IDF", jieba_tfidf),
        ("BM25 char unigrams+bigrams", bm25_bigrams),
    ]
    for name, scorer in methods:
        if scorer is jieba_tfidf and importlib.util.find_spec("jieba") is None:
            continue  # a development dependency: `pip install -e '.[dev]'` brings it
        started = time.process_time()
        scores = scorer(worker_texts, job_texts)
        rows.append(judge(name, scores, eligible, relevant, time.process_time() - started))
    started = time.process_time()
    fresh = MatchIndex()  # vectorised from scratch, as the other methods are
    fresh.upsert_jobs(jobs)
    fresh.upsert_workers(workers)
    text = fresh.worker_vectors([w.id for w in workers]) @ fresh.job_vectors_of([j.id for j in jobs]).T
    cpu = time.process_time() - started
    rows.append(judge("ranker text (hashed n-grams)", np.asarray(text.toarray()), eligible, relevant, cpu))
    started = time.process_time()
    full = np.full(eligible.shape, -np.inf)
    job_column = {job.id: j for j, job in enumerate(jobs)}
    for w, person in enumerate(workers):
        for match in index.recommend(person.id, len(jobs), today):
            full[w, job_column[match.job_id]] = match.score
    rows.append(judge("ranker, all factors", full, eligible, relevant, time.process_time() - started))
    return rows
