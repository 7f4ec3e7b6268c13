"""`kaigi init`: create or upgrade the schema, adopt a rulebook into the log (the bundled
Ibaraki one, or `--rulebook` another organisation's), found its top body, and load the demo;
after a migration, rebuild the projections from the log.

Every change is an event, the roster included, so an exported log rebuilds the whole
database. Running it twice adds nothing the first run added. A database holds one
organisation: the `[rulebook] key` of the books it adopted.
"""

import datetime as dt
import os
import tomllib
from dataclasses import dataclass, field
from typing import Any

from engine.app.audit import fold_log, world_rows
from engine.app.kaigi import Kaigi
from engine.core import events as ev
from engine.core.errors import BadInput
from engine.i18n import Msg
from engine.infra.timeutil import start_of_day_jst
from workflows import DEFAULT_KEY, Rulebook, bundled_book, bundled_organisations, bundled_rulebooks, demo_roster
from workflows.versions import Rules, parsed


@dataclass
class InitReport:
    adopted: list[str] = field(default_factory=list)
    events: int = 0
    demo_items: list[int] = field(default_factory=list)
    rebuilt: bool = False
    mode: str = "training"
    organisation: str = ""


def rulebook_for(spec: str) -> list[Rulebook]:
    """`init --rulebook SPEC`: a bundled organisation's key (all its versions) or a rulebook
    file (read and checked: a problem is refused, every one listed, before any database is
    touched)."""
    from engine.app import rulebooks

    found = bundled_book(spec)
    if found:
        return found
    if not os.path.exists(spec):
        raise BadInput("init.no_rulebook", spec=spec[:200], known=", ".join(bundled_organisations()))
    return [rulebooks.check(spec, rulebooks.read_file(spec))]


def preflight(books: list[Rulebook] | None, demo: bool) -> None:
    """What `init` refuses before it touches a database: a demo the book has none of."""
    if demo and books and demo_roster(books[-1].key) is None:
        raise BadInput("init.no_demo", key=books[-1].key)


def rebuild(kaigi: Kaigi) -> None:
    """Refill every projection from the log (a migration changed their shape)."""
    store = kaigi.store
    with store.act() as tx:
        w = fold_log(list(tx.stream()))
        tx.clear_projections()
        tx.save(world_rows(w))
        tx.reset_head_roster()
        tx.set_meta("rebuild", "0")
    kaigi._snap = None


def init(kaigi: Kaigi, *, demo: bool = False, mode: str | None = None, chief: dict[str, Any] | None = None,
         items: bool = True, books: list[Rulebook] | None = None) -> InitReport:
    """Adopt what is missing; `demo` loads the sample roster and items once.

    `books`: the rulebook versions to start on (`rulebook_for`); None keeps the database's
    organisation (a new one gets the bundled Ibaraki book). `mode`: "training" (names on
    trust) or "real" (bound to an authenticated identity); None keeps the database's mode
    (a new one is training, or real with a `chief`). `chief`: the first member, holding the
    book's top role at the top body (on a training database too). A database never changes
    kind, nor organisation: that would re-label who did what, under which rules."""
    from engine.app import rulebooks

    if chief is not None and mode is None:
        mode = "real"
    if demo and mode == "real":
        raise BadInput("init.demo_real")
    report = InitReport(mode=mode or "training")
    with kaigi.store.read() as tx:
        needs_rebuild = tx.meta("rebuild") == "1"
    if needs_rebuild:
        rebuild(kaigi)
        report.rebuilt = True
    with kaigi.store.act() as tx:
        have_mode = tx.meta("mode")
        bodies_, members, _, _, adoptions = tx.roster()
        have_books = [parsed(a.text, f"adopted rulebook {a.version}") for a in adoptions]
        have_keys = sorted({b.key for b in have_books})
        explicit = books is not None
        if books is None:
            books = bundled_rulebooks(have_keys[0] if have_keys else DEFAULT_KEY)
        elif have_keys and have_keys != sorted({b.key for b in books}):
            raise BadInput("init.other_organisation", have=", ".join(have_keys), key=books[0].key)
        new = _new_versions(books, {a.version: a.sha256 for a in adoptions}, explicit=explicit)
        shipped = {b.sha256 for b in bundled_rulebooks(None)}
        if have_keys and any(b.sha256 not in shipped for b in new):  # R-V1: a new version is the chief's act
            raise BadInput("init.adopt_by_act", version=next(b.version for b in new if b.sha256 not in shipped))
        newest = max(have_books + books, key=lambda b: b.effective_from)
        with rulebooks.translated():  # set-up is stamped with the version in force (none: refused)
            Rules(have_books + new).at(tx.now)
        report.organisation = newest.key
        if demo and not members and (mode or have_mode or "training") == "training" \
                and demo_roster(newest.key) is None:
            raise BadInput("init.no_demo", key=newest.key)
        if have_mode is not None and mode is not None and mode != have_mode:
            raise BadInput("identity.mode_differs", mode=Msg(f"identity.mode.{have_mode}"))
        if have_mode is None and members and mode == "real":
            raise BadInput("identity.mode_differs", mode=Msg("identity.mode.training"))
        if chief is not None and members and chief["login"] not in {m.login for m in members}:
            raise BadInput("init.has_members")
        # the chief holds office from the database's time of founding (decided before anything is written)
        first = _chief(chief, newest, newest.top_kind, since=tx.now) if chief is not None and not members else []
        if tx.meta("log_id") is None:  # the name signed checkpoints give this log
            import uuid

            tx.set_meta("log_id", str(uuid.uuid4()))
        if have_mode is None:
            tx.set_meta("mode", report.mode)
        else:
            report.mode = have_mode
    facts: list[ev.Event] = [ev.RulebookAdopted(version=b.version, effective_from=b.effective_from.isoformat(),
                                                sha256=b.sha256, text=b.text) for b in new]
    report.adopted = [b.version for b in new]
    top = newest.top_kind
    if not any(b.kind == top for b in bodies_):  # the top body: its key and names are its kind's
        title = newest.body_kinds[top].title
        facts.append(ev.BodyAdded(key=top, kind=top, ja=title.ja, en=title.en))
    facts += first
    if facts:
        report.events += len(kaigi.system(facts))
    if demo and not members and report.mode == "training":
        _demo(kaigi, report, items, newest.key, top)
    kaigi._training = None
    kaigi._snap = None
    return report


def _new_versions(books: list[Rulebook], have: dict[str, str], explicit: bool) -> list[Rulebook]:
    """The versions not adopted yet. A version the log holds under another text is kept as
    the log has it; asked for by name on a database of that book, it is refused."""
    out = []
    for b in books:
        if b.version not in have:
            out.append(b)
        elif explicit and len(books) == 1 and have[b.version] != b.sha256:
            raise BadInput("init.version_differs", version=b.version)
    return out


def _chief(c: dict[str, Any], book: Rulebook, top: str, since: dt.datetime) -> list[ev.Event]:
    """The first member: the book's top role (who organises the top body, R-P1), on the
    first position of that role; bound to who ran `init` on a real database."""
    role = book.top_role
    position = c.get("position") or next((k for k, p in book.positions.items() if p.role == role), None)
    if position is None:
        raise BadInput("init.no_top_position", role=role or "-", version=book.version)
    return [ev.MemberAdded(login=c["login"], name=c["name"], name_en=c.get("name_en") or c["name"],
                           email=c.get("email"), lang=c.get("lang", "ja"), channel="email",
                           os_user=c.get("os_user"), db_role=c.get("db_role")),
            ev.RoleAssigned(id=1, login=c["login"], position=position, body=top,
                            team=None, valid_from=since, valid_until=None)]


def _demo(kaigi: Kaigi, report: InitReport, items: bool, key: str, top: str) -> None:
    """Organisation `key`'s sample roster (`workflows/demo/KEY.toml`): its bodies below the
    top one, members (each at `body`, else the top body) and items (at `station`, if given)."""
    text = demo_roster(key)
    if text is None:
        raise BadInput("init.no_demo", key=key)
    data: dict[str, Any] = tomllib.loads(text)
    since = start_of_day_jst(dt.date.fromisoformat(data["valid_from"]))
    domain = data.get("email_domain") or kaigi.mail_domain
    facts: list[ev.Event] = [ev.BodyAdded(**b) for b in data.get("bodies", [])]
    for n, m in enumerate(data["members"], start=1):
        facts.append(ev.MemberAdded(login=m["login"], name=m["name"], name_en=m["name_en"],
                                    email=f"{m['login']}@{domain}", lang=m.get("lang", "ja"), channel="email"))
        facts.append(ev.RoleAssigned(id=n, login=m["login"], position=m["position"], body=m.get("body", top),
                                     team=m.get("team"), valid_from=since, valid_until=None))
    report.events += len(kaigi.system(facts))
    for it in data.get("items", []) if items else []:
        out = kaigi.file_item(it["filed_by"], it["title"], team=it.get("team"), note=it.get("note", ""),
                              station=it.get("station"))
        report.demo_items.append(out.fact.item)
        report.events += 1


def upgrade(url: str) -> bool:
    """Create or upgrade the schema (Alembic); the store's errors become domain errors."""
    from engine.app.guard import translated
    from store.db import upgrade as migrate

    with translated():
        try:
            return migrate(url)
        except Exception as err:  # noqa: BLE001 (SQLAlchemy/Alembic failures: one line, no traceback)
            from engine.core.errors import Unavailable

            if type(err).__module__.startswith(("sqlalchemy", "alembic", "psycopg", "sqlite3")):
                raise Unavailable("store.error", detail=str(err).strip().splitlines()[0][:300]) from None
            raise


def initialise(open_kaigi: Any, db_url: str, *, rulebook_spec: str | None = None, demo: bool = False,
               training: bool = False, chief: str | None = None, name: str | None = None, name_en: str = "",
               email: str | None = None, os_user: str | None = None, db_role: str | None = None) -> InitReport:
    """`kaigi init` as one call: its options checked (a refusal touches no database), the
    schema created or upgraded, then `init`. `open_kaigi()` opens the database once the
    schema exists (the face's own opener, which also sets up its log)."""
    if chief is None and (name or os_user or db_role or email):
        raise BadInput("init.chief_needed")
    if chief is not None and not name:
        raise BadInput("init.name_needed")
    if chief is not None and demo:
        raise BadInput("init.demo_real")
    books = rulebook_for(rulebook_spec) if rulebook_spec is not None else None
    preflight(books, demo)
    founder = None
    if chief is not None:
        from engine.infra.os_account import os_account

        founder = {"login": chief, "name": name, "name_en": name_en or name, "email": email,
                   "os_user": os_user or (None if training else os_account()), "db_role": db_role}
    upgrade(db_url)
    return init(open_kaigi(), demo=demo, mode="training" if (demo or training) else None, chief=founder, books=books)
