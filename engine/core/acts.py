"""One declared unit per act: every event type with its decision, its fold, its replay and its words.

An event type (engine/core/events.py) is one row of `ACTS` below, which says:

- `replay`: how `audit verify` judges it. `ACT`: a member's act, re-decided by the function
  `decision` (engine/core/decide.py, sittings.py, people.py, papers.py) through the replay
  decider registered with `@acts.replays(...)` in engine/core/replay.py. The system facts,
  judged without a decider: `ADOPTED` (a rulebook text, checked by its hash; by the system at
  init, or by the chief under R-V1), `DELIVERY` (what the scheduler did: a reminder due, sent,
  failed), `REFUSAL` (an attempt the rules refused, kept for the auditor), `LEGACY` (kaigi 0.1
  bookkeeping, a no-op read only in a 0.1 log). `setup`: the system may also write it while
  `kaigi init` sets up; `scheduler`: the scheduler may also write it (the notice it prints).
- `name`: the act as the application names it (`Kaigi.act(actor, name, ...)`), whose words
  `actname.{name}` a refusal prints.
- `history`: the message ids of its history line (`item history`, the audit log, the web's
  history); none: the event's title `event.{Type}` is its line.
- `done`: the message ids a face prints once the act is done (and with --dry-run).

The fold handler is registered with `@acts.folds(...)` in engine/core/fold.py. `missing()`
names what any event type lacks; tests/unit/test_acts_registry.py fails on it.
"""

from collections.abc import Callable
from store.frozen import record
from typing import Any

from engine.core import decide, papers, people, sittings
from engine.core import events as ev

ACT, ADOPTED, DELIVERY, REFUSAL, LEGACY = "act", "adopted", "delivery", "refusal", "legacy"
REPLAY_KINDS = (ACT, ADOPTED, DELIVERY, REFUSAL, LEGACY)


@record
class Declared:
    """One event type as the registry declares it (see the module's docstring)."""

    event: type[ev.Event]
    replay: str
    decision: Callable[..., list[ev.Event]] | None = None
    name: str | None = None
    history: tuple[str, ...] = ()
    done: tuple[str, ...] = ()
    setup: bool = False
    scheduler: bool = False

    @property
    def words(self) -> tuple[str, ...]:
        """Every message id it needs, in both languages."""
        return ((f"event.{self.event.type}",) + ((f"actname.{self.name}",) if self.name else ())
                + self.history + self.done)


def _done(verb: str, said: bool = False) -> tuple[str, ...]:
    return (f"done.{verb}", f"would.{verb}") + ((f"said.{verb}", f"said_would.{verb}") if said else ())


_ROSTER = ("roster.done", "roster.would", "said.roster", "said_would.roster")

ACTS: dict[type[ev.Event], Declared] = {d.event: d for d in (
    # ------------------------------------------------------------ the rules and the roster
    Declared(ev.RulebookAdopted, ADOPTED, people.adopt_rulebook, "adopt_rulebook",
             done=("cutover.moves", "cutover.nothing"), setup=True),
    Declared(ev.BodyAdded, ACT, people.add_body, "add_body", done=("body.added", "body.would"), setup=True),
    Declared(ev.MemberAdded, ACT, people.add_member, "add_member", done=_ROSTER + ("roster.MemberAdded",),
             setup=True),
    Declared(ev.MemberBound, ACT, people.bind_member, "bind_member", done=_ROSTER + ("roster.MemberBound",),
             setup=True),
    Declared(ev.RoleAssigned, ACT, people.assign, "assign",
             done=_ROSTER + ("roster.RoleAssigned", "roster.team", "roster.until"), setup=True),
    Declared(ev.AssignmentEnded, ACT, people.end_assignment, "end_assignment",
             done=_ROSTER + ("roster.AssignmentEnded",)),
    Declared(ev.RecordingDelegated, ACT, people.delegate, "delegate", done=_ROSTER + ("roster.RecordingDelegated",)),
    Declared(ev.DelegationEnded, ACT, people.end_delegation, "end_delegation",
             done=_ROSTER + ("roster.DelegationEnded",)),
    # ------------------------------------------------------------ items
    Declared(ev.ItemFiled, ACT, decide.file_item, "file_item", history=("history.filed",), done=_done("file")),
    Declared(ev.ItemAdvanced, ACT, decide.advance, "advance",
             history=("history.advanced", "history.advanced_in", "history.tabled"), done=_done("advance", True)),
    # ------------------------------------------------------------ meetings
    Declared(ev.MeetingConvened, ACT, sittings.convene, "convene", history=("history.convened",),
             done=_done("convene", True)),
    Declared(ev.AgendaChanged, ACT, sittings.change_agenda, "agenda",
             history=("history.agenda_add", "history.agenda_remove", "history.agenda_move"),
             done=_done("agenda", True)),
    Declared(ev.MeetingHeld, ACT, sittings.hold, "hold",
             history=("history.held", "history.chair_present", "history.chair_absent"), done=_done("hold")),
    Declared(ev.MeetingCancelled, ACT, sittings.cancel, "cancel", history=("history.cancelled",),
             done=_done("cancel")),
    Declared(ev.MeetingMoved, ACT, sittings.move, "move", history=("history.moved", "history.moved_place"),
             done=_done("move")),
    Declared(ev.MinutesRecorded, ACT, sittings.record_minutes, "minutes", history=("history.MinutesRecorded",),
             done=_done("minutes")),
    Declared(ev.MinutesApproved, ACT, sittings.approve_minutes, "approve_minutes",
             history=("history.MinutesApproved",), done=_done("approve")),
    # ------------------------------------------------------------ investigation orders (R-T5)
    Declared(ev.OrderIssued, ACT, people.issue_order, "issue_order", history=("history.order",),
             done=_done("issue_order")),
    Declared(ev.OrderCompleted, ACT, people.complete_order, "complete_order", history=("history.OrderCompleted",),
             done=_done("complete_order")),
    Declared(ev.OrderWaived, ACT, people.waive_order, "waive_order", history=("history.OrderWaived",),
             done=_done("waive_order")),
    # ------------------------------------------------------------ what the scheduler did (system facts)
    Declared(ev.ReminderDue, DELIVERY, history=("history.reminder",)),
    Declared(ev.ReminderSent, DELIVERY, history=("history.sent",)),
    Declared(ev.ReminderFailed, DELIVERY, history=("history.failed",)),
    # ------------------------------------------------------------ refusals kept for the auditor (a system fact)
    Declared(ev.ActRefused, REFUSAL, history=("history.refused",)),
    # ------------------------------------------------------------ web sign-in (R-I5)
    Declared(ev.CredentialSet, ACT, people.set_password, "set_password", done=("password.set",)),
    Declared(ev.TokenCreated, ACT, people.create_token, "create_token", done=("token.created",)),
    Declared(ev.TokenRevoked, ACT, people.revoke_token, "revoke_token", done=("token.revoked",)),
    # ------------------------------------------------------------ kaigi 0.1 bookkeeping (system facts, no-ops)
    Declared(ev.ReminderSet, LEGACY),
    Declared(ev.ReminderCancelled, LEGACY),
    # ------------------------------------------------------------ papers
    Declared(ev.DocumentPrinted, ACT, papers.printed, "print_paper",
             history=("history.DocumentPrinted",), done=("paper.printed",), scheduler=True),
)}

FOLDS: dict[type, Any] = {}  # event class -> fold handler (engine/core/fold.py)
REPLAYS: dict[type, Any] = {}  # event class -> replay decider (engine/core/replay.py), for ACT


def _declared(cls: type[ev.Event]) -> Declared:
    d = ACTS.get(cls)
    if d is None:
        raise LookupError(f"{cls.__name__} is not declared in engine/core/acts.py ACTS")
    return d


def folds(*classes: type[ev.Event]) -> Callable[[Any], Any]:
    """Register a fold handler (engine/core/fold.py) for declared event classes."""
    def wrap(fn: Any) -> Any:
        for cls in classes:
            _declared(cls)
            FOLDS[cls] = fn
        return fn
    return wrap


def replays(*classes: type[ev.Event]) -> Callable[[Any], Any]:
    """Register the replay decider (engine/core/replay.py) of declared acts: it calls `decision` again."""
    def wrap(fn: Any) -> Any:
        for cls in classes:
            if _declared(cls).replay != ACT:
                raise LookupError(f"{cls.__name__} is a system fact ({ACTS[cls].replay}); it has no decider")
            REPLAYS[cls] = fn
        return fn
    return wrap


def confirmation(cls: type[ev.Event], lang: str) -> tuple[str, str]:
    """The message ids a face prints once the act `cls` is done, and with --dry-run: the
    registry's `done` words, `said.*` (the sentence in words) in Japanese where declared."""
    done = _declared(cls).done
    said = [k for k in done if k.startswith("said.")]
    if lang == "ja" and said:
        base = said[0].split(".", 1)[1]
        return f"said.{base}", f"said_would.{base}"
    done_key = next((k for k in done if k.startswith("done.")), None)
    if done_key is None:
        raise LookupError(f"{cls.__name__} declares no done.* words in engine/core/acts.py")
    return done_key, "would." + done_key.split(".", 1)[1]


def of_replay(kind: str) -> tuple[type[ev.Event], ...]:
    return tuple(d.event for d in ACTS.values() if d.replay == kind)


def setup_types() -> tuple[type[ev.Event], ...]:
    """What the system may write while `kaigi init` sets up (replay's SETUP)."""
    return tuple(d.event for d in ACTS.values() if d.setup)


def scheduler_types() -> tuple[type[ev.Event], ...]:
    """Acts the scheduler may also write (the notice it prints), apart from deliveries."""
    return tuple(d.event for d in ACTS.values() if d.scheduler)


def acts() -> list[Declared]:
    """The members' acts (re-decided at replay), in declaration order."""
    return [d for d in ACTS.values() if d.replay == ACT]


def missing(types: dict[str, type[ev.Event]] | None = None) -> list[str]:
    """What any event type lacks, one line each (empty when every act is whole): its
    declaration here, its fold handler, its replay decider (or its declared system-fact kind),
    its decision, and each of its words in Japanese and English."""
    from engine.i18n import LANGS, catalog

    words = catalog()
    out: list[str] = []
    for type_, cls in (ev.REGISTRY if types is None else types).items():
        d = ACTS.get(cls)
        if d is None:
            out.append(f"{type_}: not declared in engine/core/acts.py")
            continue
        if cls not in FOLDS:
            out.append(f"{type_}: no fold handler (engine/core/fold.py @acts.folds)")
        if d.replay not in REPLAY_KINDS:
            out.append(f"{type_}: unknown replay kind {d.replay!r}")
        elif d.replay == ACT:
            if cls not in REPLAYS:
                out.append(f"{type_}: no replay decider (engine/core/replay.py @acts.replays)")
            if d.decision is None:
                out.append(f"{type_}: no decision")
            if d.name is None:
                out.append(f"{type_}: no act name")
        elif cls in REPLAYS:
            out.append(f"{type_}: a system fact ({d.replay}) with a replay decider")
        if (d.replay == LEGACY) != bool(cls.legacy):
            out.append(f"{type_}: @event(legacy=...) and replay kind {d.replay!r} disagree")
        for key in d.words:
            entry = words.get(key)
            for lang in LANGS:
                if not entry or not entry.get(lang):
                    out.append(f"{type_}: no words {key} [{lang}] (engine/i18n/messages.toml)")
    return out
