"""Precision and recall of story grouping on the labelled pairs, at the default threshold.

The pairs (tests/stories/pairs.json, built by bench/stories_pairs.py from the
real corpora) hold light and heavy copies and hard negatives: one site's
template, one category, templated reports, follow-ups, short notices. The
table over thresholds is printed by ``python -m bench.stories_quality``.
"""

from __future__ import annotations

import pytest

from bench.stories_quality import Scored, load_pairs, quality, score
from config.settings import StoriesConfig


@pytest.fixture(scope="module")
def scored() -> list[Scored]:
    """Every pair scored once (a second each way)."""
    return score(load_pairs())


def test_the_labelled_set_is_large_and_balanced() -> None:
    pairs = load_pairs()
    positives = sum(p["same_story"] for p in pairs)
    assert len(pairs) >= 200
    assert 0.3 < positives / len(pairs) < 0.7
    kinds = {p["kind"] for p in pairs}
    assert {"copy-light", "copy-heavy", "same-site", "template-weather", "follow-up"} <= kinds


def test_precision_and_recall_at_the_default_threshold(scored: list[Scored]) -> None:
    measured = quality(scored, StoriesConfig().threshold)
    assert measured.precision >= 0.95, measured
    assert measured.recall >= 0.95, measured


def test_light_edits_are_always_found_and_other_sites_articles_never_grouped(
    scored: list[Scored],
) -> None:
    threshold = StoriesConfig().threshold
    for pair in scored:
        found = pair.similarity is not None and pair.similarity >= threshold
        if pair.kind == "copy-light":
            assert found, pair
        if pair.kind in ("random", "same-site", "same-category", "follow-up"):
            assert not found, pair
