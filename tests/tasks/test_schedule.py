"""The Celery app: reliability settings and a schedule built from config."""

from __future__ import annotations

from datetime import timedelta

from config.loader import load_settings
from tasks.app import build_beat_schedule, create_celery_app


def test_schedule_has_one_poll_per_source_and_the_reconciler(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "loa.yaml"
    path.write_text(
        "sources:\n"
        "  - {name: a, url: 'http://a.test/', poll_interval: 60}\n"
        "  - {name: b, url: 'http://b.test/', poll_interval: 600}\n"
    )
    settings = load_settings(path, environ={})
    schedule = build_beat_schedule(settings)
    assert schedule["poll-a"]["schedule"] == timedelta(seconds=60)
    assert schedule["poll-b"]["args"] == ("b",)
    assert schedule["reconcile"]["task"] == "loa.reconcile"


def test_celery_reliability_settings(redis_url: str) -> None:
    settings = load_settings(None, environ={"REDIS_URL": redis_url})
    app = create_celery_app(settings)
    assert app.conf.task_acks_late is True
    assert app.conf.task_reject_on_worker_lost is True
    assert app.conf.worker_prefetch_multiplier == 1
    assert app.conf.task_serializer == "json"
    assert app.conf.task_ignore_result is True
    assert app.conf.broker_transport_options["visibility_timeout"] == 3600
    assert {"loa.poll_source", "loa.publish", "loa.reconcile", "loa.rebuild_feeds"} <= set(
        app.loader.import_default_modules() and app.tasks.keys() or app.tasks.keys()
    )


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
