"""A log file that cannot be written says so once, not with a traceback per record.

/dev/full answers every write with ENOSPC, like a full disk under the data directory.
"""

from __future__ import annotations

import io
import logging
from pathlib import Path

import pytest

from loa.logs import setup_logging


def test_a_full_disk_under_the_log_file_is_one_line_on_stderr(
    capsys: pytest.CaptureFixture[str],
) -> None:
    console = io.StringIO()
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    try:
        setup_logging(stream=console, log_file=Path("/dev/full"))
        for n in range(5):
            logging.getLogger("loa.test").warning("record %d", n)
    finally:
        for handler in list(root.handlers):
            root.removeHandler(handler)
            handler.close()
        for handler in saved[0]:
            root.addHandler(handler)
        root.setLevel(saved[1])
    errors = capsys.readouterr().err
    assert errors.count("cannot write the log file /dev/full") == 1, errors
    assert "Logging error" not in errors and "Traceback" not in errors
    assert console.getvalue().count("record") == 5  # the console carried on
