"""The dispatcher: fires due rungs of planned reminders into messages, and delivers each
message exactly once.

Firing, in one transaction that holds the log's head: the items and meetings whose next
rung is due are read; each due rung becomes a `ReminderDue` fact naming its recipients
(decided now, from who holds the roles now, R-N2), the roles found vacant and a digest of
each message; one delivery row per recipient is written under a unique key (reminder,
rung, recipient). The fold moves the planned reminder on to its next rung. Delivering:
rows are claimed with a lease and sent outside any transaction. Over SMTP each is settled
the moment it is handed over (the server's 250), in its own small transaction, with a
`ReminderSent` or `ReminderFailed` fact. The outbox takes the claimed batch on one open,
locked file, one write per message and one fsync for the batch; then the batch is settled
in one transaction. A crash between sending and settling leaves the row (on the outbox:
the batch) `sending`; when its lease runs out it is sent again with the same Message-ID (a
`resend`): the outbox finds its line already there and does not write it twice; an SMTP
receiver can recognise the repeat. So a crash repeats at most the one SMTP message in
flight, and on the outbox none.
"""

import datetime as dt
import hashlib
import os
import socket
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Protocol

from engine.core.events import ReminderDue, ReminderFailed, ReminderSent
from engine.core.fold import Changes
from engine.core.identity import SCHEDULER
from engine.core.world import World
from engine.core.recipients import recipients, rule_for, subject_order
from engine.reminders.compose import Shapes, compose
from engine.reminders.digests import message_digest, route_digest
from engine.reminders.headers import domain_of, header_token
from engine.reminders.ics import meeting_calendar, method_of
from engine.reminders.senders import Attachment, DeliveryError, Message, Sender
from store.ports import Act, Reads, Store
from store.records import DeliveryRecord, EventRecord


class Recorder(Protocol):
    """What the dispatcher asks of the application (engine/app's `Kaigi`, which it may not
    import: reminders sit below the application): its store, the world an act sees, the
    recording of the scheduler's facts as one act, and the notice paper of a meeting."""

    store: Store
    mail_domain: str

    def training(self, tx: Reads | None = None) -> bool: ...

    def world(self, tx: Reads) -> World: ...

    @staticmethod
    def record(tx: Act, w: World, actor: str, authority: str, identity: str, version: str,
               facts: Sequence[Any], changes: Changes | None = None) -> list[EventRecord]: ...

    @staticmethod
    def save_changes(tx: Act, changes: Changes) -> None: ...

    def print_paper(self, actor: Any, kind: str, subject: int | None = None, *, lang: str = "ja",
                    since: dt.datetime | None = None, until: dt.datetime | None = None,
                    record: bool = True) -> Any: ...


_UNSET = object()
_RUNGS_AT_ONCE = 8  # rungs of one reminder fired in one transaction (the rest: the next batch)


def _due(record: Any, now: dt.datetime) -> bool:
    if record is None:
        return False
    at = record.next_due_at  # (a property: the least of its reminders' times, asked once)
    return at is not None and at <= now


@dataclass
class PassStats:
    fired: int = 0
    sent: int = 0
    retried: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)


def backoff(attempts: int) -> dt.timedelta:
    """1, 2, 4, 8 … minutes, at most an hour."""
    return dt.timedelta(minutes=min(2 ** max(attempts - 1, 0), 60))


def message_id(ident: str, rung: int, login: str, domain: str) -> str:
    """The Message-ID of one delivery: the same for every resend of it (kept in its row)."""
    token = hashlib.sha256(f"{ident}#{rung}#{login}".encode()).hexdigest()[:20]
    return f"<kaigi.{token}.{rung}.{_id_tail(login, domain)}"


@lru_cache(maxsize=1024)  # pure; a pass asks it once per message, of a roster's few logins
def _id_tail(login: str, domain: str) -> str:
    return f"{header_token(login)}@{mail_domain(domain)}>"


@lru_cache(maxsize=64)  # pure, and asked once per message
def mail_domain(domain: str) -> str:
    """The right-hand side of our Message-IDs: the domain of the sender's address, given a
    domain or a whole KAIGI_MAIL_FROM (`推進本部 事務局 <kaigi@example.jp>` gives `example.jp`);
    only letters, digits, dots and hyphens, an IDN IDNA-encoded."""
    return domain_of(domain)


def _addressed(member: Any) -> tuple[str, str]:
    """A member's name for the To header, in their language, and that language."""
    lang = "en" if getattr(member, "lang", "ja") == "en" else "ja"
    name = (getattr(member, "name_en", "") or member.name) if lang == "en" else (member.name or "")
    return name, lang


class Dispatcher:
    def __init__(self, kaigi: Recorder, senders: dict[str, Sender], *, worker: str | None = None,
                 lease: dt.timedelta = dt.timedelta(minutes=5), batch: int = 200, max_attempts: int = 5, after_send: Callable[[DeliveryRecord], None] | None = None,
                 clock: Callable[[], dt.datetime] | None = None, domain: str | None = None,
                 digest: str | None = None, papers: bool = False, base_url: str | None = None) -> None:
        self.kaigi, self.store, self.senders = kaigi, kaigi.store, senders
        self.base_url = base_url  # the web face's address: reminders link to the page of each act
        self.worker = worker or f"{socket.gethostname()}:{os.getpid()}"
        self.lease, self.batch, self.max_attempts = lease, batch, max_attempts
        self.domain = mail_domain(domain or kaigi.mail_domain)
        self._down: dict[int, DeliveryError] = {}  # senders found unreachable for this batch
        self._people: dict[str, tuple[str, str]] = {}  # login -> (name for the To header, lang), per batch
        self._papers: dict[str, Attachment | None] = {}  # sha256 -> the stored document, per batch
        self._routes: dict[str, object] = {}  # channel -> its sender (or None), per batch
        self._rules: tuple[Any, dict[tuple[str, str], Any]] | None = None  # (book, (key, planned under) -> rule)
        self.log_id: str | None = None  # the log's name: the calendar UID of its meetings
        self.after_send = after_send  # test hook: called after a send, before it is settled
        # set when the process is asked to stop (SIGTERM): the pass under way settles the
        # message in flight, hands the rest of its claim back and ends, so the process exits
        # within a message rather than a batch
        self.stopping = threading.Event()
        self.clock = clock or getattr(self.store, "clock", None) or (lambda: dt.datetime.now(dt.UTC))
        # "HH:MM" Japan time: what fires about items and orders waits for that time and goes
        # to each member as one mail a day (a meeting's notice still goes at once)
        self.digest = dt.time.fromisoformat(digest) if digest else None
        # attach the convocation notice (招集通知) as a PDF to each invitation and update: the
        # scheduler prints it once per meeting and language, recorded like any print
        self.papers = papers
        # the message catalog is read once per process, as the roster and rulebook are: here,
        # where a scheduler starts, rather than inside its first pass (tens of milliseconds)
        from engine.i18n import catalog

        catalog()

    # ------------------------------------------------------------ firing rungs
    def fire_due(self, stats: PassStats) -> tuple[int, tuple[dt.datetime, list[DeliveryRecord]] | None]:
        """Turn due rungs into messages, one batch in one transaction; returns how many fired
        and, when some did, the messages claimed for sending in that same transaction (with
        the time of the claim: their lease runs from it).

        An item whose next rung is due as well once this one has fired (a scheduler back
        after downtime: the reminder and its overdue rung) has it fired in the same
        transaction, as the next pass would have; and the claim that hands the batch's
        messages to this scheduler is made there too, not in a transaction of its own: one
        commit (one fsync) where there were three."""
        training = self.kaigi.training()
        with self.store.act() as tx:
            now = tx.now
            items = tx.items(due_by=now, limit=self.batch)
            meetings = tx.meetings(due_by=now)
            if not items and not meetings:
                return 0, None
            w = self.kaigi.world(tx)
            for i in items:  # read just now: the world need not read each again
                w.items[i.id] = i
            for m in meetings:
                w.meetings[m.id] = m
            book = w.book(now)
            self.log_id = tx.meta("log_id")  # a meeting's calendar UID is made from it (R-N6)
            open_meetings = tuple(tx.meetings(status="convened"))
            # the pass's texts by shape and its recipients by rule, rung and body: the roster,
            # the book and the time are the same for every reminder fired in this transaction
            shapes = Shapes(w, book, now, training, open_meetings, self.base_url)
            self._rules = None  # the reminders' rules, looked up afresh for this transaction
            reached: dict[tuple[int, int, str], tuple[Any, list[str], list[str]]] = {}
            rows: list[DeliveryRecord] = []
            fired = 0
            changes = Changes()  # an item whose overdue rung fires too is written once, not per rung
            item_ids, meeting_ids = [i.id for i in items], [m.id for m in meetings]
            for _ in range(_RUNGS_AT_ONCE):
                facts: list[Any] = []
                subjects: list[tuple[Any, int | None, int | None]] = [(p, i, None) for i in item_ids for p in w.items[i].reminders
                            if p.next_at and p.next_at <= now]
                subjects += [(p, None, m) for m in meeting_ids for p in w.meetings[m].reminders
                             if p.next_at and p.next_at <= now]
                for p, item_id, meeting_id in subjects:
                    fact, msgs = self._fire(w, book, p, item_id, meeting_id, now, training, open_meetings,
                                            shapes, reached)
                    if fact is None:
                        continue
                    facts.append(fact)
                    rows += msgs
                if not facts:
                    break
                self.kaigi.record(tx, w, SCHEDULER.login, SCHEDULER.login, SCHEDULER.identity, book.version, facts,
                                  changes)
                fired += len(facts)
                # what is still due after the fold moved each reminder on (its overdue rung)
                item_ids = [i for i in item_ids if _due(w.items.get(i), now)]
                meeting_ids = [m for m in meeting_ids if _due(w.meetings.get(m), now)]
                if not item_ids and not meeting_ids:
                    break
            if not fired:
                return 0, None
            self.kaigi.save_changes(tx, changes)
            tx.add_deliveries(rows)
            claim_at = max(self.clock(), now)  # now, after composing: the lease is counted from here
            claimed = tx.claim_deliveries(claim_at, self.worker, self.lease, max(self.batch, len(rows)))
            stats.fired += fired
        return fired, (claim_at, claimed)

    def _fire(self, w: Any, book: Any, p: Any, item_id: int | None, meeting_id: int | None, now: dt.datetime,
              training: bool, open_meetings: tuple[Any, ...], shapes: Shapes | None = None,
              reached: dict[tuple[int, int, str], tuple[Any, list[str], list[str]]] | None = None,
              ) -> tuple[ReminderDue | None, list[DeliveryRecord]]:
        rules = self._rules
        if rules is None or rules[0] is not book:  # (the rules of one book: looked up once per pass)
            rules = self._rules = (book, {})
        found = rules[1].get((p.key, p.book), _UNSET)
        if found is _UNSET:
            found = rules[1][(p.key, p.book)] = rule_for(w, book, p.key, p.book)
        rule = found
        if rule is None:
            return None, []
        rung, ident = p.fired, p.ident  # (the identity is made from its fields: once)
        item = w.items[item_id] if item_id is not None else None
        if reached is not None and item is not None and meeting_id is None and subject_order(ident) is None:
            # about an item alone: its recipients are the holders of the rung's roles for its body
            # (no meeting's people, no order's addressee), the same for every item of that body
            key = (id(rule), rung, item.body)
            hit = reached.get(key)
            if hit is None or hit[0] is not rule:
                hit = reached[key] = (rule, *recipients(w, book, rule, rung, item_id, None, ident, now))
            who, vacant = list(hit[1]), list(hit[2])
        else:
            who, vacant = recipients(w, book, rule, rung, item_id, meeting_id, ident, now)
        meeting = w.meetings[meeting_id] if meeting_id is not None else None
        ics = meeting_calendar(book, meeting, w.members, now, self.log_id) if meeting is not None else None
        msgs, digests, routes = [], [], []
        slot = self._slot(now, meeting_id)
        for login in who:
            to = w.members[login]
            text = compose(w, book, rule, p, rung, to, item, meeting, now, training, open_meetings,
                           base_url=self.base_url, shapes=shapes)
            digests.append(message_digest(login, text.subject, text.body))
            address = to.email if to.channel == "email" else login
            routes.append(route_digest(login, to.channel, address or "", ics))
            msgs.append(DeliveryRecord(
                id=0, dedupe_key=f"{ident}#{rung}#{login}", reminder=ident, rung=rung, recipient=login,
                channel=to.channel, address=address,
                message_id=message_id(ident, rung, login, self.domain), subject=text.subject, body=text.body,
                ics=ics, status="pending", attempts=0, next_attempt_at=slot, item=item_id,
                meeting=meeting_id))
        fact = ReminderDue(item=item_id, meeting=meeting_id, reminder=ident, key=p.key, rung=rung,
                           recipients=tuple(who), deadline=p.next_at, vacant=tuple(vacant), digests=tuple(digests),
                           routes=tuple(routes))
        return fact, msgs

    def _slot(self, now: dt.datetime, meeting_id: int | None) -> dt.datetime:
        """When a queued message may go: now, or with a digest the next digest time."""
        if self.digest is None or meeting_id is not None:
            return now
        from engine.infra.timeutil import JST

        local = now.astimezone(JST)
        at = dt.datetime.combine(local.date(), self.digest, JST)
        return (at if at >= local else at + dt.timedelta(days=1)).astimezone(dt.UTC)

    # ------------------------------------------------------------ delivering
    def deliver_due(self, stats: PassStats, claim: tuple[dt.datetime, list[DeliveryRecord]] | None = None) -> int:
        """Claim due messages, send them, settle them; returns how many were claimed.

        Why settle SMTP one by one: the settling is what tells the next scheduler not to send
        again, so whatever is handed over but unsettled when a process dies is sent twice.
        One message at a time bounds that to the message in flight (at about a millisecond's
        transaction each). A batching sender (the outbox: `batched`, `flush`) can tell a
        resend it already holds, so its batch is settled at once after one fsync (`_settle`
        flushes first): a death before that leaves the batch unsettled, and its resends
        write nothing twice (an old main settled every 100 without that look and sent 71 of
        360 twice)."""
        if claim is None:
            with self.store.act(head=False) as tx:
                now = tx.now
                claimed = tx.claim_deliveries(now, self.worker, self.lease, self.batch)
        else:  # claimed by fire_due, in the transaction that made them
            now, claimed = claim
        if not claimed:
            return 0
        # Past most of our lease another scheduler may take over what we have not sent; stop
        # and hand it back rather than send it twice (slow SMTP, a long batch).
        stop_at = now + self.lease * 0.8
        with self._connected(claimed):
            if self.papers:
                claimed = self._with_notices(claimed)
            if self.digest is not None:
                claimed = self._send_digests(claimed, stats)
            held: list[tuple[DeliveryRecord, DeliveryError | None]] = []  # handed to a batching sender
            for n, d in enumerate(claimed):
                if self.clock() >= stop_at or self.stopping.is_set():
                    self._settle(held, stats)
                    held = []
                    with self.store.act(head=False) as tx:
                        tx.release_deliveries([x.id for x in claimed[n:]], self.worker)
                    break
                err = self._send(d)
                if self.after_send is not None:
                    self.after_send(d)
                if getattr(self._sender_for(d), "batched", False):
                    held.append((d, err))
                else:
                    self._settle([(d, err)], stats)
            self._settle(held, stats)
        return len(claimed)

    @contextmanager
    def _connected(self, claimed: list[DeliveryRecord]) -> Iterator[None]:
        """Senders that keep a connection (SMTP) open one for the batch, so each message is
        settled right after the server's 250 for it, not after a QUIT. A server that cannot be
        reached fails the batch's messages with that one error (transient: retried with
        backoff) instead of a connection timeout per message."""
        self._down, self._papers, self._routes = {}, {}, {}
        with self.store.read() as tx:  # the roster as of now: the application's copy while the roster has not moved
            self._people = {m.login: _addressed(m) for m in self.kaigi.world(tx).members.values()}
        with ExitStack() as stack:
            for sender in {id(s): s for s in map(self._sender_for, claimed) if s is not None}.values():
                if not hasattr(sender, "open"):
                    continue
                try:
                    sender.open()
                except DeliveryError as err:
                    self._down[id(sender)] = err
                    continue
                stack.callback(sender.close)  # type: ignore[attr-defined]  # one with open() has close()
            try:
                yield
            finally:
                self._down, self._people, self._papers, self._routes = {}, {}, {}, {}

    def _sender_for(self, d: DeliveryRecord) -> Sender | None:
        """The sender of a message's channel (else the outbox, else mail): looked up once per
        channel and batch (`_connected` starts each batch afresh), asked four times a message."""
        sender = self._routes.get(d.channel, _UNSET)
        if sender is _UNSET:
            sender = self._routes[d.channel] = (self.senders.get(d.channel) or self.senders.get("outbox")
                                                or self.senders.get("email"))
        return sender  # type: ignore[return-value]

    def _send_digests(self, claimed: list[DeliveryRecord], stats: PassStats) -> list[DeliveryRecord]:
        """Send one mail per recipient for their item and order messages claimed together;
        returns the rest (meeting notices, lone messages), sent one by one as usual. The
        digest's Message-ID comes from the rows it carries: a resend after a crash is the
        same mail."""
        groups: dict[tuple[str, str, str | None], list[DeliveryRecord]] = {}
        rest = []
        for d in claimed:
            if d.meeting is None and d.attachment is None:
                groups.setdefault((d.recipient, d.channel, d.address), []).append(d)
            else:
                rest.append(d)
        for (login, _channel, _address), rows in groups.items():
            if len(rows) == 1:
                rest.append(rows[0])
                continue
            err = self._send(self._digest_of(login, rows))
            self._settle([(d, err) for d in rows], stats)
        return sorted(rest, key=lambda d: d.id)

    def _digest_of(self, login: str, rows: list[DeliveryRecord]) -> DeliveryRecord:
        from engine.i18n import t, when

        with self.store.read() as tx:
            member = next((m for m in tx.roster()[1] if m.login == login), None)
        lang = member.lang if member is not None else "ja"
        now = self.clock()
        subject = t("digest.subject", lang, n=len(rows), day=when(now, lang, date_only=True))
        parts = [t("digest.intro", lang, n=len(rows))]
        parts += [f"{'=' * 60}\n{d.subject}\n\n{d.body}" for d in rows]
        ids = "-".join(str(d.id) for d in sorted(rows, key=lambda d: d.id))
        token = hashlib.sha256(ids.encode()).hexdigest()[:20]
        first = rows[0]
        return DeliveryRecord(
            id=0, dedupe_key=f"digest#{ids}", reminder="digest", rung=0, recipient=login, channel=first.channel,
            address=first.address, message_id=f"<kaigi.digest.{token}@{self.domain}>", subject=subject,
            body="\n\n".join(parts), ics=None, status="sending", attempts=first.attempts, next_attempt_at=now)

    def _send(self, d: DeliveryRecord) -> DeliveryError | None:
        sender = self._sender_for(d)
        if sender is None:
            return DeliveryError(f"no delivery channel configured for {d.channel}", transient=True)
        down = self._down.get(id(sender))
        if down is not None:
            return down
        to = (d.address,) if d.address else ()
        name, lang = self._people.get(d.recipient, ("", "ja"))
        attachments: tuple[Attachment, ...] = ()
        if d.attachment is not None:
            try:
                paper = self._paper(d.attachment)
            except Exception as err:  # noqa: BLE001 (the database may be back on the next try)
                return DeliveryError(f"its attachment could not be read: {type(err).__name__}", transient=True)
            if paper is None:  # cannot be built: failed once, not retried
                return DeliveryError(f"message {d.message_id} cannot be sent: its attachment "
                                     f"{d.attachment[:12]}… is not stored", transient=False)
            attachments = (paper,)
        try:
            # claimed before (attempts counts claims): a scheduler may have died after handing it over
            sender.send(Message(message_id=d.message_id, to=to, subject=d.subject, body=d.body, ics=d.ics,
                                ics_method=method_of(d.ics), resend=d.attempts > 1, names=(name,) if to else (),
                                lang=lang, attachments=attachments))
        except DeliveryError as err:
            return err
        except Exception as err:  # noqa: BLE001 (a sender's bug must not lose the message)
            return DeliveryError(f"{type(err).__name__}: {err}", transient=True)
        return None

    def _with_notices(self, claimed: list[DeliveryRecord]) -> list[DeliveryRecord]:
        """Invitations and updates carry the meeting's convocation notice as a PDF (R-N5).

        Printed once per meeting and language, outside any transaction (rendering takes a
        second), then recorded as the scheduler's `DocumentPrinted` right after the head its
        anchor names, the PDF stored and the rows pointed at it, in one transaction; so a
        resend carries the very same paper and `document verify` vouches for it. A paper that
        cannot be printed now (fonts missing, the log moving on under it) leaves the mail to
        go without it: the invitation matters more than its attachment."""
        want: dict[tuple[int, str], list[DeliveryRecord]] = {}
        for d in claimed:
            if d.meeting is not None and d.attachment is None and method_of(d.ics) == "REQUEST":
                want.setdefault((d.meeting, self._people.get(d.recipient, ("", "ja"))[1]), []).append(d)
        attached: dict[int, str] = {}
        for (meeting, lang), rows in want.items():
            try:
                sha = self._print_notice(meeting, lang, rows)
            except Exception as err:  # noqa: BLE001 (the mail goes without the paper)
                from engine.infra.logs import get_logger

                get_logger().warning("notice not printed", meeting=meeting, error=f"{type(err).__name__}: {err}"[:200])
                continue
            if sha is not None:
                attached.update((d.id, sha) for d in rows)
        if not attached:
            return claimed
        from dataclasses import replace

        return [replace(d, attachment=attached[d.id]) if d.id in attached else d for d in claimed]

    def _print_notice(self, meeting: int, lang: str, rows: list[DeliveryRecord]) -> str | None:
        from engine.core.events import DocumentPrinted
        from store.records import DocumentRecord

        for _ in range(3):
            out = self.kaigi.print_paper(None, "notice", meeting, lang=lang, record=False)  # viewer None: all of it
            with self.store.act() as tx:
                if tx.head().seq != out.anchor.head_seq:
                    continue  # another act came between: print again at the new head
                w = self.kaigi.world(tx)
                m = w.meetings.get(meeting)
                if m is None or m.status != "convened":
                    return None
                tx.put_document(DocumentRecord(out.sha256, out.filename, "application/pdf", out.pdf))
                fact = DocumentPrinted(item=None, meeting=meeting, kind="notice", lang=lang, sha256=out.sha256,
                                       of_seq=out.anchor.of_seq, head_seq=out.anchor.head_seq)
                self.kaigi.record(tx, w, SCHEDULER.login, SCHEDULER.login, SCHEDULER.identity,
                                  w.book(tx.now).version, [fact])
                for d in rows:
                    tx.settle_delivery(d.id, self.worker, attachment=out.sha256)
                self._papers[out.sha256] = Attachment(out.filename, "application/pdf", out.pdf)
                sha256: str = out.sha256  # (the kaigi is untyped here: the reminders sit below engine.app)
                return sha256
        return None

    def _paper(self, sha256: str) -> Attachment | None:
        """The stored document a delivery carries (read once per batch however many carry it)."""
        if sha256 not in self._papers:
            with self.store.read() as tx:
                doc = tx.document(sha256)
            self._papers[sha256] = None if doc is None else Attachment(doc.name, doc.media_type, bytes(doc.content))
        return self._papers[sha256]

    def _flushed(self, settled: list[tuple[DeliveryRecord, DeliveryError | None]]
                 ) -> list[tuple[DeliveryRecord, DeliveryError | None]]:
        """Before anything is settled sent, what a batching sender (the outbox) accepted is made
        durable (one fsync for the batch); if it cannot be, those messages are not sent."""
        failed: dict[int, DeliveryError] = {}
        for sender in {id(s): s for s in (self._sender_for(d) for d, err in settled if err is None)
                       if s is not None and getattr(s, "batched", False)}.values():
            try:
                sender.flush()  # type: ignore[attr-defined]
            except DeliveryError as err:
                failed[id(sender)] = err
        if not failed:
            return settled
        return [(d, failed.get(id(self._sender_for(d)), err) if err is None else err) for d, err in settled]

    def _settle(self, settled: list[tuple[DeliveryRecord, DeliveryError | None]], stats: PassStats) -> None:
        if not settled:
            return
        settled = self._flushed(settled)
        with self.store.act() as tx:
            now = tx.now
            w = self.kaigi.world(tx)
            facts: list[Any] = []
            # the sent ones in one statement; a row another scheduler's lease took over is left
            held = tx.settle_sent([d.id for d, err in settled if err is None], self.worker, now)
            for d, err in settled:
                if err is None:
                    if d.id in held:
                        facts.append(ReminderSent(item=d.item, meeting=d.meeting, reminder=d.reminder, rung=d.rung,
                                                  recipient=d.recipient, channel=d.channel, message_id=d.message_id))
                        stats.sent += 1
                    continue
                final = not err.transient or d.attempts >= self.max_attempts
                values: dict[str, Any] = {"last_error": str(err)[:500], "claimed_by": None, "lease_until": None}
                if final:
                    values["status"] = "failed"
                else:
                    values.update(status="pending", next_attempt_at=now + backoff(d.attempts))
                if tx.settle_delivery(d.id, self.worker, **values):
                    if final:
                        facts.append(ReminderFailed(item=d.item, meeting=d.meeting, reminder=d.reminder, rung=d.rung,
                                                    recipient=d.recipient, attempts=d.attempts, error=str(err)[:500]))
                        stats.failed += 1
                    else:
                        stats.retried += 1
            if facts:
                self.kaigi.record(tx, w, SCHEDULER.login, SCHEDULER.login, SCHEDULER.identity,
                                  w.book(now).version, facts)

    # ------------------------------------------------------------ a pass
    def run_once(self) -> PassStats:
        """Fire and deliver everything due now (after downtime: all that is overdue, once)."""
        from engine.infra.collector import held_off

        stats = PassStats()
        for _ in range(100000):
            if self.stopping.is_set():
                break
            # a batch makes thousands of records and leaves next to no cycles: the collector
            # is held off while it runs (each generation-0 collection walked the batch's live
            # records, and now and then every object of the process), back on between batches
            with held_off():
                fired, claimed = self.fire_due(stats)
                sent = self.deliver_due(stats, claimed)
            if not fired and not sent:
                break
        return stats

    def next_due(self) -> dt.datetime | None:
        with self.store.read() as tx:
            return tx.next_due() if hasattr(tx, "next_due") else None
