"""An article's MinHash fingerprint and its LSH band keys.

Copies of a story differ by a reworded title, a dropped paragraph, a changed
byline or a "Khánh Hòa:" prefix; they keep most of their sentences. So an
article is compared by the set of its k-word shingles: the text (title + lead +
body) in NFC, folded by :func:`news.text.fold_diacritics` (no tone marks, lower
case, "đ"→"d", so NFD pages and a title typed without accents still match),
split into words. The Jaccard similarity of two shingle sets is estimated by a
128-value MinHash (datasketch, fixed seed and scheme, so a signature stored by
one process or version compares with one computed by another).

The 128 values are cut into :data:`BANDS` bands of :data:`ROWS` rows; two
articles sharing any band key are candidates (LSH), and only candidates are
compared. With 32 bands of 4 rows the chance that a pair becomes a candidate
is 1 - (1 - s⁴)³² : 0.87 at s = 0.5, 0.99 at s = 0.6, but 0.003 at s = 0.1
(what two unrelated articles of one template share), see bench/stories_quality.py.

Shingles holding a number weigh more (:data:`NUMBER_WEIGHT`): templated
reports (weather, gold prices, power cuts, a committee's meetings) are the
same words with other dates and figures, and a copy keeps its story's figures.

A text of fewer than :data:`MIN_WORDS` words gets no fingerprint: a few words
give a handful of shingles, whose Jaccard swings from 0 to 1 on one word, and
short notices ("Thông báo lịch tiếp công dân tháng 5") share their templated
wording across unrelated notices. Such articles are never grouped.
"""

from __future__ import annotations

import hashlib
import re
import struct
import unicodedata
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np

from news.text import fold_diacritics

__all__ = [
    "BANDS",
    "MIN_WORDS",
    "NUMBER_WEIGHT",
    "NUM_PERM",
    "ROWS",
    "SHINGLE_WORDS",
    "Fingerprint",
    "band_keys",
    "fingerprint",
    "shingles",
    "similarity",
    "words",
]

#: hash values per signature (ArticleFingerprint.signature holds 4 bytes each)
NUM_PERM = 128
#: fixed, never change: stored signatures are only comparable under one seed
SEED = 1405
#: words per shingle (3 separates copies from same-template articles best, see the bench)
SHINGLE_WORDS = 3
#: extra copies of each shingle holding a number (see shingles; 10 measured best)
NUMBER_WEIGHT = 10
#: LSH bands × rows per band = NUM_PERM
BANDS = 32
ROWS = 4
#: shorter texts are not fingerprinted (see the module docstring)
MIN_WORDS = 30

_WORD_SPLIT = re.compile(r"[\W_]+")
_SIGNED = struct.Struct("<q")


@dataclass(frozen=True)
class Fingerprint:
    """A signature (little-endian uint32 × NUM_PERM) and its band keys."""

    signature: bytes
    bands: tuple[int, ...]


def words(title: str, lead: str, body: str) -> list[str]:
    """The folded words of title + lead + body, in order."""
    text = unicodedata.normalize("NFC", "\n".join((title, lead, body)))
    return [w for w in _WORD_SPLIT.split(fold_diacritics(text)) if w]


def shingles(
    tokens: list[str], k: int = SHINGLE_WORDS, number_weight: int = NUMBER_WEIGHT
) -> set[bytes]:
    """The set of k-word shingles of `tokens` (UTF-8, space-joined), numbers weighted.

    A shingle holding a number (a date, an amount, a count) also enters
    `number_weight` times more, tagged: templated reports (weather, prices,
    power cuts, a committee's meetings) share their wording and differ in
    their numbers, while a copy keeps the numbers of the story it copies.
    """
    if len(tokens) < k:
        return {" ".join(tokens).encode()} if tokens else set()
    grams = [" ".join(tokens[i : i + k]).encode() for i in range(len(tokens) - k + 1)]
    out = set(grams)
    digits = [t.isdigit() for t in tokens]
    tags = [b"\x00" + bytes((j,)) for j in range(number_weight)]
    for i, gram in enumerate(grams):
        if True in digits[i : i + k]:
            out.update(gram + tag for tag in tags)
    return out


def _minhash_class() -> Any:
    """datasketch's MinHash, imported when first needed.

    Importing datasketch imports its LSH module and with it scipy: about 0.8 s
    that every `loa` command and process would pay at start. Only a process
    that stores a new article needs it, once.
    """
    from datasketch import MinHash  # type: ignore[import-untyped]  # no stubs

    return MinHash


@cache
def _permutations() -> tuple[np.ndarray, np.ndarray]:
    """The seed's permutation parameters, drawn once per process (they cost ~0.2 ms)."""
    perms = _minhash_class()(num_perm=NUM_PERM, seed=SEED, scheme="affine32").permutations
    return perms[0], perms[1]


def signature(items: set[bytes]) -> bytes:
    """The MinHash signature of a shingle set, as stored (little-endian uint32 each)."""
    minhash = _minhash_class()(
        num_perm=NUM_PERM, seed=SEED, scheme="affine32", permutations=_permutations()
    )
    minhash.update_batch(items)
    return bytes(minhash.hashvalues.astype("<u4").tobytes())


def band_keys(sig: bytes) -> tuple[int, ...]:
    """One signed 64-bit key per band: blake2b-8 of (band number, the band's values)."""
    width = ROWS * 4
    keys = []
    for band in range(BANDS):
        digest = hashlib.blake2b(
            bytes((band,)) + sig[band * width : (band + 1) * width], digest_size=8
        ).digest()
        keys.append(_SIGNED.unpack(digest)[0])
    return tuple(keys)


def fingerprint(title: str, lead: str, body: str) -> Fingerprint | None:
    """The article's fingerprint, or None when its text is too short to compare."""
    tokens = words(title, lead, body)
    if len(tokens) < MIN_WORDS:
        return None
    sig = signature(shingles(tokens))
    return Fingerprint(sig, band_keys(sig))


def similarity(sig_a: bytes, sig_b: bytes) -> float:
    """Estimated Jaccard similarity: the share of equal hash values."""
    a = np.frombuffer(sig_a, dtype="<u4")
    b = np.frombuffer(sig_b, dtype="<u4")
    if a.shape != b.shape or not a.size:
        return 0.0
    return float(np.count_nonzero(a == b)) / a.size
