"""The dispatcher: fires due reminder rungs into messages, and delivers messages exactly once.

Firing: due reminders are taken under the log's write lock (and `FOR UPDATE SKIP LOCKED`
on PostgreSQL); each rung becomes a `ReminderDue` event naming its recipients, decided
now from who holds the role now, and one delivery row per recipient with a unique key
(reminder, rung, recipient, deadline). Delivering: rows are claimed with a lease, sent
outside any transaction, then marked with a `ReminderSent` or `ReminderFailed` event.
A crash between sending and marking leaves the row `sending`; when its lease runs out it
is sent again with the same Message-ID, so the receiver can recognise the repeat.
"""

import datetime as dt
import os
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from engine import authority as au
from engine import reminders as rem
from engine.delivery import DeliveryError, Message, Sender
from engine.messages import compose
from engine.service import Service, StoreRoster
from engine.state import World, apply
from store.chain import instant
from store.records import DeliveryRecord, ReminderRecord

SCHEDULER = "scheduler"
SYSTEM = "system"


@dataclass
class PassStats:
    fired: int = 0
    sent: int = 0
    retried: int = 0
    failed: int = 0
    cancelled: int = 0
    errors: list[str] = field(default_factory=list)


def backoff(attempts: int) -> dt.timedelta:
    """1, 2, 4, 8 … minutes, at most an hour."""
    return dt.timedelta(minutes=min(2 ** max(attempts - 1, 0), 60))


class Dispatcher:
    def __init__(self, service: Service, senders: dict[str, Sender], *, worker: str | None = None,
                 lease: dt.timedelta = dt.timedelta(minutes=5), batch: int = 200, mark_every: int = 1,
                 max_attempts: int = 5, domain: str = "kaigi.local",
                 after_send: Callable[[DeliveryRecord], None] | None = None) -> None:
        self.svc, self.store, self.senders = service, service.store, senders
        self.worker = worker or f"{socket.gethostname()}:{os.getpid()}"
        self.lease, self.batch, self.mark_every, self.max_attempts = lease, batch, mark_every, max_attempts
        self.domain = domain
        self.after_send = after_send  # test hook: called after a send, before it is marked

    # ------------------------------------------------------------ firing rungs
    def fire_due(self, stats: PassStats) -> int:
        """Turn due rungs into messages, one batch in one transaction; returns how many fired."""
        now = self.svc.clock.now()
        with self.store.act() as tx:
            due = self.store.reminders(due_by=now, limit=self.batch, lock=True)
            if not due:
                return 0
            book = self.svc.book(now)
            roster = StoreRoster(self.store)
            members = {m.login: m for m in self.store.members()}
            world = World(reminders={r.id: r for r in due})
            self._items = {i.id: i for i in self.store.items(ids=sorted({r.item for r in due if r.item}))}
            rows: list[dict[str, Any]] = []
            for r in due:
                rule = rem.rule_of(book, r.key)
                if rule is None:  # the rulebook in force no longer has it
                    ev = tx.append(at=now, actor=SCHEDULER, authority=SYSTEM, rulebook=book.version,
                                   type="ReminderCancelled", payload={"id": r.id, "reason": "not in the rulebook"},
                                   item=r.item, meeting=r.meeting)
                    tx.save_all(apply(world, ev))
                    stats.cancelled += 1
                    continue
                rows += self._fire(tx, world, book, rule, r, now, roster, members)
                stats.fired += 1
            tx.add_deliveries(rows)
        return len(due)

    def _fire(self, tx: Any, world: World, book: Any, rule: Any, r: ReminderRecord, now: dt.datetime,
              roster: StoreRoster, members: dict[str, Any]) -> list[dict[str, Any]]:
        rung = r.next_rung
        item = self._items.get(r.item) if r.item is not None else None
        meeting = self.store.meeting(r.meeting) if r.meeting is not None else None
        recipients = self._recipients(book, rule, rung, r, meeting, roster, now)
        deadline = r.next_at or r.due_at
        nxt = rem.rung_at(book, rule, r.due_at, rung + 1)
        ev = tx.append(at=now, actor=SCHEDULER, authority=SYSTEM, rulebook=book.version, type="ReminderDue",
                       payload={"id": r.id, "key": r.key, "rung": rung, "recipients": recipients,
                                "deadline": instant(deadline), "next_at": instant(nxt) if nxt else None},
                       item=r.item, meeting=r.meeting)
        tx.save_all(apply(world, ev))
        may_act = au.holders(roster, book, [x for x in rule.recipients(0) if x in book.roles], r.body, now)
        rows = []
        for login in recipients:
            to = members[login]
            text = compose(book, rule, r, rung, to, deadline, item, meeting, may_act)
            key = f"{r.id}:{rung}:{login}:{instant(deadline)}"
            rows.append({"dedupe_key": key, "reminder_id": r.id, "rung": rung, "recipient": login,
                         "channel": to.channel, "address": to.email if to.channel == "email" else login,
                         "message_id": f"<kaigi.{r.id}.{rung}.{login}.{deadline:%Y%m%dT%H%M%SZ}@{self.domain}>",
                         "subject": text.subject, "body": text.body,
                         "ics": self._ics(book, meeting, members, now) if rule.waits_kind == "meeting" else None,
                         "status": "pending", "attempts": 0, "next_attempt_at": now, "created_at": now})
        return rows

    def _recipients(self, book: Any, rule: Any, rung: int, r: ReminderRecord, meeting: Any,
                    roster: StoreRoster, now: dt.datetime) -> list[str]:
        """Who holds the rung's roles now, for the reminder's own body (a station's stay its own)."""
        who: set[str] = set()
        roles = [x for x in rule.recipients(rung) if x in book.roles]
        who |= set(au.holders(roster, book, roles, r.body, now))
        if "attendees" in rule.recipients(rung) and meeting is not None:
            who |= set(meeting.attendees) | set(meeting.invited)
        if "ordered" in rule.recipients(rung) and r.order is not None:
            who |= {o.to for o in self.store.orders(ids=[r.order])}
        return sorted(who)

    def _ics(self, book: Any, meeting: Any, members: dict[str, Any], now: dt.datetime) -> str | None:
        if meeting is None:
            return None
        from engine.messages import meeting_calendar

        return meeting_calendar(book, meeting, members, now, self.domain)

    # ------------------------------------------------------------ delivering
    def deliver_due(self, stats: PassStats) -> int:
        """Claim due messages, send them, mark them; returns how many were claimed."""
        now = self.svc.clock.now()
        claimed = self.store.claim_deliveries(now, self.worker, self.lease, self.batch)
        # Past most of our lease another scheduler may take over what we have not sent; stop
        # and hand it back rather than send it twice (slow SMTP, a long batch).
        stop_at = now + self.lease * 0.8
        settled: list[tuple[DeliveryRecord, DeliveryError | None]] = []
        for n, d in enumerate(claimed):
            if self.svc.clock.now() >= stop_at:
                self._mark(settled, stats)
                settled = []
                self.store.release_deliveries([x.id for x in claimed[n:]], self.worker)
                break
            settled.append((d, self._send(d)))
            if self.after_send is not None:
                self.after_send(d)
            if len(settled) >= self.mark_every:
                self._mark(settled, stats)
                settled = []
        self._mark(settled, stats)
        return len(claimed)

    def _send(self, d: DeliveryRecord) -> DeliveryError | None:
        sender = self.senders.get(d.channel) or self.senders.get("outbox") or self.senders.get("email")
        if sender is None:
            return DeliveryError(f"no delivery channel configured for {d.channel}", transient=True)
        to = (d.address,) if d.address else ()
        try:
            sender.send(Message(message_id=d.message_id, to=to, subject=d.subject, body=d.body, ics=d.ics))
        except DeliveryError as err:
            return err
        except Exception as err:  # noqa: BLE001 (a sender's bug must not lose the message)
            return DeliveryError(f"{type(err).__name__}: {err}", transient=True)
        return None

    def _mark(self, settled: list[tuple[DeliveryRecord, DeliveryError | None]], stats: PassStats) -> None:
        if not settled:
            return
        now = self.svc.clock.now()
        version = self.svc.book(now).version
        with self.store.act() as tx:
            world = World(reminders={r.id: r for r in self.store.reminders(
                status=None, ids=sorted({d.reminder for d, _ in settled}))})
            for d, err in settled:
                if err is None:
                    if tx.mark_delivery(d.id, self.worker, status="sent", sent_at=now, last_error=None):
                        ev = tx.append(at=now, actor=SCHEDULER, authority=SYSTEM, rulebook=version,
                                       type="ReminderSent", payload={"id": d.reminder, "rung": d.rung,
                                                                    "recipient": d.recipient, "channel": d.channel,
                                                                    "message_id": d.message_id})
                        apply(world, ev)
                        stats.sent += 1
                    continue
                final = not err.transient or d.attempts >= self.max_attempts
                values: dict[str, Any] = {"last_error": str(err)[:500], "claimed_by": None, "lease_until": None}
                if final:
                    values["status"] = "failed"
                else:
                    values.update(status="pending", next_attempt_at=now + backoff(d.attempts))
                if tx.mark_delivery(d.id, self.worker, **values):
                    if final:
                        ev = tx.append(at=now, actor=SCHEDULER, authority=SYSTEM, rulebook=version,
                                       type="ReminderFailed", payload={"id": d.reminder, "rung": d.rung,
                                                                      "recipient": d.recipient, "attempts": d.attempts,
                                                                      "error": str(err)[:500]})
                        apply(world, ev)
                        stats.failed += 1
                    else:
                        stats.retried += 1

    # ------------------------------------------------------------ a pass
    def run_once(self) -> PassStats:
        """Fire and deliver everything due now (after downtime: all that is overdue, once)."""
        stats = PassStats()
        for _ in range(100000):
            fired = self.fire_due(stats)
            claimed = self.deliver_due(stats)
            if not fired and not claimed:
                break
        return stats
