"""The functions of this release: `kaigi_append` asks who calls without calling a function

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 21:15:00

Issue 21 (hold the head only to append): `kaigi_append` asked `kaigi_caller()` who its caller
is, and on the scheduler's and the web face's paths `kaigi_in_group(…, kaigi_group(…))`
whether it belongs to the group. Each is an SQL function with its own `search_path`, which
PostgreSQL plans afresh at every call: about 0.1 ms each (`track_functions`), with the head
held. The same expressions are now written out in `kaigi_append`; the helper functions stay
(the guard, `kaigi_set_credential` and the grants use them). The functions are created again
from this release's text (`store.pg.FUNCTIONS`), as 0007, 0010 and 0014 did; CREATE OR
REPLACE keeps their grants. SQLite has none of this.
"""
import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
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
