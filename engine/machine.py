"""The item path as a transitions Machine, built from the rulebook: one per version, shared.

The only module that imports `transitions`. Rows are never bound to the machine
(LIBRARIES.md 1.5): a throwaway subject carries the state through one trigger. Each
transition's condition calls back into the decision code with the rulebook's own
definition of that edge; the callback raises a refusal, so the machine never moves on
a refused step. Library errors become `NotPossible` here.
"""

from collections.abc import Callable
from functools import partial
from typing import Any

from transitions import Machine, MachineError

from engine.errors import NotPossible
from workflows import Rulebook, TransitionDef

Check = Callable[[TransitionDef], bool]
_MACHINES: dict[str, Machine] = {}


class _Subject:
    __slots__ = ("state",)

    def __init__(self, state: str) -> None:
        self.state = state


def _guard(spec: TransitionDef, event: Any) -> bool:
    """False: this edge does not apply (another kind of item); a refusal raises."""
    return bool(event.kwargs["check"](spec))


def machine_for(book: Rulebook) -> Machine:
    """The machine of one rulebook version, built once from its transitions."""
    m = _MACHINES.get(book.sha256)
    if m is None:
        edges = [{"trigger": t.trigger, "source": t.source, "dest": t.dest,
                  "conditions": [partial(_guard, t)]} for t in book.transitions]
        m = Machine(model=None, states=list(book.states), transitions=edges, initial=book.initial,
                    auto_transitions=False, send_event=True, queued=False)
        _MACHINES[book.sha256] = m
    return m


def fire(book: Rulebook, state: str, trigger: str, check: Check, items: str | None = None) -> str:
    """Move `state` by `trigger`; `check` refuses by raising. Returns the new state."""
    m = machine_for(book)
    event = m.events.get(trigger)
    subject = _Subject(state)
    try:
        if event is None:
            raise MachineError(f"no trigger {trigger}")
        moved = event.trigger(subject, check=check)
    except MachineError:
        raise NotPossible(_no_such_step(book, state, trigger, items)) from None
    if not moved:
        raise NotPossible(_no_such_step(book, state, trigger, items))
    return subject.state


def _no_such_step(book: Rulebook, state: str, trigger: str, items: str | None) -> str:
    options = []
    for t in book.transitions_from(state, items):
        where = f" ({book.meetings[t.meeting].title.en})" if t.meeting else ""
        options.append(f"{t.trigger}{where}")
    possible = ", ".join(dict.fromkeys(options)) or "nothing (it is final)"
    return f"an item in state {state} cannot `{trigger}`; possible: {possible}"


def draw_mermaid(states: list[str], edges: list[dict[str, str]], initial: str, title: str) -> str:
    """A Mermaid state diagram of the path (no Graphviz needed; LIBRARIES.md 1.2)."""
    from transitions.extensions import GraphMachine

    gm = GraphMachine(states=states, transitions=edges, initial=initial, auto_transitions=False,
                      graph_engine="mermaid", title=title)  # model left default: get_graph needs one
    return str(gm.get_graph().draw(None))
