"""append_source: a hand-written loa.yaml gains a source and keeps every other byte.

The file is the shipped loa.example.yaml (its comments are the point), copied
to a temporary directory; the result is checked line by line around the
insertion and loaded back as settings.
"""

from __future__ import annotations

import difflib
import os
import stat
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml.comments import CommentedMap

from config.errors import ConfigError
from config.loader import load_settings
from config.yaml_append import AppendRefused, append_source, render_entry

EXAMPLE = Path(__file__).resolve().parents[2] / "loa.example.yaml"


def source(
    name: str = "baomoi", url: str = "https://bao.example.vn/tin-moi/", **more: Any
) -> dict[str, Any]:
    return {"name": name, "kind": "html", "url": url, "poll_interval": 300, **more}


PROFILE = {"links": "div.list h3 a", "title": "h1.title", "drop": ["div.share", "div.ads"]}


@pytest.fixture
def example(tmp_path: Path) -> Path:
    path = tmp_path / "loa.yaml"
    path.write_bytes(EXAMPLE.read_bytes())
    path.chmod(0o640)
    return path


def comments(text: str) -> list[str]:
    return [line for line in text.splitlines() if "#" in line]


def test_every_comment_and_line_of_the_example_survives_in_order(example: Path) -> None:
    before = example.read_text(encoding="utf-8")
    categories = CommentedMap({"Thời sự": "Thời sự"})
    categories.yaml_add_eol_comment("thoi-su", "Thời sự", column=24)
    append_source(example, source(profile="baomoi", categories=categories), PROFILE)
    after = example.read_text(encoding="utf-8")
    old, new = before.splitlines(), after.splitlines()
    # the old file is a subsequence of the new one, except `profiles: {}` became `profiles:`
    it = iter(new)
    for line in old:
        wanted = "profiles:" if line == "profiles: {}" else line
        assert any(candidate == wanted for candidate in it), line
    assert set(comments(before)) <= set(comments(after))
    added = [d[2:] for d in difflib.ndiff(old, new) if d.startswith("+ ")]
    assert added == [
        "  - name: baomoi",
        "    kind: html",
        "    url: https://bao.example.vn/tin-moi/",
        "    poll_interval: 300",
        "    profile: baomoi",
        "    categories:",
        "      Thời sự: Thời sự  # thoi-su",
        "profiles:",
        "  baomoi:",
        "    name: baomoi",
        "    links: div.list h3 a",
        "    title: h1.title",
        "    drop:",
        "      - div.share",
        "      - div.ads",
    ]
    # the new source sits right after the existing one, before the commented-out example
    assert new.index("  - name: baomoi") == old.index("  # - name: tinmoi")
    settings = load_settings(example, environ={})
    assert [s.name for s in settings.sources] == ["dangbokhoi", "baomoi"]
    assert settings.sources[1].categories == {"Thời sự": "Thời sự"}
    assert settings.profiles["baomoi"].drop == ["div.share", "div.ads"]
    assert stat.S_IMODE(example.stat().st_mode) == 0o640
    assert [p.name for p in example.parent.iterdir()] == ["loa.yaml"]  # no temp files left


def test_a_second_source_goes_after_the_first_added_one(example: Path) -> None:
    append_source(example, source("one", "https://one.example.vn/"))
    append_source(example, source("two", "https://two.example.vn/"))
    names = [s.name for s in load_settings(example, environ={}).sources]
    assert names == ["dangbokhoi", "one", "two"]


@pytest.mark.parametrize(
    ("duplicate", "message"),
    [
        (source("dangbokhoi", "https://other.example.vn/"), "a source named 'dangbokhoi'"),
        (source("new", "HTTPS://DangBoKhoi.quangnam.gov.vn"), "already watches"),
    ],
)
def test_a_duplicate_name_or_url_is_refused_and_the_file_untouched(
    example: Path, duplicate: dict[str, Any], message: str
) -> None:
    before = example.read_bytes()
    mtime = example.stat().st_mtime_ns
    with pytest.raises(AppendRefused, match=message):
        append_source(example, duplicate)
    assert example.read_bytes() == before
    assert example.stat().st_mtime_ns == mtime


def test_an_invalid_result_is_refused_before_the_file_is_replaced(example: Path) -> None:
    before = example.read_bytes()
    with pytest.raises(ConfigError, match="would not load.*profile"):
        append_source(example, source(profile="no-such-profile"))
    with pytest.raises(ConfigError, match="would not load"):
        append_source(example, source(poll_interval=1))
    assert example.read_bytes() == before
    assert [p.name for p in example.parent.iterdir()] == ["loa.yaml"]


def test_missing_file_and_missing_keys_are_created(tmp_path: Path) -> None:
    path = tmp_path / "new.yaml"
    append_source(path, source(profile="mine"), PROFILE)
    assert load_settings(path, environ={}).sources[0].profile == "mine"
    other = tmp_path / "other.yaml"
    other.write_text("# my settings\nfeed_title: Tin  # shown in feeds\n", encoding="utf-8")
    append_source(other, source())
    text = other.read_text(encoding="utf-8")
    assert text.startswith(
        "# my settings\nfeed_title: Tin  # shown in feeds\n\nsources:\n  - name:"
    )
    assert load_settings(other, environ={}).feed_title == "Tin"


def test_empty_sources_key_with_a_comment_keeps_the_comment(tmp_path: Path) -> None:
    path = tmp_path / "loa.yaml"
    path.write_text("sources: []   # none yet\ntimezone: Asia/Ho_Chi_Minh\n", encoding="utf-8")
    append_source(path, source())
    assert path.read_text(encoding="utf-8").splitlines()[:2] == [
        "sources:  # none yet",
        "  - name: baomoi",
    ]
    assert load_settings(path, environ={}).timezone == "Asia/Ho_Chi_Minh"


def test_a_flow_style_list_falls_back_to_a_round_trip_dump(tmp_path: Path) -> None:
    path = tmp_path / "loa.yaml"
    path.write_text(
        "# top comment\nsources: [{name: a, url: 'https://a.example.vn/'}]\nlanguage: en  # EN\n",
        encoding="utf-8",
    )
    append_source(path, source())
    text = path.read_text(encoding="utf-8")
    assert "# top comment" in text and "# EN" in text
    assert [s.name for s in load_settings(path, environ={}).sources] == ["a", "baomoi"]


def test_crlf_files_stay_crlf_and_symlinks_stay_links(tmp_path: Path) -> None:
    real = tmp_path / "real.yaml"
    real.write_bytes(b"# c\r\nsources:\r\n  - name: a\r\n    url: https://a.example.vn/\r\n")
    link = tmp_path / "loa.yaml"
    os.symlink(real, link)
    append_source(link, source())
    assert link.is_symlink()
    data = real.read_bytes()
    assert b"\r\n  - name: baomoi\r\n" in data and b"\n" not in data.replace(b"\r\n", b"")


def test_render_entry_indents_to_the_column_asked() -> None:
    assert render_entry([{"name": "a"}], indent=0) == "- name: a\n"
    assert render_entry({"p": {"drop": ["x"]}}, indent=4) == "    p:\n      drop:\n        - x\n"


def test_a_place_that_cannot_be_written_is_a_clear_refusal(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("", encoding="utf-8")
    with pytest.raises(AppendRefused, match="cannot write the file: "):
        append_source(blocker / "loa.yaml", source())
