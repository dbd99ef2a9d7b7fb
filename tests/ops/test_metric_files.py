"""A full disk under the metrics directory never kills a process (SIGBUS before the fix).

Needs a small tmpfs of its own (root, as the fault suite's disk-full scenario);
skipped, saying so, where mounting is not allowed.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.tmpfs import fill, mounted_tmpfs

RECORD = """
import sys
from pathlib import Path
from ops.metrics import enable_multiprocess, record_poll
enable_multiprocess(Path(sys.argv[1]))
record_poll("portal", "changed")
print("still alive")
"""


@pytest.fixture
def full_disk(tmp_path: Path) -> Iterator[Path]:
    with mounted_tmpfs(tmp_path / "full", "1m") as mount_point:
        (mount_point / "metrics").mkdir()
        fill(mount_point)
        yield mount_point / "metrics"


def test_recording_a_metric_on_a_full_disk_is_logged_not_fatal(full_disk: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", RECORD, str(full_disk)],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, (done.returncode, done.stderr[-2000:])
    assert "still alive" in done.stdout
