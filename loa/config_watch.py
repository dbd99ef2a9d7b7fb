"""Notice that the config file changed, and that the change still loads.

`loa add-source --write` and the editors' ``/addsource`` append a source to
the running config file; under ``loa run`` the new source must start being
polled without anyone restarting anything. The supervisor asks a
:class:`ConfigWatch` every loop turn; every `interval` seconds the watch
looks at the file (a ``stat``, and a read only when that changed) and
answers with the new settings when the content differs from what is running
*and* loads. A file that does not load (an editor mid-save, a typo) is
logged once per content and ignored: the running processes keep their
config rather than crash-looping on a broken one.
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Generic, TypeVar

from config.errors import ConfigError

log = logging.getLogger(__name__)
T = TypeVar("T")
#: seconds between looks at the file
DEFAULT_INTERVAL = 2.0


class ConfigWatch(Generic[T]):
    """Polls `path`; :meth:`changed` returns `load(path)` once per new content that loads."""

    def __init__(
        self, path: Path, load: Callable[[Path], T], *, interval: float = DEFAULT_INTERVAL
    ):
        self.path = path
        self.load = load
        self.interval = interval
        self._stamp = self._stat()
        self._digest = self._read_digest()
        self._rejected: str | None = None
        self._next = time.monotonic() + interval

    def _stat(self) -> tuple[int, int, int] | None:
        """mtime, size and inode: a rename over the file (an atomic write) changes the inode."""
        try:
            st = os.stat(self.path)
        except OSError:
            return None
        return st.st_mtime_ns, st.st_size, st.st_ino

    def _read_digest(self) -> str | None:
        try:
            return hashlib.sha256(self.path.read_bytes()).hexdigest()
        except OSError:
            return None

    def changed(self, now: float | None = None) -> T | None:
        """The new settings when the file's content changed and loads; else None.

        Looks at most once per `interval`; a `touch` that leaves the content
        as it was is no change.
        """
        now = time.monotonic() if now is None else now
        if now < self._next:
            return None
        self._next = now + self.interval
        stamp = self._stat()
        if stamp == self._stamp:
            return None
        self._stamp = stamp
        digest = self._read_digest()
        if digest is None or digest in (self._digest, self._rejected):
            return None
        try:
            loaded = self.load(self.path)
        except ConfigError as exc:
            self._rejected = digest
            log.error("config file changed but does not load; keeping the running config: %s", exc)
            return None
        self._digest, self._rejected = digest, None
        log.info("config file %s changed", self.path)
        return loaded
