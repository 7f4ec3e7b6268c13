"""Alembic environment: migrations run on the connection `store.db.upgrade` hands in."""

from alembic import context

import store.tables  # noqa: F401  (registers the tables on the metadata)
from store.tables import TABLES

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("kaigi migrations run through store.db.upgrade(engine)")
context.configure(connection=connection, target_metadata=TABLES, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
