"""Fault suite plumbing: the end-of-run table of :mod:`tests.faults.report`.

Scenario fixtures live in :mod:`tests.faults.harness` (processes, the site
server, the emulator); this file only prints what the scenarios recorded.
"""

from __future__ import annotations

import pytest

from tests.faults.harness import newsroom_factory  # noqa: F401 - the scenarios' fixture
from tests.faults.report import REPORT_PATH, RESULTS, markdown_table


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Print the table after the run and keep it in var/faults/report.md."""
    if not RESULTS:
        return
    table = markdown_table(RESULTS)
    terminalreporter.write_sep("=", "fault scenarios")
    terminalreporter.write_line(table)
    REPORT_PATH.mkdir(parents=True, exist_ok=True)
    (REPORT_PATH / "report.md").write_text(table + "\n", encoding="utf-8")
