"""Story fingerprints: folded shingles, a stable MinHash, LSH band keys."""

from __future__ import annotations

import subprocess
import sys
import unicodedata

from loa.demo_stories import STORIES
from news.stories.fingerprint import (
    BANDS,
    MIN_WORDS,
    NUM_PERM,
    ROWS,
    band_keys,
    fingerprint,
    shingles,
    similarity,
    words,
)

STORY = STORIES[0]
TITLE, LEAD, BODY = STORY.title, STORY.lead, "\n".join(STORY.paragraphs)

#: the first 8 signature bytes of STORIES[0]; a change here means stored
#: signatures no longer compare with new ones (a new seed, scheme or datasketch)
GOLDEN_PREFIX = "fb32dc0079722501"


def test_signature_is_128_little_endian_uint32_and_32_bands_of_4() -> None:
    fp = fingerprint(TITLE, LEAD, BODY)
    assert fp is not None
    assert len(fp.signature) == NUM_PERM * 4
    assert BANDS * ROWS == NUM_PERM
    assert len(fp.bands) == BANDS
    assert all(-(2**63) <= key < 2**63 for key in fp.bands)
    assert fp.bands == band_keys(fp.signature)


def test_signature_is_stable_across_processes() -> None:
    """A signature stored by one worker compares with one computed by another, later."""
    code = (
        "from loa.demo_stories import STORIES\n"
        "from news.stories.fingerprint import fingerprint\n"
        "s = STORIES[0]\n"
        "print(fingerprint(s.title, s.lead, '\\n'.join(s.paragraphs)).signature.hex())\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    fp = fingerprint(TITLE, LEAD, BODY)
    assert fp is not None
    assert out.stdout.strip() == fp.signature.hex()
    assert fp.signature[:8].hex() == GOLDEN_PREFIX


def test_nfd_and_missing_tone_marks_give_the_same_signature() -> None:
    fp = fingerprint(TITLE, LEAD, BODY)
    nfd = fingerprint(*(unicodedata.normalize("NFD", t) for t in (TITLE, LEAD, BODY)))
    folded = words(TITLE, LEAD, BODY)
    plain = fingerprint(" ".join(folded), "", "")
    assert fp is not None and nfd is not None and plain is not None
    assert fp.signature == nfd.signature == plain.signature
    assert "đ" not in "".join(folded) and "dan" in folded and "den" in folded  # dân, đến


def test_short_text_gets_no_fingerprint() -> None:
    """A few words are too few shingles to compare: notices would group by their template."""
    assert fingerprint("Thông báo lịch tiếp công dân tháng 5", "", "") is None
    text = " ".join(words(TITLE, LEAD, BODY)[: MIN_WORDS - 1])
    assert fingerprint(text, "", "") is None
    assert fingerprint(" ".join(words(TITLE, LEAD, BODY)[:MIN_WORDS]), "", "") is not None


def test_similarity_estimates_jaccard() -> None:
    a = fingerprint(TITLE, LEAD, BODY)
    same = fingerprint("Khánh Hòa: " + TITLE, LEAD, BODY + "\n(Tin, ảnh: MINH ANH)")
    other_story = STORIES[1]
    other = fingerprint(other_story.title, other_story.lead, "\n".join(other_story.paragraphs))
    assert a is not None and same is not None and other is not None
    assert similarity(a.signature, a.signature) == 1.0
    assert similarity(a.signature, same.signature) > 0.8
    assert similarity(a.signature, other.signature) < 0.1
    assert set(a.bands) & set(same.bands)
    assert not set(a.bands) & set(other.bands)


def test_shingles_holding_numbers_weigh_more() -> None:
    """Two weather reports differ in their figures: those shingles count more."""
    tokens = "troi nang nong ngay 12 thang 5".split()
    plain = shingles(tokens, 3, number_weight=0)
    weighted = shingles(tokens, 3, number_weight=4)
    assert plain < weighted
    assert len(weighted) == len(plain) + 4 * 3  # three shingles hold "12" or "5"
