"""Helpers for add-source tests: settings that may reach the loopback test server,
and the check that a proposed source really works (``loa check-source``'s function)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from config.profiles import SiteProfile
from config.settings import Settings, SourceConfig
from loa.check_source import CheckResult, check_source
from news.discovery.model import Proposal
from news.discovery.propose import discovery_fetcher, propose_source
from news.ssrf import Resolver, system_resolve

ADDSOURCE_CORPUS = Path(__file__).resolve().parents[1] / "sites" / "addsource"


def loopback_settings(data_dir: Path, **extra: Any) -> Settings:
    """Settings whose allowed_hosts let add-source fetch from 127.0.0.1 (the test server)."""
    return Settings(allowed_hosts=["127.0.0.1"], data_dir=data_dir, **extra)


def propose(
    url: str, settings: Settings, *, resolve: Resolver = system_resolve, **kwargs: Any
) -> Proposal:
    """propose_source without the politeness delay between requests (a local server)."""
    fetcher = discovery_fetcher(settings, resolve=resolve, delay=0)
    return propose_source(url, settings, fetcher=fetcher, resolve=resolve, **kwargs)


def check_proposal(proposal: Proposal, data_dir: Path) -> CheckResult:
    """Run `loa check-source` on the proposed source (and its derived profile, if any)."""
    assert proposal.source is not None, [(a.what, a.outcome) for a in proposal.attempts]
    source = SourceConfig.model_validate(proposal.source)
    profiles = {}
    if proposal.profile is not None:
        profile = SiteProfile.model_validate(proposal.profile)
        profiles[profile.name] = profile
    settings = loopback_settings(data_dir, sources=[source], profiles=profiles)
    result = check_source(settings, source, sample=3)
    assert result.ok, result.problems
    assert result.rows and all(row[0] for row in result.rows), result.problems
    return result
