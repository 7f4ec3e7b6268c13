"""Notices and papers: when a meeting last changed; the functions of this release

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 23:30:00

A meeting's notices follow its changes (an update when its agenda, time or place changes, a
cancellation when it is called off), so the meeting projection keeps `changed_at`, the time
of its last change after convening (null: unchanged; a meeting of an older database is
folded so by replay); a queued mail may carry a paper (`delivery.attachment`, the sha256 of
a stored document: the notice's PDF goes with its invitation). On PostgreSQL the functions are created again from this release's
text (`store.pg.FUNCTIONS`), as 0007 did, so an upgraded database appends what this release
appends (the convocation notice the scheduler prints for its mails among it), and the
scheduler's group may store that paper (`document`).
"""
import sqlalchemy as sa
from alembic import op

from store.types import UTCDateTime

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("meeting") as batch:
        batch.add_column(sa.Column("changed_at", UTCDateTime(), nullable=True))
    with op.batch_alter_table("delivery") as batch:
        batch.add_column(sa.Column("attachment", sa.String(length=64), nullable=True))
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    from store.pg import FUNCTIONS, group_name, quote_ident

    schema = bind.execute(sa.text("SELECT current_schema()")).scalar()
    if not schema or not str(schema).replace("_", "").isalnum():
        raise RuntimeError(f"kaigi's schema name must be letters, digits and underscores: {schema!r}")
    _run(bind, FUNCTIONS.replace("{schema}", str(schema)))
    database = bind.execute(sa.text("SELECT current_database()")).scalar()
    existing = {r[0] for r in bind.execute(sa.text("SELECT rolname FROM pg_roles"))}
    group = group_name(str(database), str(schema), "scheduler")
    if group in existing:  # a database `kaigi db grant` already ran on: what it now gives
        _run(bind, f"GRANT INSERT ON document TO {quote_ident(group)}")


def _run(bind: sa.Connection, script: str) -> None:
    """Straight to psycopg with no parameters (the scripts hold `%`), in the migration's transaction."""
    cur = bind.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cur.execute(script)
    finally:
        cur.close()


def downgrade() -> None:
    with op.batch_alter_table("delivery") as batch:
        batch.drop_column("attachment")
    with op.batch_alter_table("meeting") as batch:
        batch.drop_column("changed_at")
