"""The item path as a transitions Machine, built from the rulebook: one per version, shared.

The only module that imports `transitions`. Rows are never bound to the machine
(LIBRARIES.md 1.5). Each transition's condition calls back into the decision code with
the rulebook's own definition of that edge; the callback raises a refusal, so no refused
step ever moves. Having no such step is `NotPossible` here.
"""

from collections.abc import Callable
from functools import partial
from typing import Any

from engine.core.errors import NotPossible
from engine.i18n import A, Msg
from workflows import Rulebook, TransitionDef

Check = Callable[[TransitionDef], bool]
_MACHINES: dict[str, Any] = {}


def _guard(spec: TransitionDef, event: Any) -> bool:
    """False: this edge does not apply (another kind of item); a refusal raises."""
    return bool(event.kwargs["check"](spec))


def machine_for(book: Rulebook) -> Any:
    """The machine of one rulebook version, built once from its transitions (the library is
    imported on first use: commands that only read never pay for it)."""
    m = _MACHINES.get(book.sha256)
    if m is None:
        from transitions import Machine

        edges = [{"trigger": t.trigger, "source": t.source, "dest": t.dest,
                  "conditions": [partial(_guard, t)]} for t in book.transitions]
        m = Machine(model=None, states=list(book.states), transitions=edges, initial=book.initial,
                    auto_transitions=False, send_event=True, queued=False)
        _MACHINES[book.sha256] = m
    return m


def fire(book: Rulebook, state: str, trigger: str, check: Check, items: str | None = None) -> str:
    """Move `state` by `trigger`; `check` refuses by raising. Returns the new state.

    The machine answers which edges leave `state` by `trigger` (its own transition table,
    `Event.transitions`, in the order the rulebook gives them); each edge's guard is the
    decision code. We walk that table ourselves rather than calling `Event.trigger`: the
    library's trigger builds an EventData and runs its callback chain for every step, which
    cost more than the whole decision (bench/advance.py, bench/verify.py), and our edges
    have no callbacks to run. A guard that holds moves the state to the edge's `dest`.
    """
    m = machine_for(book)
    event = m.events.get(trigger)
    edges = event.transitions.get(state, ()) if event is not None else ()
    for edge in edges:
        spec = edge.conditions[0].func.args[0]  # the TransitionDef its guard was built with
        if check(spec):
            return str(edge.dest)
    raise NotPossible(_no_such_step(book, state, trigger, items))


def _no_such_step(book: Rulebook, state: str, trigger: str, items: str | None) -> Msg:
    options = []
    for t in book.transitions_from(state, items):
        if t.fired_by and t.meeting:  # the rulebook's checks: fired_by only with a meeting
            options.append(Msg("step.option_convene", trigger=t.trigger, meeting=A(book.meetings[t.meeting].title)))
        elif t.meeting:
            options.append(Msg("step.option_in", trigger=t.trigger, meeting=book.meetings[t.meeting].title))
        else:
            options.append(Msg("step.option", trigger=t.trigger))
    st = book.states.get(state)
    return Msg("step.none", state=st.title if st else state, trigger=trigger,
               possible=options or Msg("step.final"))


def draw_mermaid(states: list[str], edges: list[dict[str, str]], initial: str, title: str) -> str:
    """A Mermaid state diagram of the path (no Graphviz needed; LIBRARIES.md 1.2)."""
    from transitions.extensions import GraphMachine

    gm = GraphMachine(states=states, transitions=edges, initial=initial, auto_transitions=False,
                      graph_engine="mermaid", title=title)  # model left default: get_graph needs one
    return str(gm.get_graph().draw(None))
