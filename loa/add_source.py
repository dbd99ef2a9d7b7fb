"""`loa add-source URL`: what Loa could watch at a site, and the config to watch it.

news.discovery.propose finds the candidates (feeds, sitemaps, listing pages),
scores every extraction method on a few of their articles and proposes a
source (and a derived profile when no built-in one fits). This module only
shows that :class:`~news.discovery.model.Proposal`: as rich tables and YAML
for a person, as one JSON document for a script, and as the YAML the editors'
``/addsource`` reply carries; ``--write`` hands the same entries to
:func:`config.yaml_append.append_source`. One rendering, three readers.
"""

from __future__ import annotations

import dataclasses
import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from config.settings import Settings
from config.yaml_append import render_entry
from news.discovery.entries import (
    best_score,
    profile_entry,
    proposed_yaml,
    renamed,
    write_proposal,
)
from news.discovery.model import Candidate, MethodScore, Proposal
from news.errors import LoaError

#: the fields of a score, in table order (news.discovery.model.SCORED_FIELDS)
FIELD_LABELS = {
    "title": "title",
    "date_time": "date+time",
    "lead": "lead",
    "body": "body",
    "category": "category",
    "clean": "no chrome",
}

Propose = Callable[..., Proposal]


def default_propose() -> Propose:
    """news.discovery.propose.propose_source, imported when first needed (it pulls in a lot)."""
    from news.discovery.propose import propose_source

    return propose_source


# --- JSON -------------------------------------------------------------------------------


def _candidate(candidate: Candidate | None) -> dict[str, Any] | None:
    if candidate is None:
        return None
    found = dataclasses.asdict(candidate)
    found["article_urls"] = list(candidate.article_urls)
    found["articles"] = len(candidate.article_urls)
    return found


def _score(score: MethodScore) -> dict[str, Any]:
    found = dataclasses.asdict(score)
    found["score"] = round(score.score, 4)
    found["fields"] = {k: round(v, 4) for k, v in score.fields.items()}
    found["errors"] = list(score.errors)
    return found


def proposal_json(proposal: Proposal) -> dict[str, Any]:
    """Everything the table shows, as one JSON-ready mapping (the `--json` output)."""
    return {
        "url": proposal.url,
        "ok": proposal.ok,
        "candidates": [_candidate(c) for c in proposal.candidates],
        "scores": {url: [_score(s) for s in scores] for url, scores in proposal.scores.items()},
        "chosen": _candidate(proposal.chosen),
        "method": proposal.method,
        "source": proposal.source,
        "profile": profile_entry(proposal),
        "yaml": proposed_yaml(proposal) or None,
        "derived": proposal.derived,
        "attempts": [dataclasses.asdict(a) for a in proposal.attempts],
        "warnings": list(proposal.warnings),
    }


# --- tables -----------------------------------------------------------------------------


def print_proposal(proposal: Proposal, console: Console) -> None:
    """Candidates, each tried candidate's scores per method, then the YAML (or what was tried)."""
    console.print(f"[bold]{escape(proposal.url)}[/]", highlight=False)
    if proposal.candidates:
        console.print(_candidates_table(proposal))
    for url, scores in proposal.scores.items():
        if scores:
            console.print(_scores_table(proposal, url, scores))
    for warning in proposal.warnings:
        console.print(f"[yellow]warning:[/] {escape(warning)}", highlight=False)
    if not proposal.ok:
        print_refusal(proposal, console)
        return
    chosen = proposal.chosen
    if chosen is not None:
        console.print(
            f"Proposed: [bold]{chosen.kind}[/] {escape(chosen.url)} read with "
            f"[bold]{escape(proposal.method or 'zero-config')}[/]",
            highlight=False,
        )
    console.print(proposed_yaml(proposal), markup=False, highlight=False, soft_wrap=True)
    if proposal.derived is not None and proposal.profile is None:
        console.print(
            "No site profile fits; this one was derived from the site's pages. It reads no "
            "better than zero-config (which survives a new template), so it is not proposed; "
            "to use it, add it under profiles: and set the source's profile: to its name.",
            markup=False,
            highlight=False,
        )
        derived = {"profiles": {proposal.derived.get("name", "derived"): proposal.derived}}
        console.print(render_entry(derived, indent=0), markup=False, highlight=False)


def print_refusal(proposal: Proposal, console: Console) -> None:
    """Exit 2's explanation: nothing watchable, and every attempt with its outcome."""
    console.print(f"nothing watchable at {proposal.url}", markup=False, highlight=False)
    table = Table("tried", "outcome", title="What was tried", title_justify="left")
    for attempt in proposal.attempts:
        table.add_row(attempt.what, attempt.outcome)
    console.print(table)


def _candidates_table(proposal: Proposal) -> Table:
    table = Table(
        "", "kind", "URL", "found via", "articles", "best", title="Candidates", title_justify="left"
    )
    for candidate in proposal.candidates:
        best = best_score(proposal, candidate.url)
        mark = "★" if proposal.chosen is not None and candidate.url == proposal.chosen.url else ""
        table.add_row(
            mark,
            candidate.kind,
            candidate.url,
            candidate.found_via + (f" ({candidate.category})" if candidate.category else ""),
            str(len(candidate.article_urls)),
            f"{best.score:.2f} {best.method}" if best else "—",
        )
    return table


def _scores_table(proposal: Proposal, url: str, scores: tuple[MethodScore, ...]) -> Table:
    table = Table(
        "",
        "method",
        "score",
        *FIELD_LABELS.values(),
        "articles",
        "errors",
        title=f"Extraction scores: {url}",
        title_justify="left",
    )
    chosen = proposal.chosen is not None and proposal.chosen.url == url
    for score in sorted(scores, key=lambda s: -s.score):
        mark = "★" if chosen and score.method == proposal.method else ""
        table.add_row(
            mark,
            score.method,
            f"{score.score:.2f}",
            *(f"{score.fields.get(name, 0.0):.2f}" for name in FIELD_LABELS),
            str(score.articles),
            str(len(score.errors)) if score.errors else "",
        )
    return table


# --- the command ------------------------------------------------------------------------


def run_add_source(
    settings: Settings,
    url: str,
    *,
    write: Path | None = None,
    as_json: bool = False,
    name: str | None = None,
    sample: int = 3,
    propose: Propose | None = None,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    """Propose, show, maybe write; the exit code: 0 proposed (and written), 2 refused."""
    console = _console(out)
    errors = _console(err, stderr=True)
    try:
        proposal = (propose or default_propose())(url, settings, sample=sample)
    except LoaError as exc:  # HostNotAllowed (SSRF policy), a fetch that failed outright
        if as_json:
            _print_json({"url": url, "ok": False, "error": str(exc)}, out)
        errors.print(f"loa: {exc}", markup=False, highlight=False)
        return 2
    proposal = renamed(proposal, name)
    if as_json:
        _print_json(proposal_json(proposal), out)
    else:
        print_proposal(proposal, console)
    if not proposal.ok:
        if as_json:
            errors.print(f"loa: nothing watchable at {url}", markup=False, highlight=False)
        return 2
    if write is not None:
        try:
            write_proposal(proposal, write)
        except LoaError as exc:
            errors.print(f"loa: not written: {exc}", markup=False, highlight=False)
            return 2
        done = f"added source {proposal.source['name']!r} to {write}"  # type: ignore[index]
        (errors if as_json else console).print(done, markup=False, highlight=False)
    return 0


def _console(stream: TextIO | None, *, stderr: bool = False) -> Console:
    """A console that does not wrap URLs at 80 columns when writing to a pipe or file."""
    console = Console(file=stream, stderr=stderr)
    if not console.is_terminal:
        console = Console(file=stream, stderr=stderr, width=200)
    return console


def _print_json(document: dict[str, Any], out: TextIO | None) -> None:
    buffer = io.StringIO()
    json.dump(document, buffer, ensure_ascii=False, indent=2)
    stream = out
    if stream is None:
        import sys

        stream = sys.stdout
    stream.write(buffer.getvalue() + "\n")
    stream.flush()
