"""Celery entry point: ``celery -A worker worker`` (``loa worker`` does the same).

Loads settings from the environment and ``LOA_CONFIG`` when Celery imports it.
"""

from __future__ import annotations

from config.loader import load_settings
from tasks.app import create_celery_app

app = create_celery_app(load_settings())
