"""Metric files that reserve their disk space, so a full disk is an error, not a SIGBUS.

prometheus-client's multiprocess mode keeps each process's values in a file
it grows with ``truncate`` (a sparse file) and then writes through ``mmap``.
On a full filesystem the first write into a page that has no block behind it
kills the process with SIGBUS: a full data directory turned every new Celery
pool child into a crash (fault scenario 8). Reserving the blocks with
``posix_fallocate`` before they are mapped turns that into an ``OSError``
(ENOSPC) when the file is created or grown, which :mod:`ops.metrics` already
catches and logs: the process then carries on without those samples.
"""

from __future__ import annotations

import os
from typing import Any

from prometheus_client import mmap_dict, values

#: Bytes reserved ahead when a file is about to grow (a series takes well under 1 KiB).
_HEADROOM = 4096


class ReservedMmapedDict(mmap_dict.MmapedDict):
    """prometheus-client's MmapedDict, with its file's blocks allocated before use."""

    def __init__(self, filename: str, read_mode: bool = False):
        if not read_mode:
            with open(filename, "a+b") as handle:
                size = max(os.fstat(handle.fileno()).st_size, mmap_dict._INITIAL_MMAP_SIZE)
                os.posix_fallocate(handle.fileno(), 0, size)
        super().__init__(filename, read_mode)  # type: ignore[no-untyped-call]

    def _init_value(self, key: Any) -> None:
        # The parent doubles the file with truncate() when the new value would
        # not fit: reserve the doubled size first, while an error is still an error.
        if self._used + len(key) + _HEADROOM > self._capacity:
            os.posix_fallocate(self._f.fileno(), 0, self._capacity * 2)
        super()._init_value(key)  # type: ignore[no-untyped-call]


def install() -> None:
    """Make prometheus-client's multiprocess values use :class:`ReservedMmapedDict`."""
    values.MmapedDict = ReservedMmapedDict  # type: ignore[attr-defined]  # MultiProcessValue calls it
