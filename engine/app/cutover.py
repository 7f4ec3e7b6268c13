"""What moves when a rulebook version takes effect: each open duty whose holder changes.

A duty is what waits on a role: an open item's next acts, a convened meeting's chair,
a planned reminder's next rung. Under the outgoing version one person held the role
through their post; under the incoming one the post may be renamed (its successor holds
the duty) or gone. Read-only, over one snapshot; used by `rulebook cutover`.
"""

import datetime as dt
from typing import Any

from engine.core import authority as au
from engine.core import recipients as rcp
from engine.core.plan import rule_of
from workflows import Rulebook
from workflows.versions import Rules, takes_effect


def _who(w: Any, book: Rulebook, roles: list[str], body: str, at: dt.datetime) -> list[str]:
    return au.holders(w, book, [r for r in roles if r in book.roles], body, at)


def _names(w: Any, book: Rulebook, logins: list[str], at: dt.datetime, lang: str = "en") -> str:
    """Who holds a duty: `watanabe (刑事参事官)`; in Japanese by name, `渡辺 六郎(刑事参事官)`."""
    from engine.i18n import t

    out = []
    for login in logins:
        posts = [book.positions[h.position].title.ja for h in au.holdings(w, book, login, at)]
        if lang == "ja":
            m = w.members.get(login)
            who = m.name if m is not None and m.name else login
            out.append(f"{who}({'、'.join(posts)})" if posts else who)
        else:
            out.append(f"{login} ({', '.join(posts)})" if posts else login)
    return ("、" if lang == "ja" else ", ").join(out) or t("cutover.nobody", lang)


def moves(q: Any, new: Rulebook, rules: Rules, lang: str = "en") -> list[dict[str, Any]]:
    """Each duty whose holders differ between the outgoing version and `new` at its cutover.
    `q` is a `Reader`; `rules` the versions to weigh `new` against; `what` and the holders
    are worded in `lang` (English: the keys people type)."""
    from engine.i18n import t, trigger_title
    at = takes_effect(new)
    before = at - dt.timedelta(microseconds=1)
    if not any(b.effective_from < new.effective_from for b in rules.books):
        return []
    old = rules.at(before)
    w = q.w
    kinds = w.body_kinds()
    duties: list[tuple[str, list[str], str]] = []
    for item in q.tx.items():
        if not old.is_open(item.state):
            continue
        for t_ in old.transitions_from(item.state, kinds.get(item.body)):
            roles = list(old.meetings[t_.meeting].recorder_roles) if t_.meeting else list(t_.roles)
            st = old.states.get(item.state)
            duties.append((t("cutover.item", lang, id=item.id, state=st.title.in_(lang) if st else item.state,
                             trigger=trigger_title(t_.trigger, lang, old)) if lang == "ja" else
                           f"item {item.id} ({item.state}): {t_.trigger}", roles, item.body))
        for p in item.reminders:
            rule = rule_of(old, p.key)
            if rule is not None and p.next_at is not None:
                duties.append((t("cutover.reminder", lang, id=item.id, what=rule.title.in_(lang), rung=p.fired)
                               if lang == "ja" else f"reminder {p.key} of item {item.id} (rung {p.fired})",
                               list(rcp.roles_of(rule, p.fired)), item.body))
    for m in q.tx.meetings(status="convened"):
        kind = old.meetings.get(m.kind)
        if kind is not None:
            duties.append((t("cutover.meeting", lang, id=m.id, kind=kind.title.in_(lang)) if lang == "ja" else
                           f"meeting {m.id} ({m.kind}): chair and record", list(kind.recorder_roles), m.body))
    out = []
    for what, roles, body in duties:
        was, will = _who(w, old, roles, body, before), _who(w, new, roles, body, at)
        if was != will:
            out.append({"what": what, "roles": roles, "from": was, "to": will,
                        "from_posts": _names(w, old, was, before, lang), "to_posts": _names(w, new, will, at, lang),
                        "at": at.isoformat()})
    return out


def cutover(kaigi: Any, actor: Any, version: str, file: str | None = None, *, dry_run: bool = False,
            lang: str = "en") -> tuple[Rulebook, list[dict[str, Any]]]:
    """`rulebook cutover VERSION [--file F]`: adopt F first if given (it must be VERSION),
    then what moves when VERSION takes effect. `actor()` is asked only when adopting.
    Returns the version's book and the duties that change hands."""
    from engine.app import rulebooks
    from engine.core.errors import BadInput

    rules = rulebooks.adopted(kaigi)
    if file:
        new = rulebooks.parse(rulebooks.read_file(file, 5_000_000), file)
        if new.version != version:
            raise BadInput("rulebook.file_version", file=file, version=new.version, wanted=version)
        kaigi.adopt_rulebook(actor(), new.text, file, dry_run=dry_run)
        rules = rules.add(new)
    book = rulebooks.version(rules, version)
    with kaigi.read() as q:
        return book, moves(q, book, rules, lang)
