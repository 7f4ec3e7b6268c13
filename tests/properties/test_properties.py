"""Property: whatever commands are tried, valid or not, replay equals the live state and the
log verifies (every act re-decided), and a refused command changes nothing."""

import datetime as dt

from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from engine.app.audit import verify
from engine.core.errors import DomainError as EngineError
from engine.infra.clock import FrozenClock
from tests.conftest import T0, Peek, fingerprint, make_svc

PEOPLE = ["sato", "watanabe", "yamamoto", "nakamura", "yoshida", "takahashi", "matsumoto", "yamaguchi"]
KINDS = ["staff", "team_lead", "council", "station_council"]
TRIGGERS = ["refer", "skip", "return", "decide", "defer", "reject", "check", "close", "withdraw", "report",
            "relay", "receive", "escalate"]

person = st.sampled_from(PEOPLE)
small = st.integers(min_value=1, max_value=6)
command = st.one_of(
    st.tuples(st.just("file"), person, st.sampled_from([None, "mito"])),
    st.tuples(st.just("file"), st.sampled_from(["nakamura", "matsumoto"]), st.sampled_from([None, "mito"])),
    st.tuples(st.just("convene"), person, st.sampled_from(KINDS), st.lists(small, max_size=2),
              st.lists(person, max_size=2)),
    st.tuples(st.just("hold"), person, small),
    st.tuples(st.just("cancel"), person, small),
    st.tuples(st.just("advance"), person, small, st.sampled_from(TRIGGERS), st.one_of(st.none(), small)),
    st.tuples(st.just("wait"), st.integers(min_value=1, max_value=40)),
)
# the same acts by whoever may do them, weighted up, so that long valid paths happen too
right = st.one_of(
    st.tuples(st.just("convene_right"), st.sampled_from(KINDS), st.lists(small, max_size=3)),
    st.tuples(st.just("hold_right"), small),
    st.tuples(st.just("hold_right"), small),
    st.tuples(st.just("advance_right"), small, st.sampled_from(TRIGGERS), st.none()),
    st.tuples(st.just("advance_right"), small, st.sampled_from(TRIGGERS), st.none()),
)
command = st.one_of(command, right, right, right)
CONVENERS = {"staff": "yamamoto", "team_lead": "watanabe", "council": "sato", "station_council": "matsumoto"}
DOERS = ["watanabe", "sato", "yamamoto", "matsumoto"]


def first_allowed(attempts):
    """Try each; the first that is allowed wins (the others must change nothing)."""
    last = None
    for attempt in attempts:
        try:
            return attempt()
        except EngineError as err:
            last = err
    raise last


def run(svc, clock, cmd):
    name, *args = cmd
    if name == "file":
        svc.file_item(args[0], "x", station=args[1])
    elif name == "convene":
        svc.convene(args[0], args[1], clock.now(), items=args[2], attendees=args[3])
    elif name == "hold":
        svc.hold(args[0], args[1])
    elif name == "cancel":
        svc.cancel(args[0], args[1])
    elif name == "advance":
        svc.advance(args[0], args[1], args[2], meeting=args[3])
    elif name == "wait":
        clock.advance(days=args[0])
    elif name == "convene_right":  # with items this kind of meeting can deal with
        book, kinds = svc.book(), svc.body_kinds()
        fits = [i.id for i in svc.peek.items() if any(
            t.meeting == args[0] for t in book.transitions_from(i.state, kinds[i.body]))]
        body = {"station_council": "mito"}.get(args[0])
        fits = [i for i in fits if svc.item(i).body == (body or "hq")][: len(args[1]) + 1]
        extra = {"attendees": ["yoshida"]} if args[0] == "staff" else {}
        svc.convene(CONVENERS[args[0]], args[0], clock.now(), items=fits, **extra)
    elif name == "hold_right":  # one of the convened meetings
        open_ = [m.id for m in svc.peek.meetings(status="convened")] or [args[0]]
        first_allowed([lambda who=who: svc.hold(who, open_[args[0] % len(open_)]) for who in DOERS])
    else:  # an open item, one of its triggers, in the latest held meeting that has it
        book, kinds = svc.book(), svc.body_kinds()
        open_ = [i for i in svc.peek.items() if book.is_open(i.state)]
        item = open_[args[0] % len(open_)] if open_ else svc.item(args[0])
        triggers = [t.trigger for t in book.transitions_from(item.state, kinds[item.body]) if not t.fired_by]
        trigger = triggers[TRIGGERS.index(args[1]) % len(triggers)] if triggers else args[1]
        held = [m.id for m in svc.peek.meetings(status="held") if item.id in m.items]
        meeting = args[2] if args[2] is not None or not held else held[-1]
        first_allowed([lambda who=who: svc.advance(who, item.id, trigger, meeting=meeting) for who in DOERS])


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(commands=st.lists(command, min_size=5, max_size=40))
def test_replay_equals_live_state_whatever_is_tried(tmp_path_factory, commands):
    """Random sequences of commands, valid and not: verify passes, replay equals stored state."""
    folder = tmp_path_factory.mktemp("prop")
    clock = FrozenClock(T0)
    svc = make_svc(f"sqlite:///{folder}/k.db", clock)
    store = svc.store
    done: list[str] = []
    try:
        for cmd in commands:
            before = fingerprint(store)
            try:
                run(svc, clock, cmd)
            except EngineError:
                assert before == fingerprint(store), f"{cmd} was refused but changed the database"
            else:
                done.append(cmd[0])
            clock.advance(minutes=1)
        v = verify(store)
        assert v.ok, (v.first_bad_seq, v.problem, commands)
        w = v.replayer.world
        assert w.items == {i.id: i for i in Peek(store).items()}
        assert w.meetings == {m.id: m for m in Peek(store).meetings()}
        states = {i.state for i in Peek(store).items()}
        note(f"done: {done}")
        assert states <= set(svc.book().states)
    finally:
        store.close()
