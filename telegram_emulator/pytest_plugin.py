"""pytest fixture: a fresh, running emulator per test.

Use with ``pytest_plugins = ["telegram_emulator.pytest_plugin"]`` in a root conftest, or
import the fixture into a nested conftest: ``from telegram_emulator.pytest_plugin import
telegram_emulator``.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .server import Emulator


@pytest.fixture
def telegram_emulator() -> Iterator[Emulator]:
    """A started Emulator on 127.0.0.1 with a free port; stopped after the test."""
    emulator = Emulator().start()
    try:
        yield emulator
    finally:
        emulator.stop()
