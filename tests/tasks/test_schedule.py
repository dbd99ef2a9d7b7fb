"""The Celery app: reliability settings and a schedule built from config."""

from __future__ import annotations

import pickle
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

from config.loader import load_settings
from tasks.app import build_beat_schedule, create_celery_app
from tasks.schedule import LoaScheduler, PhasedInterval, phase, poll_due_at


def test_schedule_has_one_poll_per_source_and_the_reconciler(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "loa.yaml"
    path.write_text(
        "sources:\n"
        "  - {name: a, url: 'http://a.test/', poll_interval: 60}\n"
        "  - {name: b, url: 'http://b.test/', poll_interval: 600}\n"
    )
    settings = load_settings(path, environ={})
    schedule = build_beat_schedule(settings)
    polls = {
        entry["args"]: entry["schedule"].run_every
        for entry in schedule.values()
        if entry["task"] == "loa.poll_source"
    }
    # each source polled at its own interval, under its own name, once
    assert polls == {("a",): timedelta(seconds=60), ("b",): timedelta(seconds=600)}
    rechecks = {e["args"] for e in schedule.values() if e["task"] == "loa.recheck_source"}
    assert rechecks == {("a",), ("b",)}
    assert [e["task"] for e in schedule.values()].count("loa.reconcile") == 1


def test_celery_reliability_settings(redis_url: str) -> None:
    settings = load_settings(None, environ={"REDIS_URL": redis_url})
    app = create_celery_app(settings)
    assert app.conf.task_acks_late is True
    assert app.conf.task_reject_on_worker_lost is True
    assert app.conf.worker_prefetch_multiplier == 1
    assert app.conf.task_serializer == "json"
    assert app.conf.task_ignore_result is True
    assert app.conf.broker_transport_options["visibility_timeout"] == 3600
    app.loader.import_default_modules()
    registered = set(app.tasks.keys())
    wanted = {"loa.poll_source", "loa.publish", "loa.reconcile", "loa.rebuild_feeds"}
    assert wanted | {"loa.check_channels", "loa.fix_posts"} <= registered
    # every entry beat will send names a task a worker actually has
    for name, entry in build_beat_schedule(settings).items():
        assert entry["task"] in registered, name


def test_a_burst_of_changes_enqueues_one_feed_rebuild(redis_url: str) -> None:
    import redis as redis_lib

    from tasks import runtime
    from tasks.jobs import schedule_feed_rebuild

    settings = load_settings(None, environ={"REDIS_URL": redis_url})
    app = create_celery_app(settings)
    app.control.purge()
    client = redis_lib.Redis.from_url(runtime.redis_client_url(redis_url))
    client.delete("loa:feeds:rebuild-queued")
    try:
        for _ in range(50):  # fifty articles stored by one poll
            schedule_feed_rebuild()
        assert client.llen("celery") == 1
    finally:
        app.control.purge()
        client.delete("loa:feeds:rebuild-queued")
        client.close()


def test_a_thousand_sources_are_spread_over_the_minute() -> None:
    """Each source has its own phase: no second of the minute gets a burst of polls."""
    per_second = Counter(int(phase(f"s{i:04d}", 60)) for i in range(1000))
    assert len(per_second) == 60
    assert max(per_second.values()) < 35  # 1000/60 ≈ 17 on average


def test_a_phased_entry_is_due_once_per_interval_at_its_phase() -> None:
    every = PhasedInterval(timedelta(hours=1), "portal")
    due = poll_due_at("portal", 3600, time.time())
    assert due <= time.time() < due + 3600
    assert abs(due % 3600 - phase("portal", 3600)) < 1e-6
    before = every.is_due(datetime.fromtimestamp(due - 1, UTC))
    assert before.is_due
    after = every.is_due(datetime.fromtimestamp(due + 0.5, UTC))
    assert not after.is_due and 0 < after.next <= 3600
    assert pickle.loads(pickle.dumps(every)) == every  # beat's schedule file keeps it
    assert every != PhasedInterval(timedelta(hours=1), "other")


def test_beat_runs_the_phased_schedule_with_loa_scheduler(redis_url: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Celery's own tick over PhasedInterval entries: nothing due right after start."""
    path = tmp_path / "loa.yaml"
    path.write_text("sources:\n  - {name: a, url: 'http://a.test/', poll_interval: 60}\n")
    app = create_celery_app(load_settings(path, environ={"REDIS_URL": redis_url}))
    assert app.conf.beat_scheduler == "tasks.schedule:LoaScheduler"
    scheduler = LoaScheduler(app=app, schedule_filename=str(tmp_path / "beat"), lazy=False)
    try:
        assert isinstance(scheduler.schedule["poll-a"].schedule, PhasedInterval)
        wait = scheduler.tick()
        assert 0 < wait <= scheduler.max_interval
        assert scheduler.schedules_equal(scheduler.schedule, dict(scheduler.schedule))
        assert not scheduler.schedules_equal(scheduler.schedule, {})
    finally:
        scheduler.close()
