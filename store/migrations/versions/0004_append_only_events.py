"""The database itself refuses UPDATE and DELETE on the event table

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25 20:30:00

The log is append-only by kaigi's code; these triggers make it so for anyone with SQL
access too. They are not the proof (someone with enough rights can drop them, and
`audit verify` still catches the edit); they stop accidents and casual edits.
"""
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

MESSAGE = "event table is append-only"


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for verb in ("UPDATE", "DELETE"):
            op.execute(f"CREATE TRIGGER event_no_{verb.lower()} BEFORE {verb} ON event "
                       f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END")
        return
    op.execute(f"""CREATE FUNCTION kaigi_event_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION '{MESSAGE}'; END $$""")
    op.execute("CREATE TRIGGER event_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON event "
               "FOR EACH STATEMENT EXECUTE FUNCTION kaigi_event_append_only()")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER event_no_update")
        op.execute("DROP TRIGGER event_no_delete")
        return
    op.execute("DROP TRIGGER event_append_only ON event")
    op.execute("DROP FUNCTION kaigi_event_append_only()")
