"""The `kaigi` command line: parse, call the service, render. No rules live here.

Heavy modules (SQLAlchemy, SQLModel, transitions, structlog, rich) are imported inside
command bodies, so `kaigi --help` stays fast. Errors become the exit codes of CLI.md in
one place, `refusals()`: one line on stderr (and `{"error": …}` on stdout with --json).
"""

import getpass
import json
import os
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

EXIT_BUG = 1


class App:
    """What every command needs: settings, the acting login, output mode; the service on demand."""

    def __init__(self, db: str | None, as_: str | None, json_out: bool, lang: str) -> None:
        self.db_arg, self.login, self.json, self.lang = db, as_, json_out, lang
        self._service: Any = None
        self._settings: Any = None

    @property
    def settings(self) -> Any:
        if self._settings is None:
            from engine.settings import load_settings

            try:
                self._settings = load_settings(os.environ, db_url=self.db_arg, cwd=Path.cwd())
            except ValueError as err:
                _fail(2, "bad_input", str(err), self.json)
        return self._settings

    def service(self, check_schema: bool = True, check_actor: bool = True) -> Any:
        """The service; the acting login must be on the roster (CLI.md, Identity) unless told otherwise."""
        if self._service is None:
            from engine.logs import log_to
            from engine.service import Service
            from store.sql import Store

            log_to(self.settings.log_file)
            store = Store(self.settings.db_url)
            if check_schema:
                store.check_schema()
            self._service = Service(store, before_write=_test_barrier())
            if check_actor:
                self._service.actor(self.actor)
        return self._service

    @property
    def actor(self) -> str:
        return self.login or os.environ.get("KAIGI_AS") or getpass.getuser()

    def now(self) -> Any:
        return self.service().clock.now()

    def when(self, text: str) -> Any:
        from engine.timeutil import parse_when

        return parse_when(text, self.now())

    def out(self, data: Any, human: str | None = None) -> None:
        if self.json:
            click.echo(json.dumps(data, ensure_ascii=False, sort_keys=True, default=str))
        elif human is not None:
            click.echo(human)


def _test_barrier() -> Any:
    """Test hook: with KAIGI_TEST_BARRIER=DIR:N, wait before writing until N processes are ready.

    It makes a race deterministic (two `advance` calls that both read before either writes).
    """
    spec = os.environ.get("KAIGI_TEST_BARRIER")
    if not spec:
        return None
    folder, _, count = spec.rpartition(":")

    def wait() -> None:
        import time

        Path(folder, str(os.getpid())).touch()
        deadline = time.monotonic() + 20
        while len(os.listdir(folder)) < int(count) and time.monotonic() < deadline:
            time.sleep(0.01)
    return wait


def _test_kill() -> Any:
    """Test hook: with KAIGI_TEST_KILL_AFTER_SENDS=N, SIGKILL ourselves after the N-th send,
    before it is marked (the crash between sending and marking)."""
    spec = os.environ.get("KAIGI_TEST_KILL_AFTER_SENDS")
    if not spec:
        return None
    sent = [0]

    def hook(_delivery: Any) -> None:
        import signal

        sent[0] += 1
        if sent[0] >= int(spec):
            os.kill(os.getpid(), signal.SIGKILL)
    return hook


_JA_PREFIX = {"not permitted: ": "許可されません: ", "not possible: ": "できません: ", "not found: ": "見つかりません: ",
              "conflict: ": "競合: ", "integrity failure: ": "改ざん検知: "}


def _fail(code: int, kind: str, message: str, json_out: bool, lang: str = "en") -> None:
    if lang == "ja":
        for en, ja in _JA_PREFIX.items():
            if message.startswith(en):
                message = ja + message[len(en):]
                break
    if json_out:
        click.echo(json.dumps({"error": {"code": code, "kind": kind, "message": message}}, ensure_ascii=False))
    click.echo(message, err=True)
    sys.exit(code)


@contextmanager
def refusals(app: App) -> Iterator[None]:
    """Map the error roots to CLI.md's exit codes: one line, no traceback."""
    from engine.errors import EngineError
    from store.errors import ConcurrencyConflict, NotInitialised, StoreError
    from workflows.errors import RulebookError, RulebookInvalid

    try:
        yield
    except EngineError as err:
        _fail(err.exit_code, err.kind, str(err), app.json, app.lang)
    except ConcurrencyConflict as err:
        _fail(6, "conflict", f"conflict: {err}; nothing was written, try again", app.json)
    except NotInitialised as err:
        _fail(4, "not_initialised", f"not possible: {err}", app.json)
    except RulebookInvalid as err:
        if app.json:
            click.echo(json.dumps({"error": {"code": 2, "kind": "rulebook_invalid",
                                             "problems": [str(p) for p in err.problems]}}, ensure_ascii=False))
        click.echo(err.report(), err=True)
        sys.exit(2)
    except (StoreError, RulebookError) as err:
        _fail(4, "store", str(err), app.json)


def _bug(app: App | None, err: BaseException) -> None:
    """An unexpected exception is a bug: keep the traceback in a file, say where, exit 1."""
    import tempfile
    import traceback

    tid = uuid.uuid4().hex[:12]
    path = Path(tempfile.gettempdir()) / f"kaigi-crash-{tid}.log"
    path.write_text("".join(traceback.format_exception(err)), encoding="utf-8")
    msg = f"unexpected failure (a bug): {type(err).__name__}; traceback id {tid} in {path}"
    _fail(EXIT_BUG, "bug", msg, bool(app and app.json))


# ---------------------------------------------------------------- the group
@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--db", envvar="KAIGI_DB", metavar="URL", help="SQLAlchemy URL (default sqlite:///./kaigi.db).")
@click.option("--as", "as_", metavar="LOGIN", help="Act as this member (default $KAIGI_AS or the OS login).")
@click.option("--json", "json_out", is_flag=True, help="Machine output: one JSON document on stdout.")
@click.option("--lang", type=click.Choice(["ja", "en"]), envvar="KAIGI_LANG", default="en", show_default=True,
              help="Language of labels and titles.")
@click.pass_context
def cli(ctx: click.Context, db: str | None, as_: str | None, json_out: bool, lang: str) -> None:
    """kaigi: items climb the promotion HQ's meetings, under the rules in force."""
    ctx.obj = App(db, as_, json_out, lang)


pass_app = click.make_pass_decorator(App)


def main() -> None:
    app: App | None = None
    try:
        cli.main(prog_name="kaigi", standalone_mode=False)
    except click.exceptions.Exit as e:
        sys.exit(e.exit_code)
    except click.ClickException as e:
        e.show()
        sys.exit(e.exit_code)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(EXIT_BUG)
    except SystemExit:
        raise
    except BaseException as err:  # noqa: BLE001 (the one place a bug is caught)
        ctx = click.get_current_context(silent=True)
        app = ctx.find_object(App) if ctx else None
        _bug(app, err)


def _table(app: App, columns: list[str], rows: list[list[Any]]) -> str:
    from io import StringIO

    from rich.console import Console
    from rich.table import Table

    table = Table(box=None, pad_edge=False, show_edge=False)
    for c in columns:
        table.add_column(c, overflow="fold")
    for r in rows:
        table.add_row(*["" if v is None else str(v) for v in r])
    buf = StringIO()
    Console(file=buf, width=160, no_color=True, highlight=False).print(table)
    return buf.getvalue().rstrip("\n")


# ---------------------------------------------------------------- rulebooks
@cli.group()
def rulebook() -> None:
    """The rulebook versions: list, show, diff, check, diagram, cutover."""


def _books(app: App) -> Any:
    """The adopted versions if there is a database, else the bundled ones."""
    try:
        return app.service(check_actor=False).rules()
    except Exception:  # noqa: BLE001 (no database yet: the bundled books still answer)
        from engine.rules import Rules
        from workflows import bundled_rulebooks

        return Rules(bundled_rulebooks())


@rulebook.command("list")
@pass_app
def rulebook_list(app: App) -> None:
    """The rulebook versions, when each took effect, and which is in force now."""
    import datetime as dt

    with refusals(app):
        rules = _books(app)
        now = dt.datetime.now(dt.timezone.utc)
        current = rules.at(now).version if rules.books else None
    rows = [{"version": b.version, "effective_from": b.effective_from.isoformat(), "in_force": b.version == current,
             "source": b.source, "sha256": b.sha256} for b in rules.books]
    app.out(rows, _table(app, ["version", "from", "in force", "source"], [
        [r["version"], r["effective_from"], "yes" if r["in_force"] else "", r["source"]] for r in rows]))


@rulebook.command("show")
@click.argument("version", required=False)
@pass_app
def rulebook_show(app: App, version: str | None) -> None:
    """One version in full (default: the one in force now)."""
    import datetime as dt

    with refusals(app):
        rules = _books(app)
        book = rules.version(version) if version else rules.at(dt.datetime.now(dt.timezone.utc))
    if app.json:
        app.out({"version": book.version, "effective_from": book.effective_from.isoformat(), "source": book.source,
                 "text": book.text})
        return
    click.echo(book.text, nl=False)


@rulebook.command("diff")
@click.argument("a")
@click.argument("b")
@pass_app
def rulebook_diff(app: App, a: str, b: str) -> None:
    """What changed from version A to version B, in Japanese and English."""
    with refusals(app):
        from engine.rulebooks import diff, render_diff

        rules = _books(app)
        changes = diff(rules.version(a), rules.version(b))
    app.out([{"key": c.key, "kind": c.kind, "before": c.before, "after": c.after} for c in changes],
            render_diff(changes, app.lang))


@rulebook.command("check")
@click.argument("file", type=click.Path(dir_okay=False))
@pass_app
def rulebook_check(app: App, file: str) -> None:
    """Validate a rulebook file (another prefecture's), listing every problem with its key."""
    with refusals(app):
        from workflows import load_rulebook

        book = load_rulebook(Path(file))
    app.out({"ok": True, "version": book.version, "states": len(book.states), "transitions": len(book.transitions)},
            f"ok: {file} is rulebook {book.version} ({len(book.states)} states, {len(book.transitions)} transitions, "
            f"{len(book.meetings)} meeting kinds, {len(book.reminders)} reminders)")


@rulebook.command("diagram")
@click.option("--format", "fmt", type=click.Choice(["mermaid", "text"]), default="mermaid", show_default=True,
              help="Mermaid stateDiagram-v2, or plain text.")
@click.option("--version", "version", help="Which version (default: the one in force now).")
@pass_app
def rulebook_diagram(app: App, fmt: str, version: str | None) -> None:
    """The item path as a diagram."""
    import datetime as dt

    with refusals(app):
        from engine.rulebooks import mermaid, text_diagram

        rules = _books(app)
        book = rules.version(version) if version else rules.at(dt.datetime.now(dt.timezone.utc))
        text = mermaid(book, app.lang) if fmt == "mermaid" else text_diagram(book, app.lang)
    app.out({"version": book.version, "format": fmt, "diagram": text}, text)


@rulebook.command("cutover")
@click.argument("version")
@click.option("--file", "file", type=click.Path(exists=True, dir_okay=False),
              help="Adopt this new version from a file (the chief's circular).")
@click.option("--dry-run", is_flag=True, help="List what moves; adopt nothing.")
@pass_app
def rulebook_cutover(app: App, version: str, file: str | None, dry_run: bool) -> None:
    """List the duties that pass to other holders when VERSION takes effect; adopt it with --file."""
    with refusals(app):
        from engine.cutover import moves

        svc = app.service()
        rules = svc.rules()
        if file:
            from workflows import parse_rulebook

            new = parse_rulebook(Path(file).read_text(encoding="utf-8"), file)
            if new.version != version:
                from engine.errors import BadInput

                raise BadInput(f"{file} is version {new.version}, not {version}")
            svc.adopt_rulebook(app.actor, new.text, file, dry_run=dry_run)
            rules = rules.add(new)
        book = rules.version(version)
        rows = moves(svc, book, rules)
    head = (f"from {book.effective_from} (JST) under {version}" if rows else
            f"nothing moves when {version} takes effect on {book.effective_from}")
    app.out(rows, head + "".join(f"\n  {r['what']}: {r['from_posts']} -> {r['to_posts']}" for r in rows))


# ---------------------------------------------------------------- init, roster, whoami
@cli.command()
@click.option("--demo", is_flag=True, help="Add a sample roster (HQ and stations) and a few items.")
@pass_app
def init(app: App, demo: bool) -> None:
    """Create or upgrade the schema and adopt the bundled rulebooks; safe to run twice."""
    with refusals(app):
        from engine import setup
        from store.db import upgrade

        svc = app.service(check_schema=False, check_actor=False)
        upgrade(svc.store.engine)
        report = setup.init(svc, demo)
    app.out({"db": svc.store.safe_url, "adopted": report.adopted, "events": report.events,
             "demo_items": report.demo_items},
            f"kaigi database ready at {svc.store.safe_url}: {report.events} events written"
            + (f"; adopted rulebook {', '.join(report.adopted)}" if report.adopted else "")
            + (f"; demo items {', '.join(map(str, report.demo_items))}" if report.demo_items else ""))


@cli.group()
def roster() -> None:
    """People, their positions and roles over time."""


@roster.command("list")
@click.option("--at", "at_", metavar="WHEN", help="As the roster stood then (default now).")
@pass_app
def roster_list(app: App, at_: str | None) -> None:
    """Members and the roles they hold (now, or --at WHEN)."""
    with refusals(app):
        from engine.views import roster_view

        svc = app.service()
        at = app.when(at_) if at_ else app.now()
        rows = roster_view(svc, at, app.lang)
    app.out(rows, _table(app, ["login", "name", "roles"], [
        [r["login"], r["name"], ", ".join(f"{x['title']}@{x['body']}" + (f"/{x['team']}" if x["team"] else "")
                                        for x in r["roles"]) or "-"] for r in rows]))


def _roster_act(app: App, verb: str, *args: Any, **kw: Any) -> None:
    with refusals(app):
        out = getattr(app.service(), verb)(app.actor, *args, **kw)
    d = {"dry_run": out.dry_run, "event": {"type": out.draft.type, **out.draft.payload}}
    if out.event is not None:
        d["event"]["seq"] = out.event.seq
    app.out(d, ("would record " if out.dry_run else "recorded ") + f"{out.draft.type}: "
            + ", ".join(f"{k}={v}" for k, v in out.draft.payload.items() if v not in (None, "")))


@roster.command("add")
@click.argument("login")
@click.option("--name", required=True, help="Name in Japanese.")
@click.option("--name-en", default="", help="Name in English.")
@click.option("--email", help="Address for reminders.")
@click.option("--lang", type=click.Choice(["ja", "en"]), default="ja", show_default=True, help="Language of reminders.")
@click.option("--channel", type=click.Choice(["email", "outbox"]), default="email", show_default=True,
              help="How reminders reach them.")
@click.option("--dry-run", is_flag=True, help="Check everything, write nothing.")
@pass_app
def roster_add(app: App, login: str, name: str, name_en: str, email: str | None, lang: str, channel: str,
               dry_run: bool) -> None:
    """Add a person to the roster (the chief, or a station chief for their station, R-P1)."""
    _roster_act(app, "add_member", login, name=name, name_en=name_en, email=email, lang=lang, channel=channel,
                dry_run=dry_run)


@roster.command("assign")
@click.argument("login")
@click.argument("position")
@click.option("--station", metavar="NAME", help="The station (default: the HQ).")
@click.option("--team", metavar="TEAM", help="The team (班), for team leaders and members.")
@click.option("--from", "from_", metavar="WHEN", help="From when (default now).")
@click.option("--until", metavar="WHEN", help="Until when (default open).")
@click.option("--dry-run", is_flag=True, help="Check everything, write nothing.")
@pass_app
def roster_assign(app: App, login: str, position: str, station: str | None, team: str | None, from_: str | None,
                  until: str | None, dry_run: bool) -> None:
    """Put a member in a position (ポスト) for a period; the rulebook gives its role."""
    with refusals(app):
        f, u = (app.when(from_) if from_ else None), (app.when(until) if until else None)
    _roster_act(app, "assign", login, position, station=station, team=team, valid_from=f, valid_until=u,
                dry_run=dry_run)


@roster.command("end")
@click.argument("assignment_id", type=int)
@click.option("--at", "at_", metavar="WHEN", help="When it ends (default now).")
@click.option("--dry-run", is_flag=True, help="Check everything, write nothing.")
@pass_app
def roster_end(app: App, assignment_id: int, at_: str | None, dry_run: bool) -> None:
    """End an assignment (see `roster list --json` for ids)."""
    with refusals(app):
        at = app.when(at_) if at_ else None
    _roster_act(app, "end_assignment", assignment_id, at=at, dry_run=dry_run)


@roster.command("delegate")
@click.argument("clerk")
@click.option("--until", metavar="WHEN", help="When the delegation ends (required unless --end).")
@click.option("--from", "from_", metavar="WHEN", help="From when (default now).")
@click.option("--end", "end_id", type=int, metavar="ID", help="Instead: end delegation ID now.")
@click.option("--dry-run", is_flag=True, help="Check everything, write nothing.")
@pass_app
def roster_delegate(app: App, clerk: str, until: str | None, from_: str | None, end_id: int | None,
                    dry_run: bool) -> None:
    """Let a secretariat clerk record your acts until WHEN (R-A1); --end ID ends one."""
    if end_id is not None:
        _roster_act(app, "end_delegation", end_id, dry_run=dry_run)
        return
    if until is None:
        raise click.UsageError("give --until WHEN (or --end ID)")
    with refusals(app):
        f, u = (app.when(from_) if from_ else None), app.when(until)
    _roster_act(app, "delegate", clerk, valid_until=u, valid_from=f, dry_run=dry_run)


@cli.command()
@pass_app
def whoami(app: App) -> None:
    """The acting member and the roles they hold now."""
    with refusals(app):
        from engine.views import roles_view

        svc = app.service()
        m = svc.actor(app.actor)
        roles = roles_view(svc.book(), svc.holdings(m.login), app.lang)
    name = m.name if app.lang == "ja" else m.name_en
    app.out({"login": m.login, "name": name, "roles": roles},
            f"{m.login} ({name}): " + (", ".join(f"{r['title']} ({r['position_title']})@{r['body']}"
                                                 for r in roles) or "no role now"))


# ---------------------------------------------------------------- items
@cli.group()
def item() -> None:
    """File, list, show and advance items."""


def _item_human(v: dict[str, Any]) -> str:
    lines = [f"item {v['id']}: {v['title']}",
             f"  body {v['body_name']} ({v['body']})" + (f", team {v['team']}" if v["team"] else "")
             + f"; state {v['state']} ({v['state_title']}); version {v['version']}",
             f"  filed by {v['filed_by']} at {v['filed_at']}"]
    if v["waiting_for"]:
        lines.append(f"  waiting for: {v['waiting_for']}")
    for n in v["next"]:
        where = f" in a held {n['meeting']} meeting" if n["meeting"] else ""
        lines.append(f"  next: {n['trigger']} -> {n['to']}{where}; by {' / '.join(n['roles'])}"
                     + (" or whoever filed it" if n["filer"] else "")
                     + (f" (now: {', '.join(n['who'])})" if n["who"] else ""))
    if v["origin"]:
        lines.append(f"  taken from item {v['origin']}")
    for c in v["taken_into"]:
        lines.append(f"  taken into item {c['id']} at {c['body']}: now {c['state']}")
    for o in v["orders"]:
        lines.append(f"  order {o['id']} to {o['to']}: {o['status']} (due {o['due_at']})")
    for d in v.get("deadlines", []):
        rung = "" if d["rung"] == 0 else f" (escalation {d['rung']})"
        lines.append(f"  deadline: {d['what']}: reminder {d['due_at']}{rung} to {', '.join(d['recipients']) or '-'}")
    return "\n".join(lines)


@item.command("file")
@click.argument("title")
@click.option("--station", metavar="NAME", help="File at a station HQ (key or name).")
@click.option("--team", metavar="TEAM", help="The team (班) the item belongs to.")
@click.option("--note", default="", help="A note kept with the item.")
@click.option("--dry-run", is_flag=True, help="Check everything, write nothing.")
@click.option("--on-behalf-of", "on_behalf_of", metavar="LOGIN",
              help="Record this act for LOGIN, under their delegation (secretariat clerks, R-A1).")
@pass_app
def item_file(app: App, title: str, station: str | None, team: str | None, note: str, dry_run: bool,
              on_behalf_of: str | None) -> None:
    """File a new item; prints its id."""
    with refusals(app):
        from engine.views import item_view

        svc = app.service()
        out = svc.file_item(app.actor, title, station=station, team=team, note=note, dry_run=dry_run,
                            on_behalf_of=on_behalf_of)
        if out.dry_run:
            app.out({"dry_run": True, "event": {"type": out.draft.type, **out.draft.payload}},
                    f"would file item {out.draft.item}: {title}")
            return
        view = item_view(svc, svc.item(out.event.item), app.lang)
    app.out(view, f"filed item {view['id']}: {view['title']}")


@item.command("list")
@click.option("--state", metavar="STATE", help="Only items in this state.")
@click.option("--station", metavar="NAME", help="Only items of this station (or `hq`).")
@click.option("--overdue", is_flag=True, help="Only items with a deadline passed.")
@pass_app
def item_list(app: App, state: str | None, station: str | None, overdue: bool) -> None:
    """Items, one a line."""
    with refusals(app):
        from engine.views import item_view

        svc = app.service()
        body = svc.body(station).key if station else None
        views = [item_view(svc, i, app.lang) for i in svc.store.items(state=state, body=body)]
        if overdue:
            views = [v for v in views if v["overdue"]]
    app.out(views, _table(app, ["id", "state", "body", "team", "title", "waiting for"], [
        [v["id"], v["state"], v["body"], v["team"], v["title"], v["waiting_for"]] for v in views]))


@item.command("show")
@click.argument("item_id", type=int)
@pass_app
def item_show(app: App, item_id: int) -> None:
    """An item: state, what it waits for, who may act next."""
    with refusals(app):
        from engine.views import item_view

        svc = app.service()
        view = item_view(svc, svc.item(item_id), app.lang)
    app.out(view, _item_human(view))


@item.command("advance")
@click.argument("item_id", type=int)
@click.argument("trigger")
@click.option("--meeting", "meeting_id", type=int, metavar="M", help="The held meeting that decided it.")
@click.option("--note", default="", help="A note kept with the event.")
@click.option("--dry-run", is_flag=True, help="Check everything, write nothing.")
@click.option("--on-behalf-of", "on_behalf_of", metavar="LOGIN",
              help="Record this act for LOGIN, under their delegation (secretariat clerks, R-A1).")
@pass_app
def item_advance(app: App, item_id: int, trigger: str, meeting_id: int | None, note: str, dry_run: bool,
                 on_behalf_of: str | None) -> None:
    """Move an item along its path by TRIGGER (refer, skip, decide, return, ...)."""
    with refusals(app):
        from engine.views import item_view

        svc = app.service()
        out = svc.advance(app.actor, item_id, trigger, meeting_id=meeting_id, note=note, dry_run=dry_run,
                          on_behalf_of=on_behalf_of)
        p = out.draft.payload
        if out.dry_run:
            app.out({"dry_run": True, "event": {"type": out.draft.type, "from": p["from"], "to": p["to"]}},
                    f"would {trigger} item {item_id}: {p['from']} -> {p['to']} ({out.draft.rule})")
            return
        view = item_view(svc, svc.item(item_id), app.lang)
    ev = out.event
    app.out({"item": view, "event": {"seq": ev.seq, "type": ev.type, "from": p["from"], "to": p["to"]}},
            f"item {item_id}: {p['from']} -> {p['to']} by {trigger} (event {ev.seq}, {out.draft.rule})")


@item.command("history")
@click.argument("item_id", type=int)
@pass_app
def item_history(app: App, item_id: int) -> None:
    """Every event of the item, oldest first."""
    with refusals(app):
        from engine.timeutil import jst
        from engine.views import event_view

        svc = app.service()
        events = svc.history(item_id)
        views = [event_view(e) for e in events]
    app.out(views, _table(app, ["seq", "at", "item", "type", "actor", "authority", "from", "to", "meeting",
                                "rulebook"], [
        [v["seq"], jst(e.at), v["item"], v["type"] if not v["trigger"] else f"{v['type']}:{v['trigger']}",
         v["actor"], v["authority"], v["from"], v["to"], v["meeting"], v["rulebook"]] for v, e in zip(views, events)]))


# ---------------------------------------------------------------- meetings
@cli.group()
def meeting() -> None:
    """Convene, hold, cancel and show meetings."""


def _meeting_human(v: dict[str, Any]) -> str:
    return "\n".join([
        f"meeting {v['id']}: {v['title']} ({v['kind']}) of {v['body']}; {v['status']}",
        f"  starts {v['starts_at']}; convened by {v['convener']}, chaired by {v['chair']}",
        f"  agenda: {', '.join(map(str, v['items'])) or '-'}"
        + (f"; outcomes: {', '.join(f'{k}:{o}' for k, o in v['outcomes'].items())}" if v["outcomes"] else ""),
        f"  attendees: {', '.join(v['attendees']) or '-'}; invited: {', '.join(v['invited']) or '-'}"
        + (f"; present: {', '.join(v['present'])}" if v["status"] == "held" else "")])


@meeting.command("convene")
@click.argument("kind")
@click.option("--at", "at_", required=True, metavar="WHEN", help="When it starts (Japan time unless a zone is given).")
@click.option("--item", "items", type=int, multiple=True, metavar="ID", help="An item for its agenda (repeat).")
@click.option("--attendee", "attendees", multiple=True, metavar="LOGIN", help="A member called (repeat).")
@click.option("--invite", "invited", multiple=True, metavar="LOGIN", help="A non-member invited (repeat).")
@click.option("--station", metavar="NAME", help="The station, for a station council.")
@click.option("--dry-run", is_flag=True, help="Check everything, write nothing.")
@click.option("--on-behalf-of", "on_behalf_of", metavar="LOGIN",
              help="Record this act for LOGIN, under their delegation (secretariat clerks, R-A1).")
@pass_app
def meeting_convene(app: App, kind: str, at_: str, items: tuple[int, ...], attendees: tuple[str, ...],
                    invited: tuple[str, ...], station: str | None, dry_run: bool, on_behalf_of: str | None) -> None:
    """Call a meeting of KIND (staff, team_lead, council, station_council)."""
    with refusals(app):
        from engine.views import meeting_view

        svc = app.service()
        out = svc.convene(app.actor, kind, app.when(at_), items=list(items), attendees=list(attendees),
                          invited=list(invited), station=station, dry_run=dry_run, on_behalf_of=on_behalf_of)
        if out.dry_run:
            app.out({"dry_run": True, "event": {"type": out.draft.type, **out.draft.payload}},
                    f"would convene meeting {out.draft.meeting} ({kind}) with "
                    f"{', '.join(out.draft.payload['attendees'])}")
            return
        view = meeting_view(svc, svc.meeting(out.event.meeting), app.lang)
    app.out(view, f"convened meeting {view['id']}\n" + _meeting_human(view))


@meeting.command("hold")
@click.argument("meeting_id", type=int)
@click.option("--present", multiple=True, metavar="LOGIN", help="Who was there (repeat; default all called).")
@click.option("--dry-run", is_flag=True, help="Check everything, write nothing.")
@click.option("--on-behalf-of", "on_behalf_of", metavar="LOGIN",
              help="Record this act for LOGIN, under their delegation (secretariat clerks, R-A1).")
@pass_app
def meeting_hold(app: App, meeting_id: int, present: tuple[str, ...], dry_run: bool, on_behalf_of: str | None) -> None:
    """Record that the meeting sat, and who was there."""
    _meeting_act(app, "hold", meeting_id, dry_run, present=list(present), on_behalf_of=on_behalf_of)


@meeting.command("cancel")
@click.argument("meeting_id", type=int)
@click.option("--reason", default="", help="Why it was called off.")
@click.option("--dry-run", is_flag=True, help="Check everything, write nothing.")
@click.option("--on-behalf-of", "on_behalf_of", metavar="LOGIN",
              help="Record this act for LOGIN, under their delegation (secretariat clerks, R-A1).")
@pass_app
def meeting_cancel(app: App, meeting_id: int, reason: str, dry_run: bool, on_behalf_of: str | None) -> None:
    """Call a convened meeting off."""
    _meeting_act(app, "cancel", meeting_id, dry_run, reason=reason, on_behalf_of=on_behalf_of)


def _meeting_act(app: App, verb: str, meeting_id: int, dry_run: bool, **kw: Any) -> None:
    with refusals(app):
        from engine.views import meeting_view

        svc = app.service()
        out = getattr(svc, verb)(app.actor, meeting_id, dry_run=dry_run, **kw)
        if out.dry_run:
            app.out({"dry_run": True, "event": {"type": out.draft.type, **out.draft.payload}},
                    f"would {verb} meeting {meeting_id}")
            return
        view = meeting_view(svc, svc.meeting(meeting_id), app.lang)
    app.out(view, f"meeting {meeting_id}: {view['status']} (event {out.event.seq})")


@meeting.command("show")
@click.argument("meeting_id", type=int)
@pass_app
def meeting_show(app: App, meeting_id: int) -> None:
    """A meeting: kind, chair, agenda, attendees, outcomes."""
    with refusals(app):
        from engine.views import meeting_view

        svc = app.service()
        view = meeting_view(svc, svc.meeting(meeting_id), app.lang)
    app.out(view, _meeting_human(view))


@meeting.command("list")
@click.option("--status", type=click.Choice(["convened", "held", "cancelled"]), help="Only meetings in this status.")
@pass_app
def meeting_list(app: App, status: str | None) -> None:
    """Meetings, one a line."""
    with refusals(app):
        from engine.views import meeting_view

        svc = app.service()
        views = [meeting_view(svc, m, app.lang) for m in svc.store.meetings(status=status)]
    app.out(views, _table(app, ["id", "kind", "body", "status", "starts", "chair", "items"], [
        [v["id"], v["title"], v["body"], v["status"], v["starts_at"], v["chair"], ",".join(map(str, v["items"]))]
        for v in views]))


@meeting.command("ics")
@click.argument("meeting_id", type=int)
@pass_app
def meeting_ics(app: App, meeting_id: int) -> None:
    """The meeting as an iCalendar invitation, for a calendar."""
    with refusals(app):
        from engine.messages import meeting_calendar

        svc = app.service()
        m = svc.meeting(meeting_id)
        text = meeting_calendar(svc.book(), m, {x.login: x for x in svc.store.members()}, svc.clock.now(),
                                _mail_domain(app))
    if app.json:
        app.out({"meeting": meeting_id, "ics": text})
    else:
        click.echo(text, nl=False)


def _mail_domain(app: App) -> str:
    return app.settings.mail_from.rpartition("@")[2] or "kaigi.local"


# ---------------------------------------------------------------- investigation orders (R-T5)
@cli.group()
def order() -> None:
    """The general manager's investigation orders to team leaders (R-T5)."""


def _order_act(app: App, verb: str, *args: Any, **kw: Any) -> None:
    with refusals(app):
        from engine.views import order_view

        svc = app.service()
        out = getattr(svc, verb)(app.actor, *args, **kw)
        if out.dry_run:
            app.out({"dry_run": True, "event": {"type": out.draft.type, **out.draft.payload}},
                    f"would {verb.replace('_', ' ')}: {out.draft.payload}")
            return
        v = order_view(svc.order(out.draft.payload["id"]))
    app.out(v, f"order {v['id']} on item {v['item']} to {v['to']}: {v['status']} (due {v['due_at']})")


@order.command("issue")
@click.argument("item_id", type=int)
@click.option("--to", "to", required=True, metavar="LOGIN", help="The team leader ordered.")
@click.option("--due", "due", metavar="WHEN", help="When the finding is due (default: the rulebook's, 7 days).")
@click.option("--note", default="", help="What to investigate.")
@click.option("--dry-run", is_flag=True, help="Check everything, write nothing.")
@click.option("--on-behalf-of", "on_behalf_of", metavar="LOGIN",
              help="Record this act for LOGIN, under their delegation (secretariat clerks, R-A1).")
@pass_app
def order_issue(app: App, item_id: int, to: str, due: str | None, note: str, dry_run: bool,
                on_behalf_of: str | None) -> None:
    """Order a team leader to investigate an item in pre-review."""
    with refusals(app):
        due_at = app.when(due) if due else None
    _order_act(app, "issue_order", item_id, to, due_at=due_at, note=note, dry_run=dry_run, on_behalf_of=on_behalf_of)


@order.command("complete")
@click.argument("order_id", type=int)
@click.option("--finding", required=True, help="What the investigation found.")
@click.option("--dry-run", is_flag=True, help="Check everything, write nothing.")
@click.option("--on-behalf-of", "on_behalf_of", metavar="LOGIN",
              help="Record this act for LOGIN, under their delegation (secretariat clerks, R-A1).")
@pass_app
def order_complete(app: App, order_id: int, finding: str, dry_run: bool, on_behalf_of: str | None) -> None:
    """Report an order's finding (the team leader ordered)."""
    _order_act(app, "complete_order", order_id, finding, dry_run=dry_run, on_behalf_of=on_behalf_of)


@order.command("waive")
@click.argument("order_id", type=int)
@click.option("--reason", required=True, help="Why no finding is needed.")
@click.option("--dry-run", is_flag=True, help="Check everything, write nothing.")
@click.option("--on-behalf-of", "on_behalf_of", metavar="LOGIN",
              help="Record this act for LOGIN, under their delegation (secretariat clerks, R-A1).")
@pass_app
def order_waive(app: App, order_id: int, reason: str, dry_run: bool, on_behalf_of: str | None) -> None:
    """Waive an open order (the general manager)."""
    _order_act(app, "waive_order", order_id, reason, dry_run=dry_run, on_behalf_of=on_behalf_of)


@order.command("list")
@click.option("--item", "item_id", type=int, help="Only this item's orders.")
@pass_app
def order_list(app: App, item_id: int | None) -> None:
    """Investigation orders, one a line."""
    with refusals(app):
        from engine.views import order_view

        rows = [order_view(o) for o in app.service().store.orders(item=item_id)]
    app.out(rows, _table(app, ["id", "item", "to", "due", "status", "finding / reason"], [
        [r["id"], r["item"], r["to"], r["due_at"], r["status"], r["finding"] or r["reason"]] for r in rows]))


# ---------------------------------------------------------------- reminders and the scheduler
@cli.group()
def reminders() -> None:
    """What waits on whom, and when it will be sent."""


def _reminder_table(app: App, rows: list[dict[str, Any]]) -> str:
    return _table(app, ["due (JST)", "what", "item", "meeting", "rung", "to", "status"], [
        [r["due_at"], r["what"], r["item"], r["meeting"], r["rung"], ", ".join(r["recipients"]) or "-",
         r["status"] + (f" ({r['error']})" if r.get("error") else "")] for r in rows])


@reminders.command("list")
@click.option("--due", is_flag=True, help="Only what is due now.")
@pass_app
def reminders_list(app: App, due: bool) -> None:
    """Pending reminders, messages waiting to be retried, and failed deliveries."""
    with refusals(app):
        from engine.views import reminder_rows

        rows = reminder_rows(app.service(), due_only=due, lang=app.lang)
    app.out(rows, _reminder_table(app, rows) if rows else "nothing pending")


@reminders.command("forecast")
@click.option("--until", "until", required=True, metavar="WHEN", help="How far ahead to look.")
@pass_app
def reminders_forecast(app: App, until: str) -> None:
    """What would be sent, and when, without sending."""
    with refusals(app):
        from engine.views import forecast_rows

        rows = forecast_rows(app.service(), app.when(until), app.lang)
    app.out(rows, _reminder_table(app, rows) if rows else "nothing until then")


@cli.group()
def scheduler() -> None:
    """The reminder daemon."""


@scheduler.command("run")
@click.option("--once", is_flag=True, help="Send what is due and exit (for cron).")
@click.option("--sweep", default=30.0, show_default=True, help="Seconds between sweeps of the database.")
@click.option("--lease", default=300.0, show_default=True,
              help="Seconds a claimed message stays ours before another scheduler may resend it.")
@pass_app
def scheduler_run(app: App, once: bool, sweep: float, lease: float) -> None:
    """Send due reminders and escalate ignored ones; runs until stopped unless --once."""
    from contextlib import nullcontext

    with refusals(app):
        from engine.dispatch import Dispatcher
        from engine.errors import NotPossible
        from engine.settings import sqlite_file

        svc = app.service(check_actor=False)
        senders = _senders(app)
        if not senders:
            raise NotPossible("no delivery channel: set KAIGI_SMTP_URL (email) or KAIGI_OUTBOX (JSON Lines file)")
        import datetime as dt

        dispatcher = Dispatcher(svc, senders, domain=_mail_domain(app), lease=dt.timedelta(seconds=lease),
                                mark_every=1 if "email" in senders else 100, after_send=_test_kill())
        db_file = sqlite_file(svc.store.url, Path.cwd()) if svc.store.is_sqlite else None
        from engine.scheduler import ReminderClock, SingleScheduler

        with SingleScheduler(db_file) if db_file else nullcontext():
            if once:
                s = dispatcher.run_once()
                app.out({"fired": s.fired, "sent": s.sent, "retried": s.retried, "failed": s.failed},
                        f"fired {s.fired} reminders; sent {s.sent} messages; {s.retried} to retry; {s.failed} failed")
                return
            clock = ReminderClock(dispatcher, sweep_seconds=sweep)
            click.echo(f"scheduler {dispatcher.worker} running on {svc.store.safe_url}; Ctrl-C to stop", err=True)
            clock.start()
            t = clock.total
            app.out({"fired": t.fired, "sent": t.sent, "retried": t.retried, "failed": t.failed},
                    f"stopped: fired {t.fired}; sent {t.sent}; failed {t.failed}")


def _senders(app: App) -> dict[str, Any]:
    from engine.delivery import OutboxSender, SmtpSender, parse_smtp_url

    s = app.settings
    senders: dict[str, Any] = {}
    if s.smtp_url:
        try:
            senders["email"] = SmtpSender(parse_smtp_url(s.smtp_url), s.mail_from)
        except ValueError as err:
            _fail(2, "bad_input", f"KAIGI_SMTP_URL: {err}", app.json)
    if s.outbox:
        senders["outbox"] = OutboxSender(Path(s.outbox))
    return senders


# ---------------------------------------------------------------- audit
@cli.group()
def audit() -> None:
    """Check and export the event log."""


@audit.command("verify")
@click.option("--checkpoint", "checkpoints", multiple=True, metavar="SEQ:HASH",
              help="A head kept earlier (`audit checkpoint`); catches a rewrite of the whole tail.")
@pass_app
def audit_verify(app: App, checkpoints: tuple[str, ...]) -> None:
    """Check the whole log: chain, order, every act re-decided, replay equal to stored state."""
    with refusals(app):
        from engine.audit import parse_checkpoint, verify

        marks = [parse_checkpoint(c) for c in checkpoints]
        v = verify(app.service(check_actor=False).store, checkpoints=marks)
    d = v.as_dict()
    if v.ok:
        app.out(d, f"log intact: {v.events} events, every act re-decided and allowed under the rules in force; "
                   f"{v.items} items and {v.meetings} meetings replay to the stored state"
                   + (f"; {v.refused} refused attempts kept" if v.refused else ""))
        return
    app.out(d)
    click.echo(f"integrity failure: first bad event {v.first_bad_seq}: {v.problem}", err=True)
    sys.exit(7)


@audit.command("checkpoint")
@pass_app
def audit_checkpoint(app: App) -> None:
    """Print the head of the log (SEQ:HASH) for the auditor to keep elsewhere."""
    with refusals(app):
        seq, digest = app.service(check_actor=False).store.head()
    app.out({"seq": seq, "hash": digest, "checkpoint": f"{seq}:{digest}"}, f"{seq}:{digest}")


@audit.command("replay")
@click.argument("item_id", type=int)
@click.option("--at", "at_", metavar="WHEN", help="Show the item as it stood then.")
@pass_app
def audit_replay(app: App, item_id: int, at_: str | None) -> None:
    """Rebuild an item from its events alone, re-deciding each step under the rules of its day."""
    with refusals(app):
        from engine.audit import replay_item
        from engine.timeutil import jst

        svc = app.service()
        svc.item(item_id)
        at = app.when(at_) if at_ else None
        steps, r = replay_item(svc.store, item_id, at)
        rows = [s.as_dict() for s in steps]
        item = r.world.items.get(item_id)
        reminders = _reminders_then(r, item_id, at) if at is not None else []
    if app.json:
        app.out(rows if at is None else {"steps": rows, "item": _item_then(item), "reminders": reminders})
        return
    click.echo(_table(app, ["seq", "at (JST)", "actor", "authority", "act", "from", "to", "rulebook", "allowed"], [
        [s.seq, jst(s.at), s.actor, s.authority, s.type if not s.trigger else s.trigger, s.from_, s.to, s.rulebook,
         ("yes: " if s.allowed else "no: ") + s.reason] for s in steps]))
    if at is not None:
        click.echo(f"\nat {jst(at)}: " + (f"item {item_id} was {item.state} (version {item.version})" if item
                                         else f"item {item_id} did not exist yet"))
        for x in reminders:
            click.echo(f"  reminder {x['id']} ({x['key']}) due {x['due_at']}: " + (
                "; ".join(f"rung {g['rung']} sent to {', '.join(g['recipients']) or '-'}" for g in x["rungs"])
                or "not yet sent"))


def _item_then(item: Any) -> Any:
    from engine.timeutil import iso

    return None if item is None else {"id": item.id, "state": item.state, "version": item.version,
                                      "updated_at": iso(item.updated_at)}


def _reminders_then(r: Any, item_id: int, at: Any) -> list[dict[str, Any]]:
    """The item's reminders that were due by `at`, and what had been sent of each."""
    from engine.timeutil import iso

    out = []
    for rem in r.world.reminders.values():
        if rem.item == item_id and rem.due_at <= at:
            out.append({"id": rem.id, "key": rem.key, "due_at": iso(rem.due_at), "status": rem.status,
                        "rungs": r.fired.get(rem.id, [])})
    return out


@audit.command("export")
@click.option("--format", "fmt", type=click.Choice(["jsonl", "csv"]), default="jsonl", show_default=True,
              help="JSON Lines or CSV.")
@click.option("--since", metavar="WHEN", help="Only events from then on (such a part cannot be imported alone).")
@click.option("--output", "-o", type=click.Path(dir_okay=False), help="A file instead of stdout.")
@pass_app
def audit_export(app: App, fmt: str, since: str | None, output: str | None) -> None:
    """The event log for outside tools; a whole export re-imports with `audit import`."""
    with refusals(app):
        from engine.audit import export_rows, write_export

        svc = app.service(check_actor=False)
        rows = export_rows(svc.store, app.when(since) if since else None)
        if output:
            with open(output, "w", encoding="utf-8", newline="") as fh:
                n = write_export(rows, fmt, fh)
            click.echo(f"exported {n} events to {output}", err=True)
        else:
            write_export(rows, fmt, sys.stdout)


@audit.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--format", "fmt", type=click.Choice(["jsonl", "csv"]), help="Default: from the file name.")
@pass_app
def audit_import(app: App, file: str, fmt: str | None) -> None:
    """Load an exported log into an empty database, checking every event; the tables are rebuilt."""
    with refusals(app):
        from engine.audit import import_log, read_export
        from store.db import upgrade

        svc = app.service(check_schema=False, check_actor=False)
        upgrade(svc.store.engine)
        fmt = fmt or ("csv" if file.endswith(".csv") else "jsonl")
        v = import_log(svc.store, read_export(Path(file).read_text(encoding="utf-8"), fmt))
    if v.ok:
        app.out(v.as_dict(), f"imported {v.events} events; head {v.head[0]}:{v.head[1]}")
        return
    app.out(v.as_dict())
    click.echo(f"integrity failure: first bad event {v.first_bad_seq}: {v.problem}; nothing after it was imported",
               err=True)
    sys.exit(7)


if __name__ == "__main__":
    main()
