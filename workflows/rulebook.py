"""The rulebook as frozen data: bodies, roles, positions, meetings, the item path, reminders.

No I/O here; `loader.py` builds these from text and `checks.py` proves they hold together.
The engine reads a `Rulebook`; it never hard-codes a role or a state.
"""

import datetime as dt
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Title:
    """A name in both languages; the rulebook is the only source of either."""

    ja: str
    en: str

    def in_(self, lang: str) -> str:
        return self.ja if lang == "ja" else self.en

    def both(self) -> str:
        return f"{self.en} ({self.ja})"


@dataclass(frozen=True, slots=True)
class BodyKind:
    """A kind of body of the organisation (an HQ, a station HQ, a district).

    `top`: the organisation's top body (one kind; `kaigi init` founds its body, and its
    organiser holds the book's top role). A book that names none takes its first kind.
    `reports_to`: the kind whose body this kind's bodies report up to (a station HQ to the
    HQ, a district to the city HQ); its members see what became of those reports (R-R1).
    `through`: the roles of that body a report passes through on its way (R-P3), for people
    and papers to read. `head`: the role that heads a body of this kind (appointed by the
    top body's organiser, R-P1). `start`: the state an item filed at such a body begins in
    (the book's first transition's source when not said).
    """

    key: str
    title: Title
    top: bool = False
    reports_to: str | None = None
    through: tuple[str, ...] = ()
    head: str | None = None
    start: str | None = None


@dataclass(frozen=True, slots=True)
class Role:
    key: str
    title: Title
    body: str
    assumed: bool = False
    records_on_behalf_only: bool = False


@dataclass(frozen=True, slots=True)
class Team:
    key: str
    title: Title


@dataclass(frozen=True, slots=True)
class Pillar:
    """One pillar of 第3 that the measures serve (R-X1); an item names the pillars it serves."""

    key: str
    title: Title


@dataclass(frozen=True, slots=True)
class Position:
    """A post (ポスト) that holds a role; `succeeds` names the post it replaced (R-V1)."""

    key: str
    title: Title
    role: str
    succeeds: str | None = None
    rule: str | None = None
    assumed: bool = False


@dataclass(frozen=True, slots=True)
class MeetingKind:
    """A kind of meeting: who convenes and presides, who attends, who may invite, who keeps
    its business (agenda, minutes, outcomes).

    `calls`: for a meeting without members as of right, the roles the convener may call
    (R-S2). `recorders`: who records outcomes besides the chair (R-C5). `agenda`: who keeps
    the agenda before the sitting (R-M3); `minutes`: who records the minutes (R-M4); both
    default to the recorders, else the convener. `chair_present`: outcomes only for a
    sitting its chair attended (R-M1); `recorder_present`: whoever records an outcome was
    there (R-M2). Both are off in a rulebook that does not say them (kaigi 0.1's reading).
    """

    key: str
    title: Title
    body: str
    convener: str
    members: tuple[str, ...]
    calls: tuple[str, ...]
    invite: tuple[str, ...]
    recorders: tuple[str, ...]
    rule: str
    member_rule: str
    invite_rule: str
    agenda: tuple[str, ...] = ()
    minutes: tuple[str, ...] = ()
    chair_present: bool = False
    recorder_present: bool = False
    clause: str = ""  # the circular's clause that sets this meeting up (第2 1(3)), for its papers

    @property
    def recorder_roles(self) -> tuple[str, ...]:
        """The chair (the convener presides) first, then those who run its business."""
        return (self.convener, *[r for r in self.recorders if r != self.convener])

    @property
    def agenda_roles(self) -> tuple[str, ...]:
        return self.agenda or self.recorders or (self.convener,)

    @property
    def minutes_roles(self) -> tuple[str, ...]:
        return self.minutes or self.recorders or (self.convener,)


@dataclass(frozen=True, slots=True)
class StateDef:
    key: str
    title: Title
    waits: Title | None
    final: bool


@dataclass(frozen=True, slots=True)
class TransitionDef:
    """One edge of the item path and what it needs: a held meeting, or a role acting alone."""

    trigger: str
    source: str
    dest: str
    items: str
    rule: str
    meeting: str | None = None
    roles: tuple[str, ...] = ()
    filer: bool = False
    requires: tuple[str, ...] = ()
    fired_by: str | None = None
    spawns: str | None = None


@dataclass(frozen=True, slots=True)
class Rung:
    after: int
    to: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ReminderRule:
    """What waits, who is reminded when, and the rungs it climbs when ignored."""

    key: str
    waits_on: str
    title: Title
    remind: tuple[str, ...]
    due: int
    unit: str
    escalate: tuple[Rung, ...]
    cancelled_by: str | None
    command: str
    setting: bool
    items: str | None = None
    starts: str | None = None
    # a meeting's notice (R-N4): when it goes besides the day before — "convened" (the
    # invitation at convening), "changed" (an update when agenda, time or place change),
    # "cancelled" (a cancellation to those notified). Empty: kaigi 0.2's notice, the day
    # before only, as logs adopted under a rulebook without it were written.
    notify: tuple[str, ...] = ()
    # R-C7: what restarts the wait while the item stays in its state — "sitting" (a sitting
    # that left it undealt with, as rulebooks written before) or "outcome" (only a recorded
    # outcome, e.g. a progress `check`: a sitting with no outcome moves no deadline).
    restarts: str = "sitting"
    waits_kind: str = field(default="", compare=False)
    waits_state: str | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        kind, _, name = self.waits_on.partition(":")  # read on every fold: parsed once
        object.__setattr__(self, "waits_kind", kind)
        object.__setattr__(self, "waits_state", name if kind == "state" else None)

    def recipients(self, rung: int) -> tuple[str, ...]:
        """The roles reminded at rung 0, then those escalated to at each later rung."""
        return self.remind if rung == 0 else self.escalate[rung - 1].to


@dataclass(frozen=True, slots=True)
class Powers:
    """Powers given to roles outside meetings (R-P1, R-V1, R-T5), named for any organisation.

    `organise_top`: who organises the top body (the first of them is the book's top role,
    the one `kaigi init --chief` gives the first member); `organise_body`: who organises a
    body below it (their own); `body_head`: the role heading a body below the top (a kind's
    own `head` overrides it); `top_in_body`: what the top organiser may assign inside a lower
    body, "head" (its head post only, R-P4) or "all". Rulebooks adopted before kaigi 0.3
    said `organise_hq`, `organise_station`, `station_head`, `hq_at_station`: the loader
    reads those names as these. The defaults are kaigi 0.1's reading of the Ibaraki circular,
    for the logs adopted under a book without `[powers]`.
    """

    organise_top: tuple[str, ...] = ("chief",)
    organise_body: tuple[str, ...] = ("station_chief",)
    body_head: str = "station_chief"
    top_in_body: str = "all"
    adopt_rulebook: tuple[str, ...] = ("chief",)
    order: tuple[str, ...] = ("general_manager",)
    ordered: tuple[str, ...] = ("team_leader",)
    order_state: str = "pre_review"


@dataclass(frozen=True, slots=True)
class Rulebook:
    """One version of the rules. `text` is the exact source; `sha256` fingerprints it."""

    key: str
    version: str
    effective_from: dt.date
    title: Title
    source: str
    office_closure: tuple[str, str]
    body_kinds: dict[str, BodyKind]
    roles: dict[str, Role]
    teams: dict[str, Team]
    positions: dict[str, Position]
    meetings: dict[str, MeetingKind]
    states: dict[str, StateDef]
    transitions: tuple[TransitionDef, ...]
    reminders: tuple[ReminderRule, ...]
    powers: Powers
    text: str = field(repr=False, compare=False)
    sha256: str
    origin: str = field(compare=False)
    _index: dict[object, object] = field(default_factory=dict, repr=False, compare=False)
    pillars: dict[str, Pillar] = field(default_factory=dict)  # 第3's pillars (R-X1); none in an older book
    # the words of the organisation's acts: a trigger's title (`[triggers.refer]`: 付議 / refer)
    # and filing's (`[filing]`: 起案 / file); kaigi's own words stand where a book says none
    trigger_titles: dict[str, Title] = field(default_factory=dict)
    filing: Title | None = None

    @property
    def top_kind(self) -> str:
        """The key of the top body kind: the one marked `top`, else the first declared."""
        for k, b in self.body_kinds.items():
            if b.top:
                return k
        return next(iter(self.body_kinds), "")

    @property
    def top_role(self) -> str:
        """The role that organises the top body (the HQ chief): the first member holds it."""
        return self.powers.organise_top[0] if self.powers.organise_top else ""

    def head_of(self, kind: str) -> str | None:
        """The role heading a body of `kind` (none for the top kind: its organiser leads it)."""
        if kind == self.top_kind:
            return None
        bk = self.body_kinds.get(kind)
        return (bk.head if bk is not None and bk.head else None) or self.powers.body_head

    def start_state(self, kind: str) -> str:
        """Where an item filed at a body of `kind` begins."""
        bk = self.body_kinds.get(kind)
        return bk.start if bk is not None and bk.start else self.initial

    def reports_up(self, kind: str) -> list[str]:
        """The kinds `kind` reports to, nearest first (a station HQ: [HQ]); stops at a loop."""
        out: list[str] = []
        bk = self.body_kinds.get(kind)
        while bk is not None and bk.reports_to and bk.reports_to not in out and bk.reports_to != kind:
            out.append(bk.reports_to)
            bk = self.body_kinds.get(bk.reports_to)
        return out

    @property
    def initial(self) -> str:
        return self.transitions[0].source

    @property
    def triggers(self) -> frozenset[str]:
        found = self._index.get("triggers")
        if found is None:
            found = self._index["triggers"] = frozenset(t.trigger for t in self.transitions)
        return found  # type: ignore[return-value]

    def transitions_from(self, state: str, items: str | None = None) -> list[TransitionDef]:
        """The edges out of `state`, for items of one body kind if given (indexed once: the
        fold and replay ask on every step)."""
        key = ("from", state, items)
        found = self._index.get(key)
        if found is None:
            found = self._index[key] = [t for t in self.transitions
                                        if t.source == state and (items is None or t.items == items)]
        return found  # type: ignore[return-value]

    def transition(self, trigger: str, state: str, items: str | None = None) -> TransitionDef | None:
        for t in self.transitions_from(state, items):
            if t.trigger == trigger:
                return t
        return None

    def role_of(self, position: str) -> str | None:
        pos = self.positions.get(position)
        return pos.role if pos else None

    def reminders_for(self, kind: str, state: str | None = None) -> list[ReminderRule]:
        """The reminder rules that wait on `kind` (`state`, `order`, `meeting`), for a state if given."""
        key = ("reminders", kind, state)
        found = self._index.get(key)
        if found is None:
            found = self._index[key] = [r for r in self.reminders
                                        if r.waits_kind == kind and (state is None or r.waits_state == state)]
        return found  # type: ignore[return-value]

    @property
    def clerk_roles(self) -> tuple[str, ...]:
        """Roles that record only on behalf of another (R-A1)."""
        return tuple(k for k, r in self.roles.items() if r.records_on_behalf_only)

    def role_title(self, role: str) -> Title:
        r = self.roles.get(role)
        return r.title if r else Title(role, role)

    def is_open(self, state: str) -> bool:
        s = self.states.get(state)
        return s is not None and not s.final

    def reminder(self, key: str) -> ReminderRule | None:
        found = self._index.get(("reminder", key), False)
        if found is False:
            found = self._index[("reminder", key)] = next((r for r in self.reminders if r.key == key), None)
        return found  # type: ignore[return-value]
