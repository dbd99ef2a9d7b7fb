"""Alembic environment: runs Loa's migrations on the connection it is given.

`news.migrate.upgrade` passes a live connection in ``config.attributes`` so the
same code serves ``loa db upgrade``, ``loa run`` and the tests. SQLite gets
``render_as_batch`` (it cannot ALTER most things in place).
"""

from __future__ import annotations

from alembic import context

from news.migrate import include_object
from news.models import Base

config = context.config
connection = config.attributes["connection"]

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
    include_object=include_object,
)
with context.begin_transaction():
    context.run_migrations()
