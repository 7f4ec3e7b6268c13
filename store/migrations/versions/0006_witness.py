"""PostgreSQL is the witness: appends through SECURITY DEFINER functions

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 23:00:00

The head gains the transaction that took it and the database's clock at that moment, so
the append function can stamp the act's time and insist that the head was taken first.
On PostgreSQL this creates `kaigi_begin`, `kaigi_append` and the guards of store/pg.py;
`kaigi db grant` then gives members' roles what they may do (and nothing more). SQLite
gets the columns only: there the file's owner is the only authority (TRUST.md).
"""
import sqlalchemy as sa
from alembic import op

import store.types

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("log_head") as batch:
        batch.add_column(sa.Column("lock_txid", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("lock_at", store.types.UTCDateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("append_txid", sa.BigInteger(), nullable=True))
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    from store.pg import FUNCTIONS, TRIGGERS

    schema = bind.execute(sa.text("SELECT current_schema()")).scalar()
    if not schema or not str(schema).replace("_", "").isalnum():
        raise RuntimeError(f"kaigi's schema name must be letters, digits and underscores: {schema!r}")
    _run(bind, FUNCTIONS.replace("{schema}", str(schema)))
    _run(bind, TRIGGERS)


def _run(bind: sa.Connection, script: str) -> None:
    """A script of several statements with `%` in its messages: straight to psycopg with no
    parameters (its simple query protocol), in the migration's transaction."""
    cur = bind.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cur.execute(script)
    finally:
        cur.close()


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        from store.pg import DROP

        _run(bind, DROP)
    with op.batch_alter_table("log_head") as batch:
        batch.drop_column("append_txid")
        batch.drop_column("lock_at")
        batch.drop_column("lock_txid")
