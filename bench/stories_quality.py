"""Precision and recall of story grouping on the labelled pairs (tests/stories/pairs.json).

``.venv/bin/python -m bench.stories_quality`` prints, for the shingle size in
use (and, with ``--k``, others), a table over thresholds 0.3–0.8. A pair is
predicted "one story" the way grouping decides it: both texts are long enough
to be fingerprinted, they share an LSH band (are candidates at all), and the
estimated Jaccard similarity reaches the threshold. Rebuild the pairs with
``python -m bench.stories_pairs``.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from news.stories.fingerprint import (
    MIN_WORDS,
    SHINGLE_WORDS,
    band_keys,
    shingles,
    signature,
    similarity,
    words,
)

PAIRS = Path(__file__).resolve().parent.parent / "tests" / "stories" / "pairs.json"
THRESHOLDS = (0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.7, 0.8)


@dataclass(frozen=True)
class Scored:
    """One pair: its label, kind, and what grouping would see (None: not comparable)."""

    kind: str
    same_story: bool
    similarity: float | None


@dataclass(frozen=True)
class Quality:
    """Counts at one threshold, and the rates derived from them."""

    threshold: float
    tp: int
    fp: int
    fn: int
    tn: int

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


def load_pairs(path: Path = PAIRS) -> list[dict[str, Any]]:
    """The labelled pairs as built by bench/stories_pairs.py."""
    data = json.loads(path.read_text(encoding="utf-8"))
    docs: list[dict[str, str]] = data["docs"]
    return [
        {"kind": kind, "same_story": same, "a": docs[a], "b": docs[b]}
        for kind, same, a, b in data["pairs"]
    ]


def _sig(doc: dict[str, str], k: int) -> bytes | None:
    tokens = words(doc["title"], doc["summary"], doc["body"])
    return signature(shingles(tokens, k)) if len(tokens) >= MIN_WORDS else None


def score(pairs: list[dict[str, Any]], k: int = SHINGLE_WORDS) -> list[Scored]:
    """Each pair's similarity as grouping would find it (None: never compared)."""
    scored = []
    for pair in pairs:
        a, b = _sig(pair["a"], k), _sig(pair["b"], k)
        sim: float | None = None
        if a is not None and b is not None and set(band_keys(a)) & set(band_keys(b)):
            sim = similarity(a, b)
        scored.append(Scored(pair["kind"], pair["same_story"], sim))
    return scored


def quality(scored: list[Scored], threshold: float) -> Quality:
    """Confusion counts at `threshold`."""
    counts: Counter[tuple[bool, bool]] = Counter(
        (s.same_story, s.similarity is not None and s.similarity >= threshold) for s in scored
    )
    return Quality(
        threshold,
        tp=counts[True, True],
        fp=counts[False, True],
        fn=counts[True, False],
        tn=counts[False, False],
    )


def table(scored: list[Scored]) -> str:
    """A markdown table of precision / recall / F1 over THRESHOLDS."""
    lines = [
        "| threshold | precision | recall | F1 | TP | FP | FN |",
        "|---|---|---|---|---|---|---|",
    ]
    for t in THRESHOLDS:
        q = quality(scored, t)
        lines.append(
            f"| {t:.2f} | {q.precision:.3f} | {q.recall:.3f} | {q.f1:.3f} "
            f"| {q.tp} | {q.fp} | {q.fn} |"
        )
    return "\n".join(lines)


def misses(scored: list[Scored], threshold: float) -> Counter[str]:
    """Wrong decisions at `threshold`, by pair kind."""
    return Counter(
        f"{s.kind} ({'FN' if s.same_story else 'FP'})"
        for s in scored
        if s.same_story != (s.similarity is not None and s.similarity >= threshold)
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--k", type=int, nargs="*", default=[SHINGLE_WORDS], help="shingle sizes")
    parser.add_argument("--threshold", type=float, default=0.5, help="where to list the misses")
    args = parser.parse_args()
    pairs = load_pairs()
    positives = sum(p["same_story"] for p in pairs)
    print(f"{len(pairs)} pairs: {positives} same story, {len(pairs) - positives} not\n")
    for k in args.k:
        scored = score(pairs, k)
        print(f"shingles of {k} words, min {MIN_WORDS} words\n\n{table(scored)}\n")
        print(f"misses at {args.threshold}: {dict(misses(scored, args.threshold))}\n")
        for same in (True, False):
            sims = sorted(s.similarity or 0.0 for s in scored if s.same_story is same)
            label = "same story" if same else "different"
            print(
                f"  {label}: min {sims[0]:.2f}  max {sims[-1]:.2f}  "
                f"median {sims[len(sims) // 2]:.2f}"
            )
        print()


if __name__ == "__main__":
    main()
