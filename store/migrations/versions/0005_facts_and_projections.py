"""Events are facts; items and meetings are documents; reminders are a projection

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 22:00:00

kaigi 0.2 keeps in the log only what happened. The projections (roster, items, meetings,
orders) are rebuilt from the log by `kaigi init` right after this migration (it leaves a
`rebuild` mark in `kaigi_meta`), so they are dropped and created in their new shape
rather than converted. The event table gains the envelope version, the identity that
authenticated the actor and the payload schema; old rows keep envelope version 1. The
reminder table is gone (planned reminders live with their item or meeting); deliveries
keep their rows and name their reminder by the projection's identity instead of a row id.
"""
import datetime as dt

import sqlalchemy as sa
from alembic import op

import store.types

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

T = store.types.UTCDateTime(timezone=True)
OLD_PROJECTIONS = ("agenda_entry", "meeting_attendee", "investigation_order", "assignment", "item", "meeting",
                   "delegation", "member", "body", "rulebook_adoption")


def _ident(key: str, item: int | None, meeting: int | None, order: int | None, due: dt.datetime) -> str:
    """The projection's name for a reminder (store.records.Planned.ident), frozen here."""
    subject = f"order:{order}" if order is not None else (f"item:{item}" if item is not None else f"meeting:{meeting}")
    due = _t(due)  # type: ignore[assignment]
    return f"{key}/{subject}/{due.astimezone(dt.UTC).isoformat(timespec='microseconds')}"


def _t(value: object) -> dt.datetime | None:
    """A stored time (SQLite text, PostgreSQL timestamptz) as an aware UTC datetime."""
    if value is None:
        return None
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    assert isinstance(value, dt.datetime)
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value


def upgrade() -> None:
    bind = op.get_bind()
    reminders = {r.id: r for r in bind.execute(sa.text(
        "SELECT id, key, item_id, meeting_id, order_id, due_at FROM reminder"))}
    old_deliveries = list(bind.execute(sa.text(
        "SELECT id, dedupe_key, reminder_id, rung, recipient, channel, address, message_id, subject, body, ics, "
        "status, attempts, next_attempt_at, lease_until, claimed_by, last_error, sent_at, created_at FROM delivery")))
    op.drop_table("delivery")
    op.drop_table("reminder")
    for table in OLD_PROJECTIONS:
        op.drop_table(table)

    op.add_column("event", sa.Column("identity", sa.String(16), nullable=True))
    op.add_column("event", sa.Column("schema", sa.Integer(), nullable=False, server_default="1"))
    op.add_column("event", sa.Column("v", sa.Integer(), nullable=False, server_default="1"))
    op.add_column("log_head", sa.Column("at", T, nullable=True))
    op.add_column("log_head", sa.Column("roster_seq", sa.Integer(), nullable=False, server_default="0"))

    op.create_table("body", sa.Column("key", sa.String(64), primary_key=True), sa.Column("kind", sa.String(32), nullable=False),
                    sa.Column("ja", sa.String(), nullable=False), sa.Column("en", sa.String(), nullable=False))
    op.create_table("member", sa.Column("login", sa.String(64), primary_key=True),
                    sa.Column("name", sa.String(), nullable=False), sa.Column("name_en", sa.String(), nullable=False),
                    sa.Column("email", sa.String(), nullable=True), sa.Column("lang", sa.String(8), nullable=False),
                    sa.Column("channel", sa.String(16), nullable=False),
                    sa.Column("os_user", sa.String(64), nullable=True), sa.Column("db_role", sa.String(64), nullable=True))
    op.create_table("assignment", sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
                    sa.Column("login", sa.String(64), nullable=False), sa.Column("position", sa.String(64), nullable=False),
                    sa.Column("body", sa.String(64), nullable=False), sa.Column("team", sa.String(64), nullable=True),
                    sa.Column("valid_from", T, nullable=False), sa.Column("valid_until", T, nullable=True))
    op.create_index("ix_assignment_login", "assignment", ["login"])
    op.create_table("delegation", sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
                    sa.Column("holder", sa.String(64), nullable=False), sa.Column("clerk", sa.String(64), nullable=False),
                    sa.Column("valid_from", T, nullable=False), sa.Column("valid_until", T, nullable=True))
    op.create_table("rulebook_adoption", sa.Column("version", sa.String(32), primary_key=True),
                    sa.Column("effective_from", sa.Date(), nullable=False),
                    sa.Column("sha256", sa.String(64), nullable=False), sa.Column("text", sa.String(), nullable=False))
    op.create_table("item", sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
                    sa.Column("title", sa.String(), nullable=False), sa.Column("body", sa.String(64), nullable=False),
                    sa.Column("team", sa.String(64), nullable=True), sa.Column("state", sa.String(32), nullable=False),
                    sa.Column("version", sa.Integer(), nullable=False), sa.Column("filed_by", sa.String(64), nullable=False),
                    sa.Column("filed_at", T, nullable=False), sa.Column("updated_at", T, nullable=False),
                    sa.Column("note", sa.String(), nullable=False), sa.Column("origin", sa.Integer(), nullable=True),
                    sa.Column("sittings", sa.String(), nullable=False, server_default="[]"),
                    sa.Column("orders", sa.String(), nullable=False, server_default="[]"),
                    sa.Column("reminders", sa.String(), nullable=False, server_default="[]"),
                    sa.Column("fired", sa.String(), nullable=False, server_default="[]"),
                    sa.Column("next_due_at", T, nullable=True))
    for name, cols in (("ix_item_state", ["state"]), ("ix_item_body", ["body"]), ("ix_item_origin", ["origin"]),
                       ("ix_item_due", ["next_due_at"])):
        op.create_index(name, "item", cols)
    op.create_table("meeting", sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
                    sa.Column("kind", sa.String(32), nullable=False), sa.Column("body", sa.String(64), nullable=False),
                    sa.Column("convener", sa.String(64), nullable=False), sa.Column("chair", sa.String(64), nullable=False),
                    sa.Column("starts_at", T, nullable=False), sa.Column("status", sa.String(16), nullable=False),
                    sa.Column("version", sa.Integer(), nullable=False), sa.Column("convened_at", T, nullable=False),
                    sa.Column("held_at", T, nullable=True), sa.Column("sat_at", T, nullable=True),
                    *[sa.Column(c, sa.String(), nullable=False, server_default="[]")
                      for c in ("attendees", "invited", "present", "items")],
                    sa.Column("outcomes", sa.String(), nullable=False, server_default="{}"),
                    sa.Column("minutes", sa.String(), nullable=False, server_default="[]"),
                    sa.Column("reminders", sa.String(), nullable=False, server_default="[]"),
                    sa.Column("fired", sa.String(), nullable=False, server_default="[]"),
                    sa.Column("next_due_at", T, nullable=True))
    op.create_index("ix_meeting_due", "meeting", ["next_due_at"])
    op.create_index("ix_meeting_starts", "meeting", ["starts_at"])
    op.create_table("investigation_order", sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
                    sa.Column("item_id", sa.Integer(), nullable=False), sa.Column("issued_by", sa.String(64), nullable=False),
                    sa.Column("to", sa.String(64), nullable=False), sa.Column("issued_at", T, nullable=False),
                    sa.Column("due_at", T, nullable=False), sa.Column("status", sa.String(16), nullable=False),
                    sa.Column("note", sa.String(), nullable=False), sa.Column("finding", sa.String(), nullable=True),
                    sa.Column("reason", sa.String(), nullable=True), sa.Column("settled_at", T, nullable=True),
                    sa.Column("version", sa.Integer(), nullable=False))
    op.create_index("ix_order_item", "investigation_order", ["item_id"])
    delivery = op.create_table(
        "delivery", sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("dedupe_key", sa.String(200), nullable=False, unique=True),
        sa.Column("reminder", sa.String(160), nullable=False), sa.Column("item_id", sa.Integer(), nullable=True),
        sa.Column("meeting_id", sa.Integer(), nullable=True), sa.Column("rung", sa.Integer(), nullable=False),
        sa.Column("recipient", sa.String(64), nullable=False), sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("address", sa.String(), nullable=True), sa.Column("message_id", sa.String(240), nullable=False),
        sa.Column("subject", sa.String(), nullable=False), sa.Column("body", sa.String(), nullable=False),
        sa.Column("ics", sa.String(), nullable=True), sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False), sa.Column("next_attempt_at", T, nullable=False),
        sa.Column("lease_until", T, nullable=True), sa.Column("claimed_by", sa.String(120), nullable=True),
        sa.Column("last_error", sa.String(), nullable=True), sa.Column("sent_at", T, nullable=True),
        sa.Column("created_at", T, nullable=False))
    op.create_index("ix_delivery_due", "delivery", ["status", "next_attempt_at"])
    op.create_index("ix_delivery_reminder", "delivery", ["reminder"])
    op.create_table("document", sa.Column("sha256", sa.String(64), primary_key=True),
                    sa.Column("name", sa.String(), nullable=False), sa.Column("media_type", sa.String(100), nullable=False),
                    sa.Column("content", sa.LargeBinary(), nullable=False), sa.Column("created_at", T, nullable=False))
    op.create_table("credential", sa.Column("login", sa.String(64), primary_key=True),
                    sa.Column("hash", sa.String(), nullable=False), sa.Column("set_at", T, nullable=False))
    op.create_table("api_token", sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
                    sa.Column("login", sa.String(64), nullable=False), sa.Column("name", sa.String(), nullable=False),
                    sa.Column("digest", sa.String(64), nullable=False, unique=True),
                    sa.Column("created_at", T, nullable=False), sa.Column("expires_at", T, nullable=True),
                    sa.Column("revoked_at", T, nullable=True))
    meta = op.create_table("kaigi_meta", sa.Column("key", sa.String(64), primary_key=True),
                           sa.Column("value", sa.String(), nullable=False))

    rows = []
    for d in old_deliveries:
        r = reminders.get(d.reminder_id)
        ident = _ident(r.key, r.item_id, r.meeting_id, r.order_id, r.due_at) if r is not None else f"0.1/{d.reminder_id}"
        rows.append({"id": d.id, "dedupe_key": d.dedupe_key, "reminder": ident,
                     "item_id": (r.item_id if r is not None else None),
                     "meeting_id": (r.meeting_id if r is not None else None), "rung": d.rung,
                     "recipient": d.recipient, "channel": d.channel, "address": d.address, "message_id": d.message_id,
                     "subject": d.subject, "body": d.body, "ics": d.ics, "status": d.status, "attempts": d.attempts,
                     "next_attempt_at": _t(d.next_attempt_at), "lease_until": _t(d.lease_until),
                     "claimed_by": d.claimed_by, "last_error": d.last_error, "sent_at": _t(d.sent_at),
                     "created_at": _t(d.created_at)})
    if rows:
        op.bulk_insert(delivery, rows)
    if bind.execute(sa.text("SELECT count(*) FROM event")).scalar():
        op.bulk_insert(meta, [{"key": "rebuild", "value": "1"}])
    if bind.dialect.name == "postgresql":
        bind.execute(sa.text("SELECT setval(pg_get_serial_sequence('delivery', 'id'), "
                             "coalesce((SELECT max(id) FROM delivery), 0) + 1, false)"))


def downgrade() -> None:
    raise NotImplementedError("kaigi 0.2 does not go back to 0.1's tables; restore a backup instead")
