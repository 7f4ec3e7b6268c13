"""Who stands above whom, read from the rulebook's own reminder chains (no role key in code).

A reminder rule climbs a chain: `remind` first, then each `escalate[].to` in turn. Whoever
a chain reaches later stands above whoever it reached earlier, so a reminder that cannot
be acted on by its recipient tells them to report to (and consult) a superior who can,
and only tells them to press someone who is not above them (R-N1). The pseudo-role
`ordered` is the rulebook's `powers.ordered`; `attendees` stands for no role. Pairs the
chains order both ways (a rulebook that contradicts itself) count as neither above the
other. Pure.
"""

from collections.abc import Iterable
from workflows import Rulebook

SUPERIOR, SUBORDINATE, PEER = "superior", "subordinate", "peer"


def _rung_roles(book: Rulebook, roles: Iterable[str]) -> set[str]:
    out: set[str] = set()
    for r in roles:
        if r == "ordered":
            out |= set(book.powers.ordered)
        elif r in book.roles:
            out.add(r)
    return out


def _above(book: Rulebook) -> frozenset[tuple[str, str]]:
    """(lower, higher) pairs: the transitive closure of every reminder chain's order."""
    pairs: set[tuple[str, str]] = set()
    for rule in book.reminders:
        rungs = [_rung_roles(book, rule.remind)] + [_rung_roles(book, step.to) for step in rule.escalate]
        for i, lower in enumerate(rungs):
            for higher in rungs[i + 1:]:
                pairs |= {(a, b) for a in lower for b in higher if a != b}
    changed = True
    while changed:
        more = {(a, d) for a, b in pairs for c, d in pairs if b == c and a != d}
        changed = not more <= pairs
        pairs |= more
    return frozenset(p for p in pairs if (p[1], p[0]) not in pairs)


def above(book: Rulebook, lower: str, higher: str) -> bool:
    """Whether role `higher` stands above role `lower` in the rulebook's chains."""
    return (lower, higher) in _above(book)


def relation(book: Rulebook, mine: Iterable[str], theirs: Iterable[str]) -> str:
    """How someone holding `theirs` stands to someone holding `mine`: SUPERIOR when one of
    their roles is above one of mine and none of mine above any of theirs; SUBORDINATE the
    other way round; else PEER (same rank, unrelated, or no role known)."""
    mine, theirs = set(mine), set(theirs)
    order = _above(book)
    up = any((m, t) in order for m in mine for t in theirs)
    down = any((t, m) in order for m in mine for t in theirs)
    if up and not down:
        return SUPERIOR
    if down and not up:
        return SUBORDINATE
    return PEER
