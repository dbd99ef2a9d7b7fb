"""Every Loa task retries with backoff when the database is unreachable (tasks.base)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.exc import InterfaceError, OperationalError

from config.loader import load_settings
from tasks.app import create_celery_app


def test_every_loa_task_retries_on_database_connection_errors(
    redis_url: str, tmp_path: Path
) -> None:
    settings = load_settings(None, environ={"REDIS_URL": redis_url, "LOA_DATA_DIR": str(tmp_path)})
    app = create_celery_app(settings)
    app.loader.import_default_modules()
    tasks = {name: task for name, task in app.tasks.items() if name.startswith("loa.")}
    assert "loa.rebuild_feeds" in tasks and "loa.publish" in tasks
    for name, task in tasks.items():
        assert {OperationalError, InterfaceError} <= set(task.autoretry_for), name
        assert hasattr(task, "_orig_run"), f"{name}: the retry wrapper is not installed"
        assert task.max_retries and task.retry_backoff_max <= 300, name  # below MAX_COUNTDOWN
