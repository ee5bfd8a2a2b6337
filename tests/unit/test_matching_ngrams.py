"""The n-gram hashing's normalisation: a table per character must give what NFKC-then-lower-case of the whole
text gives, for every text, or the index and a query would hash the same words apart."""

from __future__ import annotations

import random
import unicodedata

import numpy as np

from services.matching.ngrams import _per_character, hashed_counts, normalised_codes


def reference(texts: list[str]) -> list[int]:
    return [ord(c) for c in unicodedata.normalize("NFKC", "\x00".join(texts)).lower()]


def test_every_character_the_table_maps_alone_maps_as_unicodedata_does() -> None:
    mapped, hard = _per_character()
    for code in range(0x10000):
        if not hard[code] and not 0xD800 <= code <= 0xDFFF:
            assert chr(mapped[code]) == unicodedata.normalize("NFKC", chr(code)).lower(), hex(code)


def test_texts_normalise_as_a_whole_whatever_their_neighbours() -> None:
    _, hard = _per_character()
    easy = [code for code in range(1, 0x10000) if not hard[code] and not 0xD800 <= code <= 0xDFFF]
    tricky = [
        *range(0x41, 0x7B), *range(0x300, 0x370), 0x3A3, *range(0x1100, 0x11C3), *range(0x3131, 0x318F),
        *range(0x3200, 0x3300), *range(0xAC00, 0xAC30), *range(0xFF01, 0xFFEF), *range(0x4E00, 0x4E20),
        0xE9, 0x130, 0x2F800, 0x20000, 0x1D400, 0x1F600,
    ]  # fmt: skip
    rng = random.Random(7)
    for _ in range(3000):
        pool = rng.choice((easy, tricky))
        texts = [
            "".join(chr(rng.choice(pool)) for _ in range(rng.randint(0, 8))) for _ in range(rng.randint(1, 4))
        ]
        assert normalised_codes(texts).tolist() == reference(texts), [
            t.encode("unicode_escape") for t in texts
        ]


def test_real_chinese_text_is_normalised_by_the_table_alone() -> None:
    texts = ["招聘：电焊工（持证），月薪６０００元＋加班费", "ＣＮＣ操作工；Ｅ-mail", "Σίσυφος ΣΑΣ"]
    assert normalised_codes(texts).tolist() == reference(texts)
    counts = hashed_counts(texts, 2**18)
    assert counts.shape == (3, 2**18) and np.all(np.diff(counts.indptr) > 0)
