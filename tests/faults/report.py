"""The fault suite's table: one row per scenario, printed at the end of the run.

Every scenario records what it measured with :func:`record`; the suite's
``conftest`` prints the rows as a table after the tests and writes them to
``var/faults-report.md`` (the README shows the latest one). A row is recorded
before the scenario's assertions, so a failing scenario still shows its numbers.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

REPORT_PATH = Path(
    os.environ.get("LOA_FAULTS_REPORT", Path(__file__).resolve().parents[2] / "var" / "faults")
)


@dataclass(frozen=True)
class ScenarioResult:
    """What one fault scenario measured, from the database and the emulator's record."""

    scenario: str
    articles: int
    expected: int
    delivered: int
    lost: int
    duplicated: int
    recovery_seconds: float | None
    note: str = ""
    database: str = field(default_factory=lambda: "postgresql" if _on_postgres() else "sqlite")


def _on_postgres() -> bool:
    return os.environ.get("DATABASE_URL", "").startswith("postgres")


RESULTS: list[ScenarioResult] = []


def record(result: ScenarioResult) -> ScenarioResult:
    """Keep `result` for the end-of-run table (and a JSON line, for other tools)."""
    RESULTS.append(result)
    REPORT_PATH.mkdir(parents=True, exist_ok=True)
    with open(REPORT_PATH / "results.jsonl", "a", encoding="utf-8") as out:
        out.write(json.dumps(asdict(result), ensure_ascii=False) + "\n")
    return result


def markdown_table(results: list[ScenarioResult]) -> str:
    """The rows as the Markdown table the README shows."""
    lines = [
        "| scenario | db | articles | deliveries expected | delivered | lost | duplicated "
        "| recovery | note |",
        "|---|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in results:
        recovery = "-" if r.recovery_seconds is None else f"{r.recovery_seconds:.1f} s"
        lines.append(
            f"| {r.scenario} | {r.database} | {r.articles} | {r.expected} | {r.delivered} "
            f"| {r.lost} | {r.duplicated} | {recovery} | {r.note} |"
        )
    return "\n".join(lines)
