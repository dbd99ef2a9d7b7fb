"""The static feed export: files mirror `loa serve` byte for byte, replaced atomically."""

from __future__ import annotations

import gzip
import json
import os
import shutil
import threading
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

import lxml.etree
import pytest
import requests
from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from config.loader import load_settings
from config.settings import Settings
from feeds.cache import FeedScope, rebuild_all, rebuild_scope
from feeds.export import MANIFEST, ExportFile, FeedExportError, export_documents
from feeds.server import create_app
from feeds.serving import uvicorn_options
from news.models import Article, Category
from news.store import get_or_create_source, upsert_article
from tests.conftest import free_port
from tests.helpers import extracted, running_server
from tests.nginx import shipped_nginx

ICT = timezone(timedelta(hours=7))


@pytest.fixture
def export_dir(tmp_path: Path) -> Path:
    return tmp_path / "www" / "feeds"


@pytest.fixture
def settings(export_dir: Path) -> Settings:
    return load_settings(
        None,
        environ={"LOA_HTTP_PORT": str(free_port()), "LOA_FEEDS_EXPORT_DIR": str(export_dir)},
    )


@pytest.fixture
def base(settings: Settings, factory: sessionmaker[Session]) -> Iterator[str]:
    app = create_app(settings, factory)
    with running_server(app, settings.http_port, options=uvicorn_options(settings)) as url:
        yield url


def add(
    factory: sessionmaker[Session],
    n: int,
    category: str = "Công tác tuyên giáo",
    source_name: str = "portal",
) -> int:
    article = replace(
        extracted(n, published_at=datetime(2023, 3, 13, 16, n % 60, tzinfo=ICT)),
        category=category,
    )
    with factory.begin() as session:
        source = get_or_create_source(
            session, name=source_name, kind="html", url=f"http://{source_name}.test/"
        )
        return upsert_article(session, article, source=source).article_id


def exported(directory: Path) -> set[str]:
    """Every file under the directory, relative, the manifest aside."""
    return {
        str(p.relative_to(directory))
        for p in directory.rglob("*")
        if p.is_file() and p.name != MANIFEST
    }


def test_every_feed_is_exported_as_loa_serve_sends_it(
    factory: sessionmaker[Session], settings: Settings, base: str, export_dir: Path
) -> None:
    for n in range(3):
        add(factory, n)
    add(factory, 9, category="Kinh tế")
    rebuild_all(factory, settings)
    names = {
        f"{name}.{fmt}{gz}"
        for name in ("all", "cong-tac-tuyen-giao", "kinh-te", "source/portal")
        for fmt in ("rss", "atom", "json")
        for gz in ("", ".gz")
    } | {"opml", "opml.gz"}
    assert exported(export_dir) == names
    for name in sorted(n for n in names if not n.endswith(".gz")):
        plain = (export_dir / name).read_bytes()
        twin = (export_dir / f"{name}.gz").read_bytes()
        assert gzip.decompress(twin) == plain, name
        assert (export_dir / name).stat().st_mtime == (export_dir / f"{name}.gz").stat().st_mtime
        served = requests.get(f"{base}/feeds/{name}", headers={"Accept-Encoding": "identity"})
        assert served.status_code == 200, name
        assert served.content == plain, name
        if name != "opml":  # loa serve sends the OPML list uncompressed
            raw = requests.get(
                f"{base}/feeds/{name}", headers={"Accept-Encoding": "gzip"}, stream=True
            )
            assert raw.headers["content-encoding"] == "gzip"
            assert raw.raw.read(decode_content=False) == twin, name
        assert oct((export_dir / name).stat().st_mode & 0o777) == "0o644"


def test_unchanged_feeds_are_not_rewritten(
    factory: sessionmaker[Session], settings: Settings, export_dir: Path
) -> None:
    add(factory, 1)
    rebuild_all(factory, settings)
    before = {name: os.stat(export_dir / name) for name in exported(export_dir)}
    add(factory, 2, category="Kinh tế")  # a new category: "all" changes, the old one not
    rebuild_all(factory, settings)
    after = {name: os.stat(export_dir / name) for name in exported(export_dir)}
    untouched = "cong-tac-tuyen-giao.rss"
    assert after[untouched].st_ino == before[untouched].st_ino
    assert after[untouched].st_mtime == before[untouched].st_mtime
    assert after["all.rss"].st_ino != before["all.rss"].st_ino
    assert "kinh-te.json.gz" in after and "kinh-te.json.gz" not in before


def test_a_rebuild_without_changes_touches_no_file(
    factory: sessionmaker[Session], settings: Settings, export_dir: Path
) -> None:
    add(factory, 1)
    rebuild_all(factory, settings)
    before = {name: os.stat(export_dir / name).st_ino for name in exported(export_dir)}
    rebuild_all(factory, settings)
    assert {name: os.stat(export_dir / name).st_ino for name in exported(export_dir)} == before


def test_a_removed_category_is_pruned_and_foreign_files_stay(
    factory: sessionmaker[Session], settings: Settings, export_dir: Path
) -> None:
    add(factory, 1)
    add(factory, 2, category="Kinh tế")
    export_dir.mkdir(parents=True)
    (export_dir / "notes.json").write_text("{}")  # not Loa's: must survive
    rebuild_all(factory, settings)
    assert (export_dir / "kinh-te.atom").exists()
    with factory.begin() as session:
        category_id = session.scalar(select(Category.id).where(Category.slug == "kinh-te"))
        session.execute(delete(Article).where(Article.category_id == category_id))
    rebuild_all(factory, settings)
    names = exported(export_dir)
    assert not [n for n in names if n.startswith("kinh-te")]
    assert "notes.json" in names and "cong-tac-tuyen-giao.atom.gz" in names


def test_a_reader_never_sees_a_partial_file(
    factory: sessionmaker[Session], settings: Settings, export_dir: Path
) -> None:
    add(factory, 0)
    rebuild_all(factory, settings)
    stop = threading.Event()
    reads: list[str] = []
    problems: list[str] = []

    def reader() -> None:
        while not stop.is_set():
            for name in ("all.rss", "all.atom", "all.json", "all.rss.gz", "all.json.gz"):
                data = (export_dir / name).read_bytes()
                try:
                    if name.endswith(".gz"):
                        data = gzip.decompress(data)
                        name = name[: -len(".gz")]
                    if name.endswith(".json"):
                        json.loads(data)
                    else:
                        lxml.etree.fromstring(data)
                except (ValueError, OSError, EOFError, lxml.etree.XMLSyntaxError) as exc:
                    problems.append(f"{name}: {exc!r}")
                reads.append(name)

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        for n in range(1, 25):
            add(factory, n, category="Kinh tế" if n % 2 else "Thể thao")
            rebuild_all(factory, settings)
    finally:
        stop.set()
        thread.join(timeout=30)
    assert reads and not problems, problems[:3]
    assert len(json.loads((export_dir / "all.json").read_bytes())["items"]) == 25
    assert not list(export_dir.rglob(".loa-*.tmp"))


def test_an_unwritable_directory_is_an_export_error_and_the_rebuild_still_stores(
    factory: sessionmaker[Session], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(FeedExportError, match="feeds_export_dir"):
        export_documents(blocker / "feeds", [ExportFile("all.rss", b"x", b"y", 0.0)])
    settings = load_settings(None, environ={"LOA_FEEDS_EXPORT_DIR": str(blocker / "feeds")})
    add(factory, 1)
    assert "all.rss" in rebuild_all(factory, settings)
    assert "could not export the feeds" in caplog.text


def test_the_manifest_never_leads_outside_the_directory(tmp_path: Path) -> None:
    directory = tmp_path / "feeds"
    directory.mkdir()
    outside = tmp_path / "precious.rss"
    outside.write_text("keep")
    (directory / MANIFEST).write_text("../precious.rss\n/etc/passwd\n.hidden\nold.rss\n")
    (directory / "old.rss").write_text("stale")
    report = export_documents(directory, [ExportFile("all.rss", b"a", gzip.compress(b"a"), 0.0)])
    assert report.removed == ["old.rss"]
    assert outside.read_text() == "keep" and not (directory / "old.rss").exists()


@pytest.mark.skipif(shutil.which("nginx") is None, reason="nginx is not installed")
def test_deploy_nginx_serves_the_export_like_loa_serve(
    factory: sessionmaker[Session], settings: Settings, base: str, export_dir: Path, tmp_path: Path
) -> None:
    add(factory, 1)
    add(factory, 2, category="Kinh tế")
    rebuild_all(factory, settings)
    with shipped_nginx(export_dir, tmp_path / "nginx", base) as nginx:
        for name, media in (("all.rss", "application/rss+xml"), ("kinh-te.atom",
                            "application/atom+xml"), ("source/portal.json",
                            "application/feed+json"), ("opml", "text/x-opml")):  # fmt: skip
            plain = requests.get(f"{nginx}/feeds/{name}", headers={"Accept-Encoding": "identity"})
            assert plain.status_code == 200, name
            assert plain.content == (export_dir / name).read_bytes()
            assert plain.content == requests.get(f"{base}/feeds/{name}").content
            assert plain.headers["content-type"] == f"{media}; charset=utf-8"
            assert plain.headers["cache-control"] == "public, max-age=300"
            zipped = requests.get(
                f"{nginx}/feeds/{name}", headers={"Accept-Encoding": "gzip"}, stream=True
            )
            assert zipped.headers["content-encoding"] == "gzip"
            assert zipped.raw.read(decode_content=False) == (export_dir / f"{name}.gz").read_bytes()
            again = requests.get(
                f"{nginx}/feeds/{name}",
                headers={"If-None-Match": plain.headers["etag"], "Accept-Encoding": "identity"},
            )
            assert again.status_code == 304
            gz_again = requests.get(
                f"{nginx}/feeds/{name}",
                headers={"If-None-Match": zipped.headers["etag"], "Accept-Encoding": "gzip"},
            )
            assert gz_again.status_code == 304
        # A query, and what the export does not hold, are Loa's to answer.
        limited = requests.get(f"{nginx}/feeds/all.json?limit=1")
        assert len(limited.json()["items"]) == 1
        assert requests.get(f"{nginx}/healthz").json()["status"] == "ok"


def test_a_scoped_rebuild_renders_only_the_feeds_the_change_touches(
    factory: sessionmaker[Session], settings: Settings, export_dir: Path
) -> None:
    add(factory, 1, source_name="portal")
    add(factory, 2, category="Kinh tế", source_name="other")
    rebuild_all(factory, settings)
    before = {name: os.stat(export_dir / name).st_ino for name in exported(export_dir)}
    new_id = add(factory, 3, source_name="portal")
    changed = rebuild_scope(
        factory, settings, FeedScope(frozenset({"portal"}), frozenset({new_id}))
    )
    stems = {key.rsplit(".", 1)[0] for key in changed}
    assert stems == {"all", "source/portal", "category/cong-tac-tuyen-giao"}
    after = {name: os.stat(export_dir / name).st_ino for name in exported(export_dir)}
    assert after["source/other.rss"] == before["source/other.rss"]  # not rendered again
    assert after["kinh-te.json.gz"] == before["kinh-te.json.gz"]
    assert after["source/portal.rss"] != before["source/portal.rss"]
    assert set(after) == set(before)  # a partial rebuild deletes nothing
    assert b"other.rss" in (export_dir / "opml").read_bytes()  # the OPML still lists all
