"""The static export: every feed rebuild also writes the feeds as files.

Why: ``loa serve`` answers the cached feeds at a fraction of a static file
server's rate, and not at all while Loa is down. With ``feeds_export_dir``
set, :func:`feeds.cache.rebuild_all` hands its documents to
:func:`export_documents`, which writes each one and its gzip twin into that
directory under the path its URL has below ``/feeds/``::

    /feeds/all.rss              → <dir>/all.rss       and <dir>/all.rss.gz
    /feeds/kinh-te.atom         → <dir>/kinh-te.atom  and <dir>/kinh-te.atom.gz
    /feeds/source/demo.json     → <dir>/source/demo.json and …json.gz
    /feeds/opml                 → <dir>/opml          and <dir>/opml.gz

so nginx (``location /feeds/ { alias <dir>/; gzip_static on; }``), any other
web server or a CDN serves exactly the bytes ``loa serve`` would send (the
``.gz`` file is the very gzip body ``loa serve`` sends, so it decompresses
to the plain file).

Every file is replaced atomically: written to a temp file in the same
directory, fsynced, given its mtime, then ``os.replace``d over the old one,
and the directory fsynced; a reader sees the old file or the new one, never
part of one. A plain file and its twin share one mtime (nginx's ETag and
Last-Modified come from it). Files whose bytes did not change are left
alone, so their validators stay put and readers keep getting 304s.

Feeds that no longer exist (a category or source removed from the database)
are deleted: a frozen feed that never updates again would mislead readers,
a 404 tells their reader to drop it. Only files this export wrote are ever
deleted — it keeps their list in ``.loa-export`` in the directory — so an
export directory shared with other files (or pointed somewhere by mistake)
loses nothing else.
"""

from __future__ import annotations

import logging
import os
import tempfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from config.errors import LoaError

log = logging.getLogger(__name__)

MANIFEST = ".loa-export"
GZIP_SUFFIX = ".gz"
TEMP_PREFIX = ".loa-"
TEMP_SUFFIX = ".tmp"
#: A temp file older than this was left by a crash mid-write: removed on the next export.
STALE_TEMP_SECONDS = 3600.0
FILE_MODE = 0o644  # the web server usually runs as another user
DIR_MODE = 0o755


class FeedExportError(LoaError):
    """The export directory could not be written (permissions, disk full, ...)."""

    def __init__(self, message: str, *, directory: Path):
        self.directory = directory
        super().__init__(f"{message} (feeds_export_dir: {directory})")


@dataclass(frozen=True)
class ExportFile:
    """One document to export: where under the directory, its bytes, its gzip twin."""

    relpath: str
    body: bytes
    body_gzip: bytes
    mtime: float


@dataclass(frozen=True)
class ExportReport:
    """What one export did, by relative path."""

    written: list[str]
    unchanged: list[str]
    removed: list[str]


def relpath_for(url_path: str) -> str:
    """The file path under the export directory for a URL path under ``/feeds/``."""
    rel = PurePosixPath(url_path).relative_to("/feeds")
    if not _is_safe(str(rel)):
        raise ValueError(f"not a path below /feeds/: {url_path!r}")
    return str(rel)


def export_documents(
    directory: Path, files: Sequence[ExportFile], *, complete: bool = True
) -> ExportReport:
    """Write `files` (and their .gz twins) into `directory` atomically.

    `complete`: `files` is every feed there is, so exported feeds missing from
    it are deleted; otherwise (a rebuild of some feeds) nothing is deleted.
    Raises FeedExportError when the directory cannot be written.
    """
    try:
        return _export(directory, files, complete=complete)
    except OSError as exc:
        raise FeedExportError(f"could not export the feeds: {exc}", directory=directory) from exc


def _export(directory: Path, files: Sequence[ExportFile], *, complete: bool) -> ExportReport:
    directory.mkdir(parents=True, exist_ok=True)
    written: list[str] = []
    unchanged: list[str] = []
    touched_dirs: set[Path] = set()
    for item in files:
        target = directory / item.relpath
        twin = target.with_name(target.name + GZIP_SUFFIX)
        if _same_bytes(target, item.body) and _same_bytes(twin, item.body_gzip):
            unchanged.append(item.relpath)
            continue
        target.parent.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
        # The twin first: nginx prefers it, so for a moment a gzip reader may get the
        # new version while an identity reader still gets the old; both are whole.
        _replace(twin, item.body_gzip, item.mtime)
        _replace(target, item.body, item.mtime)
        touched_dirs.add(target.parent)
        written.append(item.relpath)
    current = {item.relpath for item in files}
    previous = _read_manifest(directory)
    removed = _prune(directory, previous - current) if complete else []
    if not complete:
        current |= previous
    if removed or written or not (directory / MANIFEST).exists():
        _replace(directory / MANIFEST, "".join(f"{p}\n" for p in sorted(current)).encode(), None)
        touched_dirs.add(directory)
    touched_dirs.update((directory / p).parent for p in removed)
    for path in touched_dirs:
        _fsync_dir(path)
    _remove_stale_temps(directory, {directory, *((directory / p).parent for p in current)})
    return ExportReport(written, unchanged, removed)


def _same_bytes(path: Path, data: bytes) -> bool:
    """True when `path` holds exactly `data` (a size check first: usually enough)."""
    try:
        if path.stat().st_size != len(data):
            return False
        return path.read_bytes() == data
    except FileNotFoundError:
        return False


def _replace(target: Path, data: bytes, mtime: float | None) -> None:
    """Atomically make `target` hold `data`: temp file in the same directory, fsync, rename."""
    fd, temp = tempfile.mkstemp(prefix=TEMP_PREFIX, suffix=TEMP_SUFFIX, dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fchmod(out.fileno(), FILE_MODE)
            os.fsync(out.fileno())
        if mtime is not None:
            os.utime(temp, (mtime, mtime))
        os.replace(temp, target)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def _fsync_dir(path: Path) -> None:
    """Make the renames in `path` durable (a crash must not bring back old names)."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _read_manifest(directory: Path) -> set[str]:
    """The paths the previous export wrote (unsafe lines ignored: never delete outside)."""
    try:
        lines = (directory / MANIFEST).read_text("utf-8").splitlines()
    except FileNotFoundError:
        return set()
    return {line for line in lines if _is_safe(line)}


def _prune(directory: Path, stale: Iterable[str]) -> list[str]:
    """Delete feeds the previous export wrote and this one did not; return their paths."""
    removed = []
    for rel in sorted(stale):
        target = directory / rel
        for path in (target, target.with_name(target.name + GZIP_SUFFIX)):
            path.unlink(missing_ok=True)
        removed.append(rel)
        log.info("feeds export: removed %s (the feed no longer exists)", rel)
    return removed


def _remove_stale_temps(directory: Path, folders: set[Path]) -> None:
    """Remove temp files a crash left behind (old ones only: another writer may be busy)."""
    limit = time.time() - STALE_TEMP_SECONDS
    for folder in folders:
        for temp in folder.glob(f"{TEMP_PREFIX}*{TEMP_SUFFIX}"):
            try:
                if temp.stat().st_mtime < limit:
                    temp.unlink()
            except FileNotFoundError:
                pass


def _is_safe(rel: str) -> bool:
    """A relative path with no way out of the directory, not hidden, not empty."""
    path = PurePosixPath(rel)
    return (
        bool(rel)
        and not path.is_absolute()
        and all(part not in ("", ".", "..") and not part.startswith(".") for part in path.parts)
    )
