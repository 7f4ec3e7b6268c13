"""The organisation's bodies as a member reads them (`kaigi body list`): each body's key,
its kind as the rulebook in force titles it, its names, and how many members hold a post
there now. Bodies are set up by `Kaigi.add_body` (R-P1); the top one by `kaigi init`."""

import datetime as dt
from typing import Any


def listing(q: Any, lang: str, at: dt.datetime | None = None) -> list[dict[str, Any]]:
    """Every body, the top one first, then by key; `members`: distinct members posted there at `at`."""
    at = at or q.now
    w = q.w
    book = q.book(at)
    top = w.body(None).key if w.bodies else None
    held: dict[str, set[str]] = {}
    for a in w.assignments.values():
        if a.valid_at(at):
            held.setdefault(a.body, set()).add(a.login)
    out = []
    for b in sorted(w.bodies.values(), key=lambda b: (b.key != top, b.key)):
        kind = book.body_kinds.get(b.kind)
        out.append({"key": b.key, "kind": b.kind, "kind_title": kind.title.in_(lang) if kind else b.kind,
                    "name": b.ja if lang == "ja" else b.en, "name_ja": b.ja, "name_en": b.en,
                    "top": b.key == top, "members": len(held.get(b.key, ()))})
    return out
