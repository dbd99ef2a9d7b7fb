"""`loa add-source`: the tables, the JSON, the YAML and `--write` of a proposal.

The rendering is checked on hand-built proposals (every shape: a feed, a
listing with a derived profile, nothing watchable); the command end to end
runs against the test site server on 127.0.0.1 (tests/sites/server.py), whose
host the settings list in `allowed_hosts` as an intranet portal would be.
"""

from __future__ import annotations

import functools
import io
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from rich.console import Console

from config.loader import load_settings
from config.settings import Settings
from loa.add_source import print_proposal, proposal_json, run_add_source
from news.discovery.entries import proposed_yaml, renamed, write_proposal
from news.discovery.model import Attempt, Candidate, MethodScore, Proposal
from news.discovery.propose import discovery_fetcher, propose_source
from tests.sites.server import SiteServer

EXAMPLE = Path(__file__).resolve().parents[2] / "loa.example.yaml"
FIELDS = {"title": 1.0, "date_time": 0.9, "lead": 0.8, "body": 1.0, "category": 0.5, "clean": 1.0}

FEED = Candidate(
    kind="rss",
    url="https://bao.example.vn/rss/tin-moi.rss",
    found_via="<link rel=alternate>",
    article_urls=("https://bao.example.vn/a-1.html", "https://bao.example.vn/a-2.html"),
)
LISTING = Candidate(
    kind="listing",
    url="https://bao.example.vn/thoi-su/",
    found_via="category menu",
    article_urls=("https://bao.example.vn/a-1.html",),
    category="Thời sự",
)


def proposal(*, derived: bool = False) -> Proposal:
    chosen = LISTING if derived else FEED
    method = "derived" if derived else "news-modern"
    source = {
        "name": "bao",
        "kind": "html" if derived else "rss",
        "url": chosen.url,
        "profile": "bao" if derived else "news-modern",
        "poll_interval": 600,
        "categories": {"Thời sự": "Thời sự", "Kinh tế số": "Kinh tế"},
    }
    return Proposal(
        url="https://bao.example.vn/",
        candidates=(FEED, LISTING),
        scores={
            FEED.url: (
                MethodScore("zero-config", 0.61, FIELDS, 2),
                MethodScore("news-modern", 0.93, FIELDS, 2),
            ),
            LISTING.url: (MethodScore("derived", 0.88, FIELDS, 1, errors=("a-9: no title",)),),
        },
        chosen=chosen,
        method=method,
        source=source,
        profile={"title": "h1.title", "body": "div.content"} if derived else None,
        warnings=("robots.txt disallows /tim-kiem",),
    )


NOTHING = Proposal(
    url="https://trong.example.vn/",
    candidates=(),
    scores={},
    chosen=None,
    method=None,
    source=None,
    profile=None,
    attempts=(
        Attempt("<link rel=alternate>", "none in the page"),
        Attempt("https://trong.example.vn/feed", "404"),
        Attempt("https://trong.example.vn/sitemap.xml", "404"),
    ),
)


def shown(value: Proposal) -> str:
    out = io.StringIO()
    print_proposal(value, Console(file=out, width=200))
    return out.getvalue()


def test_the_table_shows_candidates_scores_per_method_and_the_yaml() -> None:
    text = shown(proposal())
    assert "Candidates" in text and "<link rel=alternate>" in text
    assert "category menu (Thời sự)" in text
    assert "https://bao.example.vn/rss/tin-moi.rss" in text
    assert f"Extraction scores: {FEED.url}" in text
    for method, score in (("news-modern", "0.93"), ("zero-config", "0.61"), ("derived", "0.88")):
        assert any(method in line and score in line for line in text.splitlines())
    assert "date+time" in text and "no chrome" in text
    assert "robots.txt disallows /tim-kiem" in text
    yaml_text = text[text.index("sources:\n") :]
    assert yaml_text.strip() == proposed_yaml(proposal()).strip()
    # categories carry their slug as a comment, aligned
    assert "      Thời sự: Thời sự     # thoi-su\n" in yaml_text
    assert "      Kinh tế số: Kinh tế  # kinh-te\n" in yaml_text


def test_the_yaml_is_a_config_that_loads(tmp_path: Path) -> None:
    path = tmp_path / "loa.yaml"
    path.write_text(proposed_yaml(proposal(derived=True)), encoding="utf-8")
    settings = load_settings(path, environ={})
    assert settings.sources[0].profile == "bao"
    assert settings.profiles["bao"].title == "h1.title"
    assert settings.sources[0].categories == {"Thời sự": "Thời sự", "Kinh tế số": "Kinh tế"}


def test_json_holds_everything_the_table_shows() -> None:
    document = json.loads(json.dumps(proposal_json(proposal(derived=True))))
    assert document["ok"] is True
    assert [c["url"] for c in document["candidates"]] == [FEED.url, LISTING.url]
    assert document["candidates"][0]["articles"] == 2
    assert document["chosen"]["url"] == LISTING.url
    assert document["method"] == "derived"
    assert [s["method"] for s in document["scores"][FEED.url]] == ["zero-config", "news-modern"]
    assert document["scores"][LISTING.url][0]["errors"] == ["a-9: no title"]
    assert document["source"]["profile"] == "bao"
    assert document["profile"] == {"name": "bao", "title": "h1.title", "body": "div.content"}
    assert yaml.safe_load(document["yaml"])["profiles"]["bao"]["body"] == "div.content"


def test_nothing_watchable_lists_every_attempt() -> None:
    text = shown(NOTHING)
    assert "nothing watchable at https://trong.example.vn/" in text
    for attempt in NOTHING.attempts:
        assert any(attempt.what in line and attempt.outcome in line for line in text.splitlines())
    assert "sources:" not in text
    document = proposal_json(NOTHING)
    assert document["ok"] is False and document["source"] is None and document["yaml"] is None
    assert document["attempts"][1] == {"what": "https://trong.example.vn/feed", "outcome": "404"}


def test_a_new_name_renames_the_derived_profile_too() -> None:
    value = renamed(proposal(derived=True), "bao_moi")
    assert value.source is not None
    assert (value.source["name"], value.source["profile"]) == ("bao_moi", "bao_moi")
    assert "  bao_moi:\n    name: bao_moi\n" in proposed_yaml(value)
    kept = renamed(proposal(), "bao_moi")
    assert kept.source is not None and kept.source["profile"] == "news-modern"


def test_write_appends_to_a_copy_of_the_example_keeping_its_comments(tmp_path: Path) -> None:
    path = tmp_path / "loa.yaml"
    path.write_bytes(EXAMPLE.read_bytes())
    write_proposal(proposal(derived=True), path)
    before = EXAMPLE.read_text(encoding="utf-8")
    after = path.read_text(encoding="utf-8")
    assert [line for line in before.splitlines() if "#" in line] == [
        line for line in after.splitlines() if "#" in line and "# thoi-su" not in line
        and "# kinh-te" not in line
    ]  # fmt: skip
    settings = load_settings(path, environ={})
    assert [s.name for s in settings.sources] == ["dangbokhoi", "bao"]
    assert settings.profiles["bao"].body == "div.content"


# --- the command, against the test site server ------------------------------------------

ADDSOURCE_SITES = Path(__file__).resolve().parents[1] / "sites" / "addsource"


@pytest.fixture(scope="module")
def sites() -> Iterator[SiteServer]:
    with SiteServer(corpus_dir=ADDSOURCE_SITES) as server:
        yield server


def loa(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """`loa add-source ...` as a user runs it, its own data dir, the test host allowed."""
    drop = {"LOA_CONFIG", "TELEGRAM_BOT_TOKEN", "DATABASE_URL"}
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env.update(LOA_DATA_DIR=str(cwd / "var"), LOA_ALLOWED_HOSTS="127.0.0.1", COLUMNS="200")
    return subprocess.run(
        [sys.executable, "-m", "loa", "add-source", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
        env=env,
    )


def test_json_and_write_then_the_table_and_a_duplicate_refused(
    sites: SiteServer, tmp_path: Path
) -> None:
    config = tmp_path / "loa.yaml"
    config.write_bytes(EXAMPLE.read_bytes())
    url = sites.url_for("http://feedsite.test/")
    done = loa(url, "--json", "--write", str(config), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)  # stdout is the JSON document and nothing else
    assert document["ok"] is True and document["method"] == "zero-config"
    assert document["chosen"]["kind"] == "rss" and document["chosen"]["articles"] == 4
    assert document["source"]["url"] == sites.url_for("http://feedsite.test/tin-moi.rss")
    assert {s["method"] for s in document["scores"][document["chosen"]["url"]]} >= {
        "zero-config",
        "cms-portal",
    }
    assert f"added source 'feedsite' to {config}" in done.stderr
    written = config.read_text(encoding="utf-8")
    assert document["yaml"].split("\n", 1)[1] in written  # the same entry as shown
    before = EXAMPLE.read_text(encoding="utf-8")
    assert [line for line in before.splitlines() if line.lstrip().startswith("#")] == [
        line for line in written.splitlines() if line.lstrip().startswith("#")
    ]
    assert [s.name for s in load_settings(config, environ={}).sources] == [
        "dangbokhoi",
        "feedsite",
    ]

    # the same again, in process (no subprocess start, no politeness delay: seconds saved)
    settings = load_settings(config, environ={"LOA_ALLOWED_HOSTS": "127.0.0.1"})
    code, out, err = add_source(settings, url, write=config)
    assert code == 2
    assert "Candidates" in out and "Extraction scores" in out
    assert "<link rel=" in out and "zero-config" in out
    assert "sources:\n  - name: feedsite" in out  # a new name: feedsite is taken in settings
    # no built-in profile fits feedsite: the derived one is shown, not proposed
    assert document["derived"] is not None and document["profile"] is None
    assert "this one was derived from the site's pages" in out
    assert "profiles:\n  feedsite" in out  # named after the source (feedsite-2 here)
    assert "source 'feedsite' already watches" in err
    code, out, err = add_source(settings, url, write=config, name="feedsite")
    assert code == 2
    assert "a source named 'feedsite' already exists (choose another with --name)" in err
    assert config.read_text(encoding="utf-8") == written


def add_source(settings: Settings, url: str, **options: Any) -> tuple[int, str, str]:
    """run_add_source with the real proposal on a fetcher without the politeness delay."""
    out, err = io.StringIO(), io.StringIO()
    propose = functools.partial(propose_source, fetcher=discovery_fetcher(settings, delay=0))
    code = run_add_source(settings, url, propose=propose, out=out, err=err, **options)
    return code, out.getvalue(), err.getvalue()


def test_a_derived_profile_is_written_under_profiles_with_the_new_name(
    sites: SiteServer, tmp_path: Path
) -> None:
    config = tmp_path / "loa.yaml"
    config.write_bytes(EXAMPLE.read_bytes())
    settings = load_settings(None, environ={"LOA_ALLOWED_HOSTS": "127.0.0.1"})
    url = sites.url_for("http://huyen.test/")
    code, out, err = add_source(settings, url, name="huyen_moi", write=config)
    assert code == 0, out + err
    assert "derived" in out and f"added source 'huyen_moi' to {config}" in out
    settings = load_settings(config, environ={})
    source = settings.sources[-1]
    assert (source.name, source.profile) == ("huyen_moi", "huyen_moi")
    assert settings.profiles["huyen_moi"].title
    text = config.read_text(encoding="utf-8")
    assert "profiles: {}" not in text and "\nprofiles:\n  huyen_moi:\n    name: huyen_moi\n" in text
    assert "  # mysite:\n" in text  # the commented-out example profile is still there


def test_nothing_watchable_and_a_refused_address_exit_2(sites: SiteServer) -> None:
    settings = load_settings(None, environ={"LOA_ALLOWED_HOSTS": "127.0.0.1"})
    parked = sites.url_for("http://parked.test/")
    code, out, err = add_source(settings, parked)
    assert code == 2
    assert f"nothing watchable at {parked}" in out
    assert "What was tried" in out and "HTTP 404" in out
    code, out, err = add_source(settings, parked, as_json=True)
    assert code == 2 and f"nothing watchable at {parked}" in err
    document = json.loads(out)
    assert document["ok"] is False and document["source"] is None
    assert any("404" in a["outcome"] for a in document["attempts"])
    code, out, err = add_source(settings, "http://10.1.2.3/")
    assert code == 2 and out == ""
    assert "refused to fetch http://10.1.2.3/" in err and "private" in err
