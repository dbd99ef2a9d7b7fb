"""Append a source (and its profile) to a YAML config file without disturbing the rest.

`loa add-source --write` and the editors' ``/addsource`` confirm both land
here. An operator's ``loa.yaml`` is hand-written: its comments explain the
choices made, so a tool that adds a source must not reflow, reorder or drop
anything. ruamel.yaml's round-trip parser tells where ``sources:`` and
``profiles:`` end; the new entries, rendered by ruamel in the file's own
indentation, are spliced in as text there, so every other byte stays as it
was (a full round-trip dump re-indents nested mappings it cannot guess). When
the layout is one splicing cannot handle (a flow-style ``[...]`` list with
entries), the whole document is dumped round-trip instead, comments kept.

Either way the result is parsed back and checked to hold exactly the old
document plus the new entries, then validated as Loa settings, and only then
does it replace the file: atomically (a temporary file in the same directory,
renamed over), with the file's mode kept. A source whose name or URL is
already there is refused and the file left untouched.
"""

from __future__ import annotations

import io
import os
import stat
import tempfile
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError

from config.errors import ConfigError

#: one writer at a time in this process (the bot's confirm taps run in threads)
_WRITE_LOCK = threading.Lock()


class AppendRefused(ConfigError):
    """The source cannot be added to this file as it stands (a duplicate, a bad file)."""

    def __init__(self, message: str, *, source: str):
        self.source = source
        self.field = "sources"
        Exception.__init__(self, f"{source}: {message}")


def _yaml() -> YAML:
    """A round-trip parser that keeps quotes and never folds long lines."""
    yaml = YAML()
    yaml.preserve_quotes = True
    yaml.width = 4096
    return yaml


def render_entry(value: Any, *, indent: int = 0) -> str:
    """`value` as block YAML whose first line starts at column `indent`.

    Nested mappings indent by 2 and lists as ``  - item``, the layout of
    ``loa.example.yaml``; CommentedMap end-of-line comments (a category's
    slug) come along.
    """
    yaml = _yaml()
    yaml.indent(mapping=2, sequence=4, offset=2)
    out = io.StringIO()
    yaml.dump(value, out)
    lines = out.getvalue().splitlines(True)
    first = len(lines[0]) - len(lines[0].lstrip(" ")) if lines else 0
    shift = indent - first
    if shift >= 0:
        return "".join(" " * shift + line if line.strip() else line for line in lines)
    return "".join(line[-shift:] if line.startswith(" " * -shift) else line for line in lines)


def same_url(a: str, b: str) -> bool:
    """Two source URLs are one when they differ only in case of scheme/host or a final '/'."""

    def norm(url: str) -> str:
        url = url.strip()
        scheme, sep, rest = url.partition("://")
        host, slash, path = rest.partition("/")
        return f"{scheme.lower()}{sep}{host.lower()}{slash}{path}".rstrip("/")

    return norm(a) == norm(b)


def append_source(
    path: str | Path, source: Mapping[str, Any], profile: Mapping[str, Any] | None = None
) -> None:
    """Add `source` under ``sources:`` (and `profile` under ``profiles:``) in the file at `path`.

    The profile's key is the source's ``profile`` value. Creates the file, or
    the keys, when absent. Raises AppendRefused (file untouched) when a source
    with that name or URL, or a profile with that name, already exists, and
    ConfigError when the result would not load as Loa settings.
    """
    path = Path(path)
    entry = dict(source)
    profile_name = str(entry.get("profile") or "") if profile is not None else ""
    if profile is not None and not profile_name:
        raise AppendRefused("a derived profile needs the source's 'profile' name", source=str(path))
    with _WRITE_LOCK:
        text = _read(path)
        newline = "\r\n" if "\r\n" in text else "\n"
        text = text.replace("\r\n", "\n")
        document = _load(text, path)
        _refuse_duplicates(document, entry, profile_name, path)
        prof = _profile_entry(profile, profile_name)
        new_text = _splice(text, document, source, prof)
        if new_text is None or not _holds(new_text, document, entry, prof, path):
            new_text = _round_trip(text, source, prof, path)
        new_text = new_text.replace("\n", newline)
        try:
            _validate(new_text, path)
            _replace(path, new_text)
        except OSError as exc:  # a read-only mount (Docker's :ro), a directory not ours
            reason = exc.strerror or str(exc)
            raise AppendRefused(f"cannot write the file: {reason}", source=str(path)) from None


def _read(path: Path) -> str:
    """The file's text with its line endings as they are ("" for a missing file)."""
    if not path.exists():
        return ""
    try:
        return path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise AppendRefused(f"not UTF-8 text (byte {exc.start})", source=str(path)) from None


def _load(text: str, path: Path) -> CommentedMap:
    """The file as ruamel's round-trip mapping (an empty one for an empty file)."""
    try:
        document = _yaml().load(text) if text.strip() else CommentedMap()
    except YAMLError as exc:
        problem = " ".join(str(exc).split())
        raise AppendRefused(f"not valid YAML: {problem}", source=str(path)) from None
    if document is None:
        return CommentedMap()
    if not isinstance(document, CommentedMap):
        raise AppendRefused("the top level must be a mapping of settings", source=str(path))
    return document


def _refuse_duplicates(
    document: CommentedMap, entry: Mapping[str, Any], profile_name: str, path: Path
) -> None:
    sources = document.get("sources") or []
    if not isinstance(sources, list):
        raise AppendRefused("'sources' is not a list", source=str(path))
    for existing in sources:
        if not isinstance(existing, Mapping):
            continue
        if existing.get("name") == entry.get("name"):
            raise AppendRefused(
                f"a source named {entry.get('name')!r} already exists (choose another with --name)",
                source=str(path),
            )
        if isinstance(existing.get("url"), str) and same_url(existing["url"], str(entry["url"])):
            raise AppendRefused(
                f"source {existing.get('name')!r} already watches {entry['url']}",
                source=str(path),
            )
    profiles = document.get("profiles") or {}
    if not isinstance(profiles, Mapping):
        raise AppendRefused("'profiles' is not a mapping", source=str(path))
    if profile_name and profile_name in profiles:
        raise AppendRefused(
            f"a profile named {profile_name!r} already exists (choose another with --name)",
            source=str(path),
        )


def _profile_entry(profile: Mapping[str, Any] | None, name: str) -> dict[str, Any] | None:
    """The profile as written: ``name:`` first (SiteProfile requires it), then its fields."""
    if profile is None:
        return None
    return {"name": name, **{k: v for k, v in profile.items() if k != "name"}}


# --- splicing ---------------------------------------------------------------------------


def _splice(
    text: str, document: CommentedMap, source: Mapping[str, Any], profile: dict[str, Any] | None
) -> str | None:
    """`text` with the entries inserted as text; None when the layout needs a full dump."""
    lines = text.splitlines(True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    edits: list[tuple[int, int, list[str]]] = []  # (start, end) lines replaced by new lines
    for key, item in (("sources", source), ("profiles", profile)):
        if item is None:
            continue
        edit = _edit_for(lines, document, key, item)
        if edit is None:
            return None
        edits.append(edit)
    for start, end, new in sorted(edits, key=lambda e: e[0], reverse=True):
        lines[start:end] = new
    return "".join(lines)


def _edit_for(
    lines: list[str],
    document: CommentedMap,
    key: str,
    item: Mapping[str, Any],
) -> tuple[int, int, list[str]] | None:
    """Where and what to insert for `key`: a new item at the end of its block."""
    name = str(item["name"])
    rendered = render_entry([item] if key == "sources" else {name: item}, indent=2)
    if key not in document:
        gap = [] if not lines or lines[-1].strip() == "" else ["\n"]
        return len(lines), len(lines), [*gap, f"{key}:\n", rendered]
    value = document[key]
    key_line = document.lc.key(key)[0]
    if value is None or (isinstance(value, (list, dict)) and not value):
        # `sources:` / `sources: []` / `profiles: {}`: the key line becomes a block start
        line = lines[key_line]
        if not line.startswith(f"{key}:"):
            return None
        rest = line[len(key) + 1 :]
        comment = rest[rest.find("#") :].rstrip("\n") if "#" in rest else ""
        if rest.split("#", 1)[0].strip() not in ("", "[]", "{}"):
            return None
        head = f"{key}:" + (f"  {comment}" if comment else "") + "\n"
        return key_line, key_line + 1, [head, rendered]
    if not isinstance(value, (CommentedSeq, CommentedMap)) or value.fa.flow_style():
        return None
    if isinstance(value, CommentedSeq):
        column = value.lc.col  # the column of the first '-'
    else:
        column = value.lc.key(next(iter(value)))[1]
    rendered = render_entry([item] if key == "sources" else {name: item}, indent=column)
    end = _block_end(lines, document, key, key_line)
    return end, end, [rendered]


def _block_end(lines: list[str], document: CommentedMap, key: str, key_line: int) -> int:
    """The line after the last content line of `key`'s block (before trailing comments)."""
    keys = list(document)
    following = keys.index(key) + 1
    stop = document.lc.key(keys[following])[0] if following < len(keys) else len(lines)
    end = key_line + 1
    for index in range(key_line + 1, stop):
        stripped = lines[index].strip()
        if stripped and not stripped.startswith("#"):
            end = index + 1
    return end


def _holds(
    new_text: str,
    document: CommentedMap,
    source: Mapping[str, Any],
    profile: dict[str, Any] | None,
    path: Path,
) -> bool:
    """True when `new_text` reads as `document` plus exactly the new entries."""
    try:
        after = _plain(_load(new_text, path))
    except AppendRefused:
        return False
    expected = _plain(document)
    expected["sources"] = [*(expected.get("sources") or []), _plain(source)]
    if profile is not None:
        expected["profiles"] = {**(expected.get("profiles") or {}), profile["name"]: profile}
    return bool(after == _plain(expected))


def _plain(value: Any) -> Any:
    """ruamel's commented containers as plain dicts and lists, for comparing."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _round_trip(
    text: str, source: Mapping[str, Any], profile: dict[str, Any] | None, path: Path
) -> str:
    """The fallback: load, append in memory, dump the whole document round-trip."""
    yaml = _yaml()
    yaml.indent(mapping=2, sequence=4, offset=2)
    document = _load(text, path)
    sources = document.get("sources")
    if not isinstance(sources, list):
        sources = document["sources"] = CommentedSeq()
    sources.append(source)
    if profile is not None:
        profiles = document.get("profiles")
        if not isinstance(profiles, dict):
            profiles = document["profiles"] = CommentedMap()
        profiles[profile["name"]] = profile
    out = io.StringIO()
    yaml.dump(document, out)
    return out.getvalue()


# --- validate and replace ---------------------------------------------------------------


def _validate(text: str, path: Path) -> None:
    """Load `text` as Loa settings from a scratch file; ConfigError if it would not start."""
    from config.loader import load_settings  # loader imports settings; keep this module light

    fd, scratch = tempfile.mkstemp(suffix=".yaml", prefix=".loa-check-", dir=_directory(path))
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
        try:
            load_settings(scratch, environ={})
        except ConfigError as exc:
            message = str(exc).replace(scratch, str(path))
            raise AppendRefused(f"the result would not load: {message}", source=str(path)) from None
    finally:
        Path(scratch).unlink(missing_ok=True)


def _directory(path: Path) -> Path:
    directory = path.resolve().parent
    directory.mkdir(parents=True, exist_ok=True)
    return directory


def _replace(path: Path, text: str) -> None:
    """Write `text` to `path` atomically: temp file in the same directory, fsync, rename."""
    mode = stat.S_IMODE(path.stat().st_mode) if path.exists() else None
    fd, temp = tempfile.mkstemp(suffix=".tmp", prefix=f".{path.name}.", dir=_directory(path))
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        if mode is not None:
            os.chmod(temp, mode)
        else:
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(temp, 0o666 & ~umask)
        os.replace(temp, path.resolve())
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
