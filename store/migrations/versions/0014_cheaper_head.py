"""The functions of this release: an act's projection writes checked without the owner lookup

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07 05:30:00

Issue 21 (hold the head only to append): on PostgreSQL the projection guard asked whether the
caller owns the schema before asking whether the transaction has appended, so every act paid
the owner lookup once more while it held the head. It now asks the cheap question first (the
same answer: the owner, or a transaction that appended); `kaigi_append` looks its caller up
once. The functions are created again from this release's text (`store.pg.FUNCTIONS`), as
0007 and 0010 did; CREATE OR REPLACE keeps their grants. SQLite has none of this.
"""
import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    from store.pg import FUNCTIONS

    schema = bind.execute(sa.text("SELECT current_schema()")).scalar()
    if not schema or not str(schema).replace("_", "").isalnum():
        raise RuntimeError(f"kaigi's schema name must be letters, digits and underscores: {schema!r}")
    cur = bind.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:  # straight to psycopg with no parameters (the script holds `%`), in the migration's transaction
        cur.execute(FUNCTIONS.replace("{schema}", str(schema)))
    finally:
        cur.close()


def downgrade() -> None:
    """The functions stay as they are (0006's downgrade drops them all); nothing else to undo."""
