"""Hashed character n-gram counts for many texts at once, in numpy: what `ranker.char_ngrams` makes one text at a
time, without a Python object per n-gram.

The texts are normalised (NFKC, lower case) and joined into one array of code points; a character is part of a
word when `str.isalnum()` says so (as `\\w` does, less the underscore); every run of word characters gives its
1-, 2- and 3-grams, and no n-gram spans a separator or two texts. Each n-gram is hashed from its code points and
its length (a bigram never lands on the column of the unigram with the same arithmetic), mixed (splitmix64) and
folded into `n_features` columns. The counts come out as one CSR matrix, a row per text, columns sorted.

At 40,000 synthetic job and worker texts this takes a tenth of the time of scikit-learn's `HashingVectorizer`
with `char_ngrams` as its analyzer (bench/matching.py reports the index build).
"""

from __future__ import annotations

import sys
import unicodedata
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

U64 = npt.NDArray[np.uint64]

_SEPARATOR = "\x00"
# Word characters of the Basic Multilingual Plane; code points above it (rare CJK extensions) count as word ones.
_WORD = np.array([chr(code).isalnum() for code in range(0x10000)], dtype=np.bool_)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_PRIME = np.uint64(0x100000001B3)
_LENGTH_SALT = (np.uint64(0x9E3779B97F4A7C15), np.uint64(0xC2B2AE3D27D4EB4F), np.uint64(0x165667B19E3779F9))


def _mix(values: U64) -> U64:
    """splitmix64's finaliser: every input bit moves every output bit."""
    with np.errstate(over="ignore"):
        values = values ^ (values >> np.uint64(30))
        values = values * _MIX1
        values = values ^ (values >> np.uint64(27))
        values = values * _MIX2
        return values ^ (values >> np.uint64(31))


def hashed_counts(texts: Sequence[str], n_features: int) -> sp.csr_matrix:
    """A (len(texts) x n_features) CSR matrix of n-gram counts (float32), columns sorted within each row."""
    joined = _SEPARATOR.join(texts)
    if not unicodedata.is_normalized("NFKC", joined):  # most Chinese text already is: the check is cheap
        joined = unicodedata.normalize("NFKC", joined)
    joined = joined.lower()
    codes = np.frombuffer(joined.encode("utf-32-le" if sys.byteorder == "little" else "utf-32-be"), np.uint32)
    is_word = np.ones(codes.size, dtype=np.bool_)
    small = codes < 0x10000
    is_word[small] = _WORD[codes[small]]
    row_of = np.cumsum(codes == ord(_SEPARATOR), dtype=np.int64)  # text index of each character
    values = codes.astype(np.uint64)
    columns: list[U64] = []
    rows: list[npt.NDArray[np.int64]] = []
    key = values
    whole = is_word
    for length in range(1, 4):
        if length > 1:
            with np.errstate(over="ignore"):
                key = key[:-1] * _PRIME + values[length - 1 :]
            whole = whole[:-1] & is_word[length - 1 :]
        where = np.flatnonzero(whole)
        with np.errstate(over="ignore"):
            hashed = _mix(key[where] ^ _LENGTH_SALT[length - 1])
        columns.append(hashed % np.uint64(n_features))
        rows.append(row_of[where])
    row = np.concatenate(rows)
    column = np.concatenate(columns).astype(np.int32)
    # COO to CSR sums the repeats row by row (a counting sort by row, then each row's columns): far cheaper than
    # sorting every n-gram of every text as one array.
    counts = sp.coo_matrix(
        (np.ones(row.size, dtype=np.float32), (row, column)), shape=(len(texts), n_features)
    ).tocsr()
    counts.sort_indices()
    return counts
