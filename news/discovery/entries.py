"""A proposal as config entries: the YAML an editor reads, and the append to a file.

`loa add-source` (its table, ``--json`` and ``--write``) and the editors'
``/addsource`` (its reply and confirm button) show and write the same
entries, so they are made once, here: the source with each category's slug
as a comment (the slug is what routes and /latest match), and a derived
profile under its name. The file itself is changed by
:func:`config.yaml_append.append_source`, which keeps every other byte.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from ruamel.yaml.comments import CommentedMap

from config.yaml_append import append_source, render_entry
from news.discovery.model import MethodScore, Proposal
from news.text import slugify

#: the column of a ``sources:`` entry's category keys (``  - name:`` then 4 more)
_CATEGORY_INDENT = 6


def renamed(proposal: Proposal, name: str | None) -> Proposal:
    """The proposal with its source (and a derived profile named after it) called `name`."""
    if not name or proposal.source is None:
        return proposal
    source = dict(proposal.source)
    old = source.get("name")
    source["name"] = name
    if proposal.profile is not None and source.get("profile") == old:
        source["profile"] = name
    profile = proposal.profile
    if profile is not None and "name" in profile:
        profile = {**profile, "name": source.get("profile", name)}
    return dataclasses.replace(proposal, source=source, profile=profile)


def source_entry(source: dict[str, Any]) -> CommentedMap:
    """The source as written under ``sources:``, each category with its slug as a comment.

    The slug is what routes and `/latest` match, so an editor sees at once
    which routes a category will meet.
    """
    entry = CommentedMap(source)
    categories = source.get("categories")
    if isinstance(categories, dict) and categories:
        commented = CommentedMap(categories)
        width = max(len(f"{k}: {v}") for k, v in categories.items())
        for key, value in categories.items():
            slug = slugify(str(value))
            if slug:
                commented.yaml_add_eol_comment(slug, key, column=_CATEGORY_INDENT + width + 2)
        entry["categories"] = commented
    return entry


def profile_entry(proposal: Proposal) -> dict[str, Any] | None:
    """The derived profile as written under ``profiles:`` (``name:`` first), or None."""
    if proposal.profile is None or proposal.source is None:
        return None
    name = str(proposal.source.get("profile") or proposal.source["name"])
    return {"name": name, **{k: v for k, v in proposal.profile.items() if k != "name"}}


def proposed_yaml(proposal: Proposal) -> str:
    """The ``sources:`` (and ``profiles:``) YAML to paste into a config file."""
    if proposal.source is None:
        return ""
    text = "sources:\n" + render_entry([source_entry(proposal.source)], indent=2)
    profile = profile_entry(proposal)
    if profile is not None:
        text += "profiles:\n" + render_entry({profile["name"]: profile}, indent=2)
    return text


def write_proposal(proposal: Proposal, path: Path) -> None:
    """Append the proposal to the config file at `path` (see config.yaml_append)."""
    assert proposal.source is not None, "only a proposal with a source is written"
    append_source(path, source_entry(proposal.source), profile_entry(proposal))


def best_score(proposal: Proposal, url: str) -> MethodScore | None:
    """The best-scoring method on the candidate at `url`, if any was tried."""
    scores = proposal.scores.get(url, ())
    return max(scores, key=lambda s: s.score) if scores else None
