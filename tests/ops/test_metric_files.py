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

from tests.faults.test_disk_full import fill

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
    mount_point = tmp_path / "full"
    mount_point.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount_point)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root): {done.stderr.strip()}")
    try:
        (mount_point / "metrics").mkdir()
        fill(mount_point)
        yield mount_point / "metrics"
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


def test_recording_a_metric_on_a_full_disk_is_logged_not_fatal(full_disk: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", RECORD, str(full_disk)],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, (done.returncode, done.stderr[-2000:])
    assert "still alive" in done.stdout
