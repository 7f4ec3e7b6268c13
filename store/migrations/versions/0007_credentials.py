"""Credentials are acts (R-I5): api_token and credential written by the database only

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06 21:00:00

On PostgreSQL, `kaigi_append` now keeps the api_token table from the TokenCreated and
TokenRevoked events it appends, and refuses credential and identity events that a
delegation would cover; a password hash goes in only through `kaigi_set_credential`,
right after its member's own CredentialSet, whose commitment it must match. The per-row
guard that let a member rewrite any token's owner inside his own act is dropped, and so
are the members' INSERT and UPDATE on both tables (`kaigi db grant` no longer gives them).
SQLite has nothing to change: there `audit verify` compares both tables with the log.
"""
import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_OLD_GUARDS = """
DROP TRIGGER IF EXISTS api_token_guard ON api_token;
DROP TRIGGER IF EXISTS credential_guard ON credential;
DROP FUNCTION IF EXISTS kaigi_secret_guard();
"""


def upgrade() -> None:
    bind = op.get_bind()
    # The text rules of this release (one-line titles, no bidi or zero-width characters) judge
    # new acts; acts already in the log are judged again by the rule of their day, so an
    # honest old log still verifies: mark where the new rules begin (0 on a new database).
    bind.execute(sa.text("INSERT INTO kaigi_meta (key, value) SELECT 'text_rules_from', CAST(seq AS VARCHAR(20)) "
                         "FROM log_head WHERE id = 1 AND seq > 0"))
    if bind.dialect.name != "postgresql":
        return
    from store.pg import FUNCTIONS, group_name, quote_ident

    schema = bind.execute(sa.text("SELECT current_schema()")).scalar()
    database = bind.execute(sa.text("SELECT current_database()")).scalar()
    if not schema or not str(schema).replace("_", "").isalnum():
        raise RuntimeError(f"kaigi's schema name must be letters, digits and underscores: {schema!r}")
    _run(bind, _OLD_GUARDS)
    _run(bind, FUNCTIONS.replace("{schema}", str(schema)))
    existing = {r[0] for r in bind.execute(sa.text("SELECT rolname FROM pg_roles"))}
    for kind in ("member", "scheduler", "web", "auditor"):
        group = group_name(str(database), str(schema), kind)
        if group not in existing:
            continue
        # a database `kaigi db grant` already ran on: take the old rights back, give the new
        # functions' (what `kaigi db grant` now says)
        g = quote_ident(group)
        _run(bind, f"REVOKE INSERT, UPDATE, DELETE ON credential, api_token FROM {g}")
        _run(bind, f"GRANT EXECUTE ON FUNCTION kaigi_credential_commitments() TO {g}")
        if kind == "member":
            _run(bind, f"GRANT EXECUTE ON FUNCTION kaigi_set_credential(text, text) TO {g}")
        if kind == "auditor":
            _run(bind, f"GRANT SELECT ON api_token TO {g}")


def _run(bind: sa.Connection, script: str) -> None:
    """Straight to psycopg with no parameters (the scripts hold `%`), in the migration's transaction."""
    cur = bind.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cur.execute(script)
    finally:
        cur.close()


def downgrade() -> None:
    """The functions stay (0006's downgrade drops them all); nothing else to undo."""
