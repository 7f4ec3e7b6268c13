"""The `kaigi` command line: parse, call the application API, render. No rules live here.

Heavy modules are imported inside command bodies, so `kaigi --help` stays fast. Errors
become the exit codes of CLI.md in one place, `refusals()`: one line on stderr (and
`{"error": …}` on stdout with --json). Every word a person reads comes from the message
catalog, in Japanese or English (`--lang`, KAIGI_LANG, else the member's own language).
"""

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

KAIGI_PACKAGES = ("engine", "store", "web", "workflows")


def foreign_package() -> tuple[str, str] | None:
    """A top-level package of kaigi's that is not kaigi's: kaigi installs `engine`, `store`, `web`
    and `workflows` at the top level, and another distribution shipping a package of the same
    name may overwrite or shadow it. Each of ours carries `__kaigi__`; read without importing
    (a foreign `engine` might do anything on import). Returns (name, where) of the first not ours."""
    import importlib.util

    for name in KAIGI_PACKAGES:
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError):
            spec = None
        origin = getattr(spec, "origin", None)
        try:
            text = Path(origin).read_text(encoding="utf-8", errors="replace") if origin else ""
        except OSError:
            text = ""
        if f'__kaigi__ = "{name}"' not in text:
            return name, str(origin or "-")
    return None


if (_foreign := foreign_package()) is not None:  # before anything of ours is imported
    sys.stderr.write(
        f"kaigi: パッケージ「{_foreign[0]}」({_foreign[1]})は kaigi のものではありません。別の配布物が同名のパッケージを"
        f"入れています。kaigi は専用の仮想環境に入れ直してください(python3 -m venv .venv; .venv/bin/pip install …) / "
        f"the package '{_foreign[0]}' ({_foreign[1]}) is not kaigi's: another distribution installed a package "
        f"of that name; install kaigi in its own virtual environment (python3 -m venv .venv, or pipx)\n")
    sys.exit(1)

import click  # noqa: E402


def _json() -> Any:
    """The json module, imported when a command prints JSON (not for `--help`)."""
    import json

    return json


EXIT_BUG = 1
EXIT = {"bad_input": 2, "not_permitted": 3, "not_possible": 4, "not_found": 5, "conflict": 6, "integrity": 7,
        "unavailable": 4}
MAX_ID = 2**63 - 1
ID = click.IntRange(1, MAX_ID)


class Seconds(click.FloatRange):
    """A finite number of seconds in a range: `nan` passes every comparison, so a plain
    FloatRange lets it through (and a nan lease never expires)."""

    name = "seconds"

    def convert(self, value: Any, param: Any, ctx: Any) -> Any:
        import math

        out = super().convert(value, param, ctx)
        if not math.isfinite(out):
            self.fail(f"{value!r} is not a finite number of seconds", param, ctx)
        return out


def _t(key: str, lang: str, /, **params: Any) -> str:
    from engine.i18n import t

    return t(key, lang, **params)


def _lang_now() -> str:
    ctx = click.get_current_context(silent=True)
    app = ctx.find_object(App) if ctx else None
    if app is not None:
        return app.lang
    from engine.i18n.click_ja import current

    asked = current()  # `--help` is answered while parsing, before the App exists: the root's `--lang`
    if asked is not None:
        return asked
    from engine.infra.settings import environment

    env = environment().lang
    return env if env in ("ja", "en") else "ja"


class _InReadersWords:
    """Help a command or group gives in the reader's language: its help text is a catalog
    key; click's own words (usage, the help option) are translated (engine.i18n.click_ja)."""

    help: str | None

    def format_help_text(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        if self.help:
            formatter.write_paragraph()
            with formatter.indentation():
                formatter.write_text(_t(self.help, _lang_now()))

    def get_short_help_str(self, limit: int = 45) -> str:
        return _t(self.help, _lang_now()).split("\n")[0] if self.help else ""

    def collect_usage_pieces(self, ctx: click.Context) -> list[str]:
        from engine.i18n.click_ja import usage

        return usage(super().collect_usage_pieces(ctx))  # type: ignore[misc]

    def get_help_option(self, ctx: click.Context) -> click.Option | None:
        """click keeps one help option per command: its words are set each time, in the
        language of this command line (a process may run several)."""
        from engine.i18n.click_ja import words

        opt = super().get_help_option(ctx)  # type: ignore[misc]
        if opt is not None:
            opt.help = words("Show this message and exit.")
        return opt  # type: ignore[no-any-return]


class TCommand(_InReadersWords, click.Command):
    """A command whose help text is a catalog key, shown in the reader's language."""


class TGroup(_InReadersWords, click.Group):
    command_class = TCommand


TGroup.group_class = TGroup


class Root(TGroup):
    """`kaigi` itself: before parsing, click's own words (`Usage:`, its errors) are set to the
    language asked for (`--lang`, KAIGI_LANG, else Japanese as the App's default)."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        from engine.i18n import click_ja
        from engine.infra.settings import environment

        click_ja.use(click_ja.language(list(args), environment().lang))
        return super().parse_args(ctx, args)


class TOption(click.Option):
    def get_help_record(self, ctx: click.Context) -> tuple[str, str] | None:
        if self.help and self.help.startswith("opt."):
            saved, self.help = self.help, _t(self.help, _lang_now())
            try:
                return super().get_help_record(ctx)
            finally:
                self.help = saved
        return super().get_help_record(ctx)


FC = TypeVar("FC", bound=Callable[..., Any] | click.Command)


def option(*decls: str, **kw: Any) -> Callable[[FC], FC]:
    return click.option(*decls, cls=TOption, **kw)


dry_run_opt = option("--dry-run", is_flag=True, help="opt.dry_run")
behalf_opt = option("--on-behalf-of", "on_behalf_of", metavar="LOGIN", help="opt.on_behalf_of")


class App:
    """What every command needs: settings, the acting login, output mode; the API on demand."""

    def __init__(self, db: str | None, as_: str | None, json_out: bool, lang: str | None) -> None:
        self.db_arg, self.login, self.json = db, as_, json_out
        from engine.infra.settings import environment

        self.lang = lang or environment().lang or "ja"
        self._kaigi: Any = None
        self._settings: Any = None
        self._actor: Any = None

    @property
    def settings(self) -> Any:
        if self._settings is None:
            from engine.infra.settings import load_settings

            try:
                self._settings = load_settings(db_url=self.db_arg, cwd=Path.cwd())
            except ValueError as err:
                fail(self, 2, "bad_input", str(err))
        return self._settings

    def kaigi(self, check_schema: bool = True, readonly: bool = False) -> Any:
        if self._kaigi is None:
            import engine
            from engine.app.kaigi import schema_ready
            from engine.infra.logs import log_to

            try:
                log_to(self.settings.log_file)
            except ValueError as err:
                fail(self, 2, "bad_input", str(err))
            self._kaigi = engine.open(self.settings, readonly=readonly)
            if check_schema:
                schema_ready(self._kaigi.store)
        return self._kaigi

    def close(self) -> None:
        """At the end of the command: its database connections closed (a PostgreSQL pool
        holds them, and commands run in one process, as the tests run them, would otherwise
        keep each command's until the pool is collected)."""
        k, self._kaigi = self._kaigi, None
        if k is not None:
            k.store.close()

    def header(self) -> None:
        """Every screen of a training database says so (CLI.md, Identity): a line on stderr
        before a command's result (a refusal stays one line)."""
        if self._kaigi is not None and not getattr(self, "_said", False) and self._kaigi.training():
            self._said = True
            click.echo(self.t("identity.training_header"), err=True)

    @property
    def actor(self) -> Any:
        """The member acting: asked of the engine, which trusts `--as` only on a training
        database (R-I1). Raises a domain error; call it inside `refusals`."""
        return self.actor_in(None)

    def actor_in(self, tx: Any) -> Any:
        """`actor`, asked inside a read transaction the command holds already."""
        if self._actor is None:
            self._actor = self.kaigi().authenticate(self.claimed_login(), tx)
        return self._actor

    def claimed_login(self) -> str | None:
        """The login `--as` (or KAIGI_AS) names, if any."""
        return self.login or self.settings.env.as_login or None

    def now(self) -> Any:
        import datetime as dt

        return dt.datetime.now(dt.UTC)

    def when(self, text: str, end_of_day: bool = False) -> Any:
        from engine.infra.timeutil import parse_when

        return parse_when(text, self.now(), end_of_day=end_of_day)

    def t(self, key: str, /, **params: Any) -> str:
        return _t(key, self.lang, **params)

    def out(self, data: Any, human: str | None = None) -> None:
        self.header()
        if self.json:
            click.echo(_json().dumps(data, ensure_ascii=False, sort_keys=True, default=str))
        elif human is not None:
            click.echo(human)


def fail(app: "App | None", code: int, kind: str, message: str) -> None:
    if app is not None and app.json:
        click.echo(_json().dumps({"error": {"code": code, "kind": kind, "message": message}}, ensure_ascii=False))
    click.echo(message, err=True)
    sys.exit(code)


@contextmanager
def refusals(app: App) -> Iterator[None]:
    """Map the domain errors to CLI.md's exit codes: one line, no traceback."""
    from engine.core.errors import DomainError, RulebookProblems

    try:
        yield
    except RulebookProblems as err:
        if app.json:
            click.echo(_json().dumps({"error": {"code": 2, "kind": "rulebook_invalid", "problems": err.problems}},
                                  ensure_ascii=False))
        click.echo("\n".join(err.problems), err=True)
        sys.exit(2)
    except DomainError as err:
        fail(app, EXIT[err.kind], err.kind, err.render(app.lang))


def _bug(app: App | None, err: BaseException) -> None:
    """An unexpected exception is a bug: keep the traceback in a file, say where, exit 1."""
    import tempfile
    import traceback
    import uuid

    tid = uuid.uuid4().hex[:12]
    path = Path(tempfile.gettempdir()) / f"kaigi-crash-{tid}.log"
    try:
        path.write_text("".join(traceback.format_exception(err)), encoding="utf-8")
    except OSError:
        path = Path("-")
    fail(app, EXIT_BUG, "bug", f"unexpected failure (a bug): {type(err).__name__}; traceback id {tid} in {path}")


# ---------------------------------------------------------------- the group
@click.group(cls=Root, context_settings={"help_option_names": ["-h", "--help"]}, help="help.kaigi")
@option("--db", envvar="KAIGI_DB", metavar="URL", help="opt.db")
@option("--as", "as_", metavar="LOGIN", help="opt.as")
@option("--json", "json_out", is_flag=True, help="opt.json")
@option("--lang", type=click.Choice(["ja", "en"]), envvar="KAIGI_LANG", help="opt.lang")
@click.pass_context
def cli(ctx: click.Context, db: str | None, as_: str | None, json_out: bool, lang: str | None) -> None:
    ctx.obj = App(db, as_, json_out, lang)
    ctx.call_on_close(ctx.obj.close)


pass_app = click.make_pass_decorator(App)


def _undecodable_argument() -> int | None:
    """The position of an argument that was not valid UTF-8 (Python keeps such bytes as lone
    surrogates, which no text field, database or JSON encoder accepts)."""
    for n, arg in enumerate(sys.argv[1:], start=1):
        if any(0xD800 <= ord(c) <= 0xDFFF for c in arg):
            return n
    return None


def _env_lang() -> str:
    from engine.infra.settings import environment

    return environment().lang or "ja"


def main() -> None:
    app: App | None = None
    bad = _undecodable_argument()
    if bad is not None:
        argv = sys.argv[1:]
        lang = next((argv[i + 1] for i, a in enumerate(argv[:-1]) if a == "--lang"),
                    _env_lang())
        click.echo(_t("input.argument_not_utf8", lang, n=bad), err=True)
        sys.exit(2)
    try:
        cli.main(prog_name="kaigi", standalone_mode=False)
    except click.exceptions.Exit as e:
        sys.exit(e.exit_code)
    except click.ClickException as e:
        e.show()
        sys.exit(2 if e.exit_code == 1 else e.exit_code)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(EXIT_BUG)
    except SystemExit:
        raise
    except BaseException as err:  # noqa: BLE001 (the one place a bug is caught)
        ctx = click.get_current_context(silent=True)
        app = ctx.find_object(App) if ctx else None
        _bug(app, err)


def table(columns: list[str], rows: list[list[Any]]) -> str:
    """Columns aligned for people, counting East Asian wide characters as two."""
    import unicodedata

    def width(s: str) -> int:
        return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in s)

    cells = [[("" if v is None else str(v)).replace("\n", " ") for v in r] for r in rows]
    widths = [max([width(c)] + [width(r[i]) for r in cells]) for i, c in enumerate(columns)]
    lines = []
    for r in [columns, *cells]:
        lines.append("  ".join(c + " " * (w - width(c)) for c, w in zip(r, widths, strict=True)).rstrip())
    return "\n".join(lines)


# ================================================================ commands
def _iso(at: Any) -> Any:
    from engine.infra.timeutil import iso

    return iso(at)


def _when(at: Any, lang: str) -> str:
    from engine.i18n import when

    return when(at, lang)


def _act_done(app: App, out: Any, data: Any, **params: Any) -> None:
    """The line an act prints: what it did (or, with --dry-run, would do), and its JSON. The
    words are the act's own, declared in engine/core/acts.py (`done`)."""
    from engine.core import acts
    from engine.core.events import ItemAdvanced

    last = out.records[-1]
    params = {"seq": last.seq, **params}
    done, would = acts.confirmation(type(out.fact), app.lang)
    if out.dry_run:
        app.out({"dry_run": True, "events": [{"type": f.type, **f.payload()} for f in out.facts],
                 "event": {"type": out.fact.type, **({"from": out.fact.src, "to": out.fact.dest}
                                                     if isinstance(out.fact, ItemAdvanced) else out.fact.payload())}},
                app.t(would, **params))
        return
    app.out(data, app.t(done, **params))


# ---------------------------------------------------------------- rulebooks
@cli.group(help="help.rulebook")
def rulebook() -> None:
    pass


def _rules(app: App) -> Any:
    """The adopted versions if there is a database, else the bundled ones."""
    from engine.app import rulebooks

    try:
        k = app.kaigi()
    except (SystemExit, Exception):  # noqa: BLE001 (no database yet: the bundled books still answer)
        return rulebooks.bundled()
    return rulebooks.adopted(k)


def _book(app: App, rules: Any, version: str | None) -> Any:
    from engine.app import rulebooks

    return rulebooks.version(rules, version) if version else rulebooks.at(rules, app.now())


@rulebook.command("list", help="help.rulebook.list")
@pass_app
def rulebook_list(app: App) -> None:
    with refusals(app):
        rules = _rules(app)
        current = _book(app, rules, None).version if rules.books else None
    rows = [{"version": b.version, "effective_from": b.effective_from.isoformat(), "in_force": b.version == current,
             "source": b.source, "sha256": b.sha256} for b in rules.books]
    app.out(rows, table([app.t("col.version"), app.t("col.from"), app.t("col.in_force"), app.t("col.source")], [
        [r["version"], r["effective_from"], app.t("word.yes") if r["in_force"] else "", r["source"]] for r in rows]))


@rulebook.command("show", help="help.rulebook.show")
@click.argument("version", required=False)
@pass_app
def rulebook_show(app: App, version: str | None) -> None:
    with refusals(app):
        book = _book(app, _rules(app), version)
    if app.json:
        app.out({"version": book.version, "effective_from": book.effective_from.isoformat(), "source": book.source,
                 "text": book.text})
        return
    click.echo(book.text, nl=False)


@rulebook.command("diff", help="help.rulebook.diff")
@click.argument("a")
@click.argument("b")
@pass_app
def rulebook_diff(app: App, a: str, b: str) -> None:
    with refusals(app):
        from engine.app import rulebooks

        changes, text = rulebooks.compare(_rules(app), a, b, app.lang)
    if app.lang == "ja":
        text = _diff_ja(app, changes)
    app.out([{"key": c.key, "kind": c.kind, "before": c.before, "after": c.after} for c in changes], text)


def _diff_ja(app: App, changes: list[Any]) -> str:
    """`rulebook diff` in Japanese: each line says added, removed or changed and in which part
    of the rulebook (職, 会議, 遷移 …), then the rulebook path and its values (already given in
    both languages)."""
    if not changes:
        return app.t("diff.none")
    lines = []
    for c in changes:
        section = c.key.split(".", 1)[0].split("[", 1)[0]
        key = f"diff.section.{section}"
        lines.append(app.t(f"diff.{c.kind}", section=app.t(key) if key in _catalog() else section, key=c.key,
                           before=c.before, after=c.after))
    return "\n".join(lines)


@rulebook.command("check", help="help.rulebook.check")
@click.argument("file", type=click.Path(dir_okay=False))
@pass_app
def rulebook_check(app: App, file: str) -> None:
    with refusals(app):
        from engine.app import rulebooks

        book = rulebooks.check(file, rulebooks.read_file(file), app.lang)
    app.out({"ok": True, "version": book.version, "states": len(book.states), "transitions": len(book.transitions)},
            app.t("rulebook.check_ok", file=file, version=book.version, states=len(book.states),
                  transitions=len(book.transitions), meetings=len(book.meetings), reminders=len(book.reminders)))


@rulebook.command("diagram", help="help.rulebook.diagram")
@option("--format", "fmt", type=click.Choice(["mermaid", "text", "svg"]), default="mermaid", show_default=True,
        help="opt.diagram_format")
@option("--version", "version", help="opt.version")
@pass_app
def rulebook_diagram(app: App, fmt: str, version: str | None) -> None:
    with refusals(app):
        from engine.app import diagrams

        book = _book(app, _rules(app), version)
        text = {"mermaid": diagrams.mermaid, "text": diagrams.text_diagram, "svg": diagrams.svg}[fmt](book, app.lang)
    app.out({"version": book.version, "format": fmt, "diagram": text}, text)


@rulebook.command("cutover", help="help.rulebook.cutover")
@click.argument("version")
@option("--file", "file", type=click.Path(exists=True, dir_okay=False), help="opt.cutover_file")
@dry_run_opt
@pass_app
def rulebook_cutover(app: App, version: str, file: str | None, dry_run: bool) -> None:
    with refusals(app):
        from engine.app.cutover import cutover

        book, rows = cutover(app.kaigi(), lambda: app.actor, version, file, dry_run=dry_run, lang=app.lang)
    head = (app.t("cutover.moves", since=str(book.effective_from), version=version) if rows else
            app.t("cutover.nothing", since=str(book.effective_from), version=version))
    app.out(rows, head + "".join("\n" + app.t("cutover.line", what=r["what"], was=r["from_posts"], will=r["to_posts"])
                                 for r in rows))


def _read_text(path: str, limit: int = 5_000_000) -> str:
    from engine.app.rulebooks import read_file

    return read_file(path, limit)


# ---------------------------------------------------------------- init, roster, whoami
@cli.command(help="help.init")
@option("--rulebook", "rulebook_spec", metavar="FILE|KEY", help="opt.init_rulebook")
@option("--demo", is_flag=True, help="opt.demo")
@option("--training", is_flag=True, help="opt.training")
@option("--chief", metavar="LOGIN", help="opt.chief")
@option("--name", help="opt.chief_name")
@option("--name-en", default="", help="opt.name_en")
@option("--email", help="opt.email")
@option("--os-user", help="opt.chief_os_user")
@option("--db-role", help="opt.db_role")
@pass_app
def init(app: App, rulebook_spec: str | None, demo: bool, training: bool, chief: str | None, name: str | None,
         name_en: str, email: str | None, os_user: str | None, db_role: str | None) -> None:
    with refusals(app):
        from engine.app import bootstrap

        report = bootstrap.initialise(lambda: app.kaigi(check_schema=False), app.settings.db_url,
                                      rulebook_spec=rulebook_spec, demo=demo, training=training, chief=chief,
                                      name=name, name_en=name_en, email=email, os_user=os_user, db_role=db_role)
    app.header()
    safe = _safe_url(app.settings.db_url)
    app.out({"db": safe, "adopted": report.adopted, "events": report.events, "demo_items": report.demo_items,
             "rebuilt": report.rebuilt, "mode": report.mode, "rulebook": report.organisation},
            app.t("init.done", db=safe, events=report.events)
            + (app.t("init.adopted", versions=", ".join(report.adopted)) if report.adopted else "")
            + (app.t("init.demo", items=", ".join(map(str, report.demo_items))) if report.demo_items else "")
            + (app.t("init.rebuilt") if report.rebuilt else "")
            + app.t("init.mode", mode=app.t(f"identity.mode.{report.mode}")))


def _safe_url(url: str) -> str:
    from engine.infra.secrets import redact_url

    return redact_url(url)


@cli.group(help="help.roster")
def roster() -> None:
    pass


def _role_text(app: App, r: dict[str, Any], top: str) -> str:
    """A post: its role, `@body` unless at the top body (`top`, its key), `/team`."""
    body = "" if r["body"] == top else f"@{r['body']}"
    team = f"/{r['team']}" if r["team"] else ""
    return f"{r['title']}{body}{team}"


@roster.command("list", help="help.roster.list")
@option("--at", "at_", metavar="WHEN", help="opt.roster_at")
@pass_app
def roster_list(app: App, at_: str | None) -> None:
    with refusals(app):
        at = app.when(at_) if at_ else None
        with app.kaigi().read() as q:
            _member(app, q)
            rows = q.roster(at, app.lang)
            top = q.w.top() if q.w.bodies else ""
    app.out(rows, table([app.t("col.login"), app.t("col.name"), app.t("col.roles")], [
        [r["login"], r["name"], ", ".join(_role_text(app, x, top) for x in r["roles"]) or "-"] for r in rows]))


def _roster_act(app: App, verb: str, *args: Any, **kw: Any) -> None:
    with refusals(app):
        out = getattr(app.kaigi(), verb)(app.actor, *args, **kw)
    facts = [{"type": f.type, **f.payload()} for f in out.facts]
    d = {"dry_run": out.dry_run, "event": {**facts[0], "seq": out.records[0].seq}, "events": facts}
    text = ", ".join(f"{k}={v}" for k, v in facts[0].items() if v not in (None, "") and k != "type")
    said = app.lang == "ja"  # in words; the English line keeps the event's fields
    app.out(d, app.t(("said_would.roster" if said else "roster.would") if out.dry_run else
                     ("said.roster" if said else "roster.done"), type=out.fact.type, what=text,
                     seq=out.records[0].seq, words=_roster_words(app, out.fact)))


def _roster_words(app: App, e: Any) -> str:
    """A roster change as a sentence's subject: who, which post, from when to when, by name."""
    lang = app.lang
    with app.kaigi().read() as q:
        book = q.book()
        name = q.name(getattr(e, "login", "") or "", lang) if hasattr(e, "login") else ""
        p: dict[str, Any] = {k: v for k, v in e.payload().items()}
        if e.type == "RoleAssigned":
            pos = book.positions.get(e.position)
            p.update(position=pos.title.in_(lang) if pos else e.position, body=q.body_name(e.body, lang),
                     team=app.t("roster.team", team=book.teams[e.team].title.in_(lang)) if e.team in book.teams
                     else (app.t("roster.team", team=e.team) if e.team else ""),
                     since=_when(e.valid_from, lang),
                     until=app.t("roster.until", at=_when(e.valid_until, lang)) if e.valid_until else "")
        elif e.type in ("AssignmentEnded", "DelegationEnded"):
            p.update(at=_when(e.valid_until, lang))
        elif e.type == "RecordingDelegated":
            p.update(who=q.name(app.actor.login, lang), clerk=q.name(e.clerk, lang), since=_when(e.valid_from, lang),
                     until=_when(e.valid_until, lang))
        elif e.type == "MemberAdded":
            name = e.name if lang == "ja" else (e.name_en or e.name)
        p.update(name=name or getattr(e, "login", ""), os_user=p.get("os_user") or "-", db_role=p.get("db_role") or "-")
    key = f"roster.{e.type}"
    return app.t(key, **p) if key in _catalog() else e.type


@roster.command("add", help="help.roster.add")
@click.argument("login")
@option("--name", required=True, help="opt.name")
@option("--name-en", default="", help="opt.name_en")
@option("--email", help="opt.email")
@option("--lang", "member_lang", type=click.Choice(["ja", "en"]), default="ja", show_default=True, help="opt.member_lang")
@option("--channel", type=click.Choice(["email", "outbox"]), default="email", show_default=True, help="opt.channel")
@option("--os-user", help="opt.os_user")
@option("--db-role", help="opt.db_role")
@dry_run_opt
@pass_app
def roster_add(app: App, login: str, name: str, name_en: str, email: str | None, member_lang: str, channel: str,
               os_user: str | None, db_role: str | None, dry_run: bool) -> None:
    _roster_act(app, "add_member", login, name=name, name_en=name_en, email=email, lang=member_lang, channel=channel,
                os_user=os_user, db_role=db_role, dry_run=dry_run)


@roster.command("bind", help="help.roster.bind")
@click.argument("login")
@option("--os-user", help="opt.os_user")
@option("--db-role", help="opt.db_role")
@dry_run_opt
@pass_app
def roster_bind(app: App, login: str, os_user: str | None, db_role: str | None, dry_run: bool) -> None:
    _roster_act(app, "bind_member", login, os_user=os_user, db_role=db_role, dry_run=dry_run)


@roster.command("assign", help="help.roster.assign")
@click.argument("login")
@click.argument("position")
@option("--station", metavar="NAME", help="opt.station")
@option("--team", metavar="TEAM", help="opt.team")
@option("--from", "from_", metavar="WHEN", help="opt.from")
@option("--until", metavar="WHEN", help="opt.until")
@dry_run_opt
@pass_app
def roster_assign(app: App, login: str, position: str, station: str | None, team: str | None, from_: str | None,
                  until: str | None, dry_run: bool) -> None:
    with refusals(app):
        f, u = (app.when(from_) if from_ else None), (app.when(until) if until else None)
    _roster_act(app, "assign", login, position, station=station, team=team, valid_from=f, valid_until=u,
                dry_run=dry_run)


@roster.command("end", help="help.roster.end")
@click.argument("assignment_id", type=ID)
@option("--at", "at_", metavar="WHEN", help="opt.end_at")
@dry_run_opt
@pass_app
def roster_end(app: App, assignment_id: int, at_: str | None, dry_run: bool) -> None:
    with refusals(app):
        at = app.when(at_) if at_ else None
    _roster_act(app, "end_assignment", assignment_id, at=at, dry_run=dry_run)


@roster.command("delegate", help="help.roster.delegate")
@click.argument("clerk")
@option("--until", metavar="WHEN", help="opt.delegate_until")
@option("--from", "from_", metavar="WHEN", help="opt.from")
@option("--end", "end_id", type=ID, metavar="ID", help="opt.delegate_end")
@dry_run_opt
@pass_app
def roster_delegate(app: App, clerk: str, until: str | None, from_: str | None, end_id: int | None,
                    dry_run: bool) -> None:
    if end_id is not None:
        _roster_act(app, "end_delegation", end_id, dry_run=dry_run)
        return
    if until is None:
        raise click.UsageError(app.t("roster.until_needed"))
    with refusals(app):
        f, u = (app.when(from_) if from_ else None), app.when(until, end_of_day=True)
    _roster_act(app, "delegate", clerk, valid_until=u, valid_from=f, dry_run=dry_run)


@roster.command("password", help="help.roster.password")
@click.argument("login")
@pass_app
def roster_password(app: App, login: str) -> None:
    with refusals(app):
        from engine.app import accounts
        from engine.core.errors import BadInput

        if sys.stdin.isatty():
            import getpass

            password = getpass.getpass(app.t("password.prompt"))
        else:
            password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            raise BadInput("password.from_stdin")
        accounts.set_password(app.kaigi(), app.actor, login, password)
    app.out({"login": login, "set": True}, app.t("password.set", login=login))


# ---------------------------------------------------------------- bodies (R-P1)
@cli.group(help="help.body")
def body() -> None:
    pass


@body.command("add", help="help.body.add")
@click.argument("key")
@option("--kind", required=True, metavar="KIND", help="opt.body_kind")
@option("--name", required=True, help="opt.body_name")
@option("--name-en", default="", help="opt.body_name_en")
@dry_run_opt
@pass_app
def body_add(app: App, key: str, kind: str, name: str, name_en: str, dry_run: bool) -> None:
    with refusals(app):
        out = app.kaigi().add_body(app.actor, key, kind=kind, name=name, name_en=name_en, dry_run=dry_run)
        with app.kaigi().read() as q:
            kinds = q.book().body_kinds
    e = out.fact
    d = {"dry_run": out.dry_run, "event": {"type": e.type, **e.payload(), "seq": out.records[0].seq},
         "body": {"key": e.key, "kind": e.kind, "name_ja": e.ja, "name_en": e.en}}
    kind_title = kinds[e.kind].title.in_(app.lang) if e.kind in kinds else e.kind
    app.out(d, app.t("body.would" if out.dry_run else "body.added", key=e.key, kind=kind_title,
                     name=e.ja if app.lang == "ja" else e.en, seq=out.records[0].seq))


@body.command("list", help="help.body.list")
@pass_app
def body_list(app: App) -> None:
    with refusals(app):
        from engine.app.bodies import listing

        with app.kaigi().read() as q:
            _member(app, q)
            rows = listing(q, app.lang)
    app.out(rows, table([app.t("col.key"), app.t("col.kind"), app.t("col.name"), app.t("col.members")], [
        [r["key"], r["kind_title"], r["name"] if app.lang == "ja" else f"{r['name_en']} ({r['name_ja']})",
         r["members"]] for r in rows]))


@cli.group(help="help.token")
def token() -> None:
    pass


@token.command("create", help="help.token.create")
@option("--name", default="", help="opt.token_name")
@option("--expires", metavar="WHEN", help="opt.token_expires")
@pass_app
def token_create(app: App, name: str, expires: str | None) -> None:
    with refusals(app):
        from engine.app import accounts

        until = app.when(expires, end_of_day=True) if expires else None
        token_id, secret = accounts.create_token(app.kaigi(), app.actor, name, until)
    app.out({"id": token_id, "token": secret, "name": name, "expires_at": _iso(until)},
            app.t("token.created", id=token_id, token=secret))


@token.command("list", help="help.token.list")
@option("--all", "everyone", is_flag=True, help="opt.token_all")
@pass_app
def token_list(app: App, everyone: bool) -> None:
    with refusals(app):
        from engine.app import accounts

        rows = accounts.tokens(app.kaigi(), app.actor.login, everyone=everyone)
    app.out([{**r, "created_at": _iso(r["created_at"]), "expires_at": _iso(r["expires_at"]),
              "revoked_at": _iso(r["revoked_at"])} for r in rows],
            table([app.t("col.id")] + ([app.t("col.login")] if everyone else []) +
                  [app.t("col.name"), app.t("col.created"), app.t("col.expires"), app.t("col.revoked")],
                  [[r["id"]] + ([r["login"]] if everyone else []) + [r["name"] or "-", _when(r["created_at"], app.lang),
                    _when(r["expires_at"], app.lang) if r["expires_at"] else "-",
                    _when(r["revoked_at"], app.lang) if r["revoked_at"] else "-"] for r in rows]))


@token.command("revoke", help="help.token.revoke")
@click.argument("token_id", type=ID)
@pass_app
def token_revoke(app: App, token_id: int) -> None:
    with refusals(app):
        from engine.app import accounts

        accounts.revoke_token(app.kaigi(), app.actor, token_id)
    app.out({"id": token_id, "revoked": True}, app.t("token.revoked", id=token_id))


@cli.command(help="help.whoami")
@pass_app
def whoami(app: App) -> None:
    with refusals(app):
        with app.kaigi().read() as q:
            me = q.whoami(_member(app, q), app.lang)
    roles = ", ".join(f"{r['title']} ({r['position_title']})@{r['body']}" for r in me["roles"]) or app.t("word.no_role")
    app.out(me, f"{me['login']} ({me['name']}): {roles}")


@cli.command("work", help="help.work")
@pass_app
def work(app: App) -> None:
    """What waits on me now (engine.app.work): the same list as the web's my work."""
    from engine.i18n import trigger_word

    with refusals(app):
        with _reading(app) as q:
            rows = q.my_work(q.viewer, app.lang)
    app.out(rows, table([app.t("col.due"), app.t("col.what"), app.t("col.item"), app.t("col.meeting"),
                         app.t("col.command")], [
        [(_when(_parse(r["deadline"]), app.lang) if r["deadline"] else "-") + (" !" if r["overdue"] else ""),
         r.get("act_word") or trigger_word(r["act"], app.lang) if r["kind"] == "step" else app.t(f"work.act.{r['act']}"),
         r["item"] or "", r["meeting"] or r.get("meeting_title") or "", r["command"]] for r in rows])
            if rows else app.t("web.work.none"))


def _member(app: App, q: Any) -> str:
    """The acting member, who must be on the roster to read (CLI.md, Identity)."""
    from engine.core.errors import NotPermitted

    login: str = app.actor_in(q.tx).login
    if login not in q.w.members:
        raise NotPermitted("actor.not_on_roster", login=login)
    return login


@contextmanager
def _reading(app: App) -> Iterator[Any]:
    """A snapshot read as the acting member, who must be on the roster (CLI.md, Identity):
    the engine answers only what they may see, the rest as absent, exit 5 (R-R1)."""
    from engine.core.errors import NotPermitted

    login = app.actor.login
    with app.kaigi().read(viewer=login) as q:
        if login not in q.w.members:
            raise NotPermitted("actor.not_on_roster", login=login)
        yield q


def _addressed(app: App, *, items: Any = (), meetings: Any = (), orders: Any = ()) -> None:
    """An act names only what its actor may see: a hidden item, meeting or order is answered
    as absent (exit 5) before anything is decided, as the web's routes do (R-R1)."""
    with _reading(app) as q:
        for i in items:
            q.item_record(i)
        for m in meetings:
            q.meeting_record(m)
        for o in orders:
            q.order_record(o)


def _log_reader(app: App) -> Any:
    """A read of the whole log (`audit verify|checkpoint|export`): any reader of the database
    may run it without being a member, as the auditor's role does (R-I4); when the actor is
    a member, it is read as them, so a station's member finds no log (R-R1)."""
    from engine.core.errors import NotPermitted

    k = _auditor(app)
    claimed = app.claimed_login()
    try:
        login = app.actor.login
    except NotPermitted as err:
        if claimed is not None or not err.msg.key.startswith("identity.unbound"):
            raise
        login = None  # a database reader bound to no member: the auditor
    with k.read() as q:
        if login not in q.w.members:
            login = None  # a training database's OS account that is no member
    return k.read(viewer=login)


# ---------------------------------------------------------------- items
@cli.group(help="help.item")
def item() -> None:
    pass


def item_text(app: App, v: dict[str, Any]) -> str:
    """`item show` for people."""
    t = app.t
    lines = [t("show.item", id=v["id"], title=v["title"]),
             t("show.item_body", body=v["body_name"], team=(v["team_title"] or v["team"] or "-"),
               state=v["state_title"], key=v["state"], version=v["version"]),
             t("show.item_filed", who=v["filed_by_name"], login=v["filed_by"], at=_when(_parse(v["filed_at"]), app.lang))]
    if v["note"]:
        lines.append(t("show.note", note=v["note"]))
    if v.get("pillars"):
        lines.append(t("pillar.label") + ": " + " / ".join(p["title"] for p in v["pillars"]))
    if v["waiting_for"]:
        lines.append(t("show.waiting", what=v["waiting_for"]) + (t("show.overdue") if v["overdue"] else ""))
    for n in v["next"]:
        if n["by_convening"]:
            continue
        where = t("show.in_meeting", meeting=n["meeting_title"]) if n["meeting"] else ""
        who = ", ".join(n["who_names"]) or t("word.nobody")
        lines.append(t("show.next", trigger=n.get("trigger_word") or n["trigger"], to=n["to_title"], where=where,
                       roles=" / ".join(n["role_titles"]) + (t("show.or_filer") if n["filer"] else ""), who=who))
    if v["origin"]:
        lines.append(t("show.origin", id=v["origin"]))
    for c in v["taken_into"]:
        lines.append(t("show.taken_into", id=c["id"], body=c.get("body_name") or c["body"],
                       state=c.get("state_title") or c["state"]))
    for s in v["sittings"]:
        lines.append(t("show.sitting", id=s["meeting"], meeting=s["title"], status=t(f"status.{s['status']}"),
                       outcome=s.get("outcome_title") or s["outcome"] or "-"))
    for o in v["orders"]:
        lines.append(t("show.order", id=o["id"], to=o["to_name"], status=t(f"status.{o['status']}"),
                       due=_when(_parse(o["due_at"]), app.lang)))
    for d in v["deadlines"]:
        rung = t("show.rung", n=d["rung"]) if d["rung"] else ""
        lines.append(t("show.deadline", what=d["what"], due=_when(_parse(d["deadline"]), app.lang),
                       next=_when(_parse(d["due_at"]), app.lang), rung=rung,
                       to=", ".join(d["recipient_names"]) or t("word.vacant"), status=t(f"status.{d['status']}")))
    return "\n".join(lines)


def _parse(text: str | None) -> Any:
    import datetime as dt

    return None if text is None else dt.datetime.fromisoformat(text)


@item.command("file", help="help.item.file")
@click.argument("title")
@option("--station", metavar="NAME", help="opt.file_station")
@option("--team", metavar="TEAM", help="opt.team")
@option("--note", default="", help="opt.note")
@option("--pillar", "pillars", multiple=True, metavar="KEY", help="pillar.help")
@dry_run_opt
@behalf_opt
@pass_app
def item_file(app: App, title: str, station: str | None, team: str | None, note: str, pillars: tuple[str, ...],
              dry_run: bool, on_behalf_of: str | None) -> None:
    with refusals(app):
        k = app.kaigi()
        out = k.file_item(app.actor, title, station=station, team=team, note=note, dry_run=dry_run,
                          on_behalf_of=on_behalf_of, pillars=pillars)
        view = None
        if not out.dry_run:
            with k.read() as q:
                view = q.item(out.fact.item, app.lang)
    _act_done(app, out, view, id=out.fact.item, title=out.fact.title)


@item.command("list", help="help.item.list")
@option("--search", "search", default="", metavar="TEXT", help="opt.search")
@option("--state", metavar="STATE", help="opt.state")
@option("--station", metavar="NAME", help="opt.list_station")
@option("--team", metavar="TEAM", help="opt.team_filter")
@option("--overdue", is_flag=True, help="opt.overdue")
@option("--pillar", metavar="KEY", help="pillar.filter_help")
@option("--limit", type=click.IntRange(1, 200), default=100, show_default=True, help="opt.limit")
@option("--offset", type=click.IntRange(0, MAX_ID), default=0, help="opt.offset")
@pass_app
def item_list(app: App, search: str, state: str | None, station: str | None, team: str | None, overdue: bool,
              pillar: str | None, limit: int, offset: int) -> None:
    from engine.app import finding

    with refusals(app):
        with _reading(app) as q:
            found = finding.find(q, finding.Filters(search, state, station, team, overdue, pillar), limit=limit,
                                 offset=offset, lang=app.lang)
            views = q.views_of([r["id"] for r in found.rows], app.lang)  # the page's views alone
    app.out(views, table([app.t("col.id"), app.t("col.state"), app.t("col.body"), app.t("col.team"),
                          app.t("col.title"), app.t("col.waiting")], [
        [v["id"], v["state_title"] + (" !" if v["overdue"] else ""), v["body_name"] if app.lang == "ja" else v["body"],
         (v["team_title"] or v["team"]) if app.lang == "ja" else v["team"], v["title"],
         v["waiting_for"]] for v in views]))


@item.command("export", help="help.item.export")
@option("--format", "fmt", type=click.Choice(["csv", "xlsx"]), default="csv", show_default=True,
        help="opt.find_format")
@option("--search", "search", default="", metavar="TEXT", help="opt.search")
@option("--state", metavar="STATE", help="opt.state")
@option("--station", metavar="NAME", help="opt.list_station")
@option("--team", metavar="TEAM", help="opt.team_filter")
@option("--overdue", is_flag=True, help="opt.overdue")
@option("--output", "-o", type=click.Path(dir_okay=False, allow_dash=True), help="opt.find_output")
@pass_app
def item_export(app: App, fmt: str, search: str, state: str | None, station: str | None, team: str | None,
                overdue: bool, output: str | None) -> None:
    from engine.app import finding

    with refusals(app):
        from engine.core.errors import BadInput

        if output == "-" and fmt == "xlsx":
            raise BadInput("find.xlsx_stdout")
        with _reading(app) as q:
            rows = finding.export_rows(q, finding.Filters(search, state, station, team, overdue), app.lang)
        if output == "-":
            app.header()
            sys.stdout.buffer.write(finding.csv_bytes(rows, app.lang))
            sys.stdout.flush()
            return
        data = finding.csv_bytes(rows, app.lang) if fmt == "csv" else finding.xlsx_bytes(rows, app.lang)
        output = output or f"items.{fmt}"
        try:
            with open(output, "wb") as fh:
                fh.write(data)
        except OSError as err:
            raise BadInput("find.cannot_write", file=output, error=err.strerror or type(err).__name__) from None
    app.header()
    click.echo(app.t("find.exported", n=len(rows), file=output), err=True)


@item.command("show", help="help.item.show")
@click.argument("item_id", type=ID)
@pass_app
def item_show(app: App, item_id: int) -> None:
    with refusals(app):
        with _reading(app) as q:
            view = q.item(item_id, app.lang)
    app.out(view, item_text(app, view))


@item.command("advance", help="help.item.advance")
@click.argument("item_id", type=ID)
@click.argument("trigger")
@option("--meeting", "meeting_id", type=ID, metavar="M", help="opt.meeting")
@option("--note", default="", help="opt.note")
@option("--document", "document", type=click.Path(dir_okay=False), help="opt.document")
@dry_run_opt
@behalf_opt
@pass_app
def item_advance(app: App, item_id: int, trigger: str, meeting_id: int | None, note: str, document: str | None,
                 dry_run: bool, on_behalf_of: str | None) -> None:
    with refusals(app):
        k = app.kaigi()
        _addressed(app, items=[item_id], meetings=[meeting_id] if meeting_id is not None else [])
        doc = _document(document) if document else None
        out = k.advance(app.actor, item_id, trigger, meeting=meeting_id, note=note, document=doc, dry_run=dry_run,
                        on_behalf_of=on_behalf_of)
        view = None
        if not out.dry_run:
            with k.read() as q:
                view = q.item(item_id, app.lang)
    f, ev = out.fact, out.records[0]
    _act_done(app, out,
              {"item": view, "event": {"seq": ev.seq, "type": ev.type, "from": f.src, "to": f.dest},
               "events": [{"seq": r.seq, "type": r.type} for r in out.records]},
              id=item_id, trigger=trigger, src=f.src, dest=f.dest,
              **_step_words(app, item_id, trigger, meeting_id, f.dest))


def _step_words(app: App, item_id: int, trigger: str, meeting_id: int | None, dest: str) -> dict[str, Any]:
    """What a step did, in words for its confirmation: the item's title, the trigger's sentence
    (`を付議しました`), the meeting it was taken in, the state it is in now, by their titles."""
    from engine.i18n import Msg, t, trigger_title

    lang = app.lang
    with app.kaigi().read() as q:
        book = q.book()
        rec = q.w.items.get(item_id)
        m = q.w.meetings.get(meeting_id) if meeting_id is not None else None
        kind = book.meetings.get(m.kind) if m is not None else None
        st = book.states.get(dest)
    where = Msg("advance.where", meeting_id=meeting_id, meeting=kind.title.in_(lang) if kind else "")
    said = t(f"trigger_done.{trigger}", lang) if f"trigger_done.{trigger}" in _catalog() else trigger
    return {"title": rec.title if rec else "", "said": said, "trigger_title": trigger_title(trigger, lang, book),
            "where": where.render(lang) if meeting_id is not None else "",
            "dest_title": st.title.in_(lang) if st else dest}


def _catalog() -> Any:
    from engine.i18n import catalog

    return catalog()


def _document(path: str) -> Any:
    """(name, bytes) of a document named on the command line."""
    import stat

    from engine.core.errors import BadInput

    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            raise BadInput("file.not_regular", path=path)
        return Path(path).name, Path(path).read_bytes()
    except OSError as err:
        raise BadInput("file.unreadable", path=path, why=err.strerror or str(err)) from None


@item.command("history", help="help.item.history")
@click.argument("item_id", type=ID)
@pass_app
def item_history(app: App, item_id: int) -> None:
    with refusals(app):
        from engine.infra.timeutil import jst

        with _reading(app) as q:
            views = q.history(item_id, app.lang)
    app.out(views, table([app.t("col.seq"), app.t("col.at"), app.t("col.item"), app.t("col.who"),
                          app.t("col.what")], [
        [v["seq"], jst(_parse(v["at"])), v["item"] or "-",
         v["actor_name"] + (f" ({app.t('word.for')} {v['authority_name']})" if v["authority"] != v["actor"] else ""),
         v["summary"] + (f" — {v['note']}" if v["note"] and v["type"] != "ActRefused" else "")] for v in views]))


# ---------------------------------------------------------------- meetings
@cli.group(help="help.meeting")
def meeting() -> None:
    pass


def meeting_text(app: App, v: dict[str, Any]) -> str:
    t = app.t
    lines = [t("show.meeting", id=v["id"], title=v["title"], kind=v["kind"], body=v["body_name"],
               status=t(f"status.{v['status']}")),
             t("show.meeting_when", starts=_when(_parse(v["starts_at"]), app.lang), chair=v["chair_name"])]
    if v.get("place"):
        lines.append(t("show.meeting_place", place=v["place"]))
    for a in v["agenda"]:
        lines.append(t("show.agenda_item", id=a["id"], title=a["title"],
                       outcome=a.get("outcome_title") or a["outcome"] or "-"))
    if not v["agenda"]:
        lines.append(t("show.agenda_empty"))
    people = ("、" if app.lang == "ja" else ", ").join(p["name"] + (t("show.invited") if p["invited"] else "")
                       + (t("show.present") if p["present"] else "") for p in v["people"])
    lines.append(t("show.people", people=people or "-"))
    if v["status"] == "held":
        lines.append(t("show.held", at=_when(_parse(v["sat_at"]), app.lang),
                       chair=t("show.chair_there" if v["chair_present"] else "show.chair_absent")))
    for m in v["minutes"]:
        state = t("show.minutes_approved") if m["approved_by"] else t("show.minutes_draft")
        lines.append(t("show.minutes", n=m["n"], state=state, sha=m["sha256"][:12]))
    return "\n".join(lines)


def _meeting_out(app: App, k: Any, out: Any, meeting_id: int, **params: Any) -> None:
    view = None
    if not out.dry_run:
        with k.read() as q:
            view = q.meeting(meeting_id, app.lang)
    _act_done(app, out, view, id=meeting_id, **params)
    if view is not None and not app.json:
        click.echo(meeting_text(app, view))


@meeting.command("convene", help="help.meeting.convene")
@click.argument("kind")
@option("--at", "at_", required=True, metavar="WHEN", help="opt.meeting_at")
@option("--item", "items", type=ID, multiple=True, metavar="ID", help="opt.agenda_item")
@option("--attendee", "attendees", multiple=True, metavar="LOGIN", help="opt.attendee")
@option("--invite", "invited", multiple=True, metavar="LOGIN", help="opt.invite")
@option("--station", metavar="NAME", help="opt.meeting_station")
@option("--place", default="", metavar="TEXT", help="opt.meeting_place")
@dry_run_opt
@behalf_opt
@pass_app
def meeting_convene(app: App, kind: str, at_: str, items: tuple[int, ...], attendees: tuple[str, ...],
                    invited: tuple[str, ...], station: str | None, place: str, dry_run: bool,
                    on_behalf_of: str | None) -> None:
    with refusals(app):
        k = app.kaigi()
        _addressed(app, items=items)
        out = k.convene(app.actor, kind, app.when(at_), items=list(items), attendees=list(attendees),
                        invited=list(invited), station=station, place=place, dry_run=dry_run,
                        on_behalf_of=on_behalf_of)
        who = ", ".join(out.fact.attendees)
        with k.read() as q:
            names = "、".join(q.name(x, app.lang) for x in out.fact.attendees) if app.lang == "ja" else \
                ", ".join(q.name(x, app.lang) for x in out.fact.attendees)
            mk = q.book().meetings.get(kind)
        _meeting_out(app, k, out, out.fact.meeting, kind=kind, people=who,
                     names=names or "-", title=mk.title.in_(app.lang) if mk else kind)


@meeting.command("agenda", help="help.meeting.agenda")
@click.argument("meeting_id", type=ID)
@click.argument("op", type=click.Choice(["add", "remove", "move"]))
@click.argument("item_id", type=ID)
@option("--to", "position", type=click.IntRange(1, 10_000), help="opt.agenda_to")
@dry_run_opt
@behalf_opt
@pass_app
def meeting_agenda(app: App, meeting_id: int, op: str, item_id: int, position: int | None, dry_run: bool,
                   on_behalf_of: str | None) -> None:
    with refusals(app):
        k = app.kaigi()
        _addressed(app, items=[item_id], meetings=[meeting_id])
        out = k.agenda(app.actor, meeting_id, op, item_id, position=position, dry_run=dry_run,
                       on_behalf_of=on_behalf_of)
        _meeting_out(app, k, out, meeting_id, op=op, item=item_id,
                     op_title=app.t(f"agenda_op.{op}"))


@meeting.command("hold", help="help.meeting.hold")
@click.argument("meeting_id", type=ID)
@option("--present", multiple=True, metavar="LOGIN", help="opt.present")
@option("--sat-at", "sat_at", metavar="WHEN", help="opt.sat_at")
@dry_run_opt
@behalf_opt
@pass_app
def meeting_hold(app: App, meeting_id: int, present: tuple[str, ...], sat_at: str | None, dry_run: bool,
                 on_behalf_of: str | None) -> None:
    with refusals(app):
        k = app.kaigi()
        _addressed(app, meetings=[meeting_id])
        sat = app.when(sat_at) if sat_at else None
        out = k.hold(app.actor, meeting_id, present=list(present), sat_at=sat, dry_run=dry_run,
                     on_behalf_of=on_behalf_of)
        _meeting_out(app, k, out, meeting_id)


@meeting.command("cancel", help="help.meeting.cancel")
@click.argument("meeting_id", type=ID)
@option("--reason", default="", help="opt.cancel_reason")
@dry_run_opt
@behalf_opt
@pass_app
def meeting_cancel(app: App, meeting_id: int, reason: str, dry_run: bool, on_behalf_of: str | None) -> None:
    with refusals(app):
        k = app.kaigi()
        _addressed(app, meetings=[meeting_id])
        out = k.cancel(app.actor, meeting_id, reason=reason, dry_run=dry_run, on_behalf_of=on_behalf_of)
        _meeting_out(app, k, out, meeting_id)


@meeting.command("move", help="help.meeting.move")
@click.argument("meeting_id", type=ID)
@option("--at", "at_", metavar="WHEN", help="opt.move_at")
@option("--place", default=None, metavar="TEXT", help="opt.move_place")
@option("--reason", default="", metavar="TEXT", help="opt.move_reason")
@dry_run_opt
@behalf_opt
@pass_app
def meeting_move(app: App, meeting_id: int, at_: str | None, place: str | None, reason: str, dry_run: bool,
                 on_behalf_of: str | None) -> None:
    with refusals(app):
        k = app.kaigi()
        _addressed(app, meetings=[meeting_id])
        starts = app.when(at_) if at_ is not None else None
        out = k.move(app.actor, meeting_id, starts_at=starts, place=place, reason=reason, dry_run=dry_run,
                     on_behalf_of=on_behalf_of)
        _meeting_out(app, k, out, meeting_id)


@meeting.command("minutes", help="help.meeting.minutes")
@click.argument("meeting_id", type=ID)
@option("--file", "file", type=click.Path(dir_okay=False), help="opt.minutes_file")
@option("--approve", is_flag=True, help="opt.minutes_approve")
@option("--entry", "n", type=click.IntRange(1, 100_000), help="opt.minutes_entry")
@dry_run_opt
@behalf_opt
@pass_app
def meeting_minutes(app: App, meeting_id: int, file: str | None, approve: bool, n: int | None, dry_run: bool,
                    on_behalf_of: str | None) -> None:
    if bool(file) == approve:
        raise click.UsageError(app.t("minutes.file_or_approve"))
    with refusals(app):
        k = app.kaigi()
        _addressed(app, meetings=[meeting_id])
        if approve:
            out = k.approve_minutes(app.actor, meeting_id, n=n, dry_run=dry_run, on_behalf_of=on_behalf_of)
            _meeting_out(app, k, out, meeting_id, n=out.fact.n)
        else:
            out = k.record_minutes(app.actor, meeting_id, _read_text(file), dry_run=dry_run,  # type: ignore[arg-type]
                                   on_behalf_of=on_behalf_of)
            _meeting_out(app, k, out, meeting_id, n=out.fact.n,
                         sha=out.fact.sha256[:12])


@meeting.command("show", help="help.meeting.show")
@click.argument("meeting_id", type=ID)
@pass_app
def meeting_show(app: App, meeting_id: int) -> None:
    with refusals(app):
        with _reading(app) as q:
            view = q.meeting(meeting_id, app.lang)
    app.out(view, meeting_text(app, view))


@meeting.command("list", help="help.meeting.list")
@option("--status", type=click.Choice(["convened", "held", "cancelled"]), help="opt.meeting_status")
@pass_app
def meeting_list(app: App, status: str | None) -> None:
    with refusals(app):
        with _reading(app) as q:
            views = q.meetings(status=status, lang=app.lang)
    app.out(views, table([app.t("col.id"), app.t("col.kind"), app.t("col.body"), app.t("col.status"),
                          app.t("col.starts"), app.t("col.chair"), app.t("col.items")], [
        [v["id"], v["title"], v["body"], app.t(f"status.{v['status']}"), _when(_parse(v["starts_at"]), app.lang),
         v["chair_name"], ",".join(map(str, v["items"]))] for v in views]))


@meeting.command("ics", help="help.meeting.ics")
@click.argument("meeting_id", type=ID)
@pass_app
def meeting_ics(app: App, meeting_id: int) -> None:
    with refusals(app):
        with _reading(app) as q:
            text = q.ics(meeting_id, app.now())
    if app.json:
        app.out({"meeting": meeting_id, "ics": text})
    else:
        click.echo(text, nl=False)


# ---------------------------------------------------------------- investigation orders (R-T5)
@cli.group(help="help.order")
def order() -> None:
    pass


def _order_act(app: App, verb: str, *args: Any, **kw: Any) -> None:
    with refusals(app):
        k = app.kaigi()
        if verb == "issue_order":
            _addressed(app, items=[args[0]])
        else:
            _addressed(app, orders=[args[0]])
        out = getattr(k, verb)(app.actor, *args, **kw)
        v = None
        if not out.dry_run:
            with k.read() as q:
                v = q.order(out.fact.id, app.lang)
    _act_done(app, out, v, id=out.fact.id, item=out.fact.item)


@order.command("issue", help="help.order.issue")
@click.argument("item_id", type=ID)
@option("--to", "to", required=True, metavar="LOGIN", help="opt.order_to")
@option("--due", "due", metavar="WHEN", help="opt.order_due")
@option("--note", default="", help="opt.order_note")
@dry_run_opt
@behalf_opt
@pass_app
def order_issue(app: App, item_id: int, to: str, due: str | None, note: str, dry_run: bool,
                on_behalf_of: str | None) -> None:
    with refusals(app):
        due_at = app.when(due, end_of_day=True) if due else None
    _order_act(app, "issue_order", item_id, to, due_at=due_at, note=note, dry_run=dry_run, on_behalf_of=on_behalf_of)


@order.command("complete", help="help.order.complete")
@click.argument("order_id", type=ID)
@option("--finding", required=True, help="opt.finding")
@dry_run_opt
@behalf_opt
@pass_app
def order_complete(app: App, order_id: int, finding: str, dry_run: bool, on_behalf_of: str | None) -> None:
    _order_act(app, "complete_order", order_id, finding, dry_run=dry_run, on_behalf_of=on_behalf_of)


@order.command("waive", help="help.order.waive")
@click.argument("order_id", type=ID)
@option("--reason", required=True, help="opt.waive_reason")
@dry_run_opt
@behalf_opt
@pass_app
def order_waive(app: App, order_id: int, reason: str, dry_run: bool, on_behalf_of: str | None) -> None:
    _order_act(app, "waive_order", order_id, reason, dry_run=dry_run, on_behalf_of=on_behalf_of)


@order.command("list", help="help.order.list")
@option("--item", "item_id", type=ID, help="opt.order_item")
@pass_app
def order_list(app: App, item_id: int | None) -> None:
    with refusals(app):
        with _reading(app) as q:
            rows = q.orders(item_id, app.lang)
    app.out(rows, table([app.t("col.id"), app.t("col.item"), app.t("col.to"), app.t("col.due"), app.t("col.status"),
                         app.t("col.finding")], [
        [r["id"], r["item"], r["to_name"], _when(_parse(r["due_at"]), app.lang), app.t(f"status.{r['status']}"),
         r["finding"] or r["reason"]] for r in rows]))


# ---------------------------------------------------------------- reminders and the scheduler
@cli.group(help="help.reminders")
def reminders() -> None:
    pass


def _reminder_table(app: App, rows: list[dict[str, Any]]) -> str:
    return table([app.t("col.due"), app.t("col.what"), app.t("col.item"), app.t("col.meeting"), app.t("col.rung"),
                  app.t("col.to"), app.t("col.status")], [
        [_when(_parse(r["due_at"]), app.lang), r["what"], r["item"], r["meeting"], r["rung"],
         ", ".join(r["recipient_names"]) or app.t("word.vacant"),
         app.t(f"status.{r['status']}") + (f" ({r['error']})" if r.get("error") else "")] for r in rows])


@reminders.command("list", help="help.reminders.list")
@option("--due", is_flag=True, help="opt.due_only")
@pass_app
def reminders_list(app: App, due: bool) -> None:
    with refusals(app):
        with _reading(app) as q:
            rows = q.reminders(due_only=due, lang=app.lang)
    app.out(rows, _reminder_table(app, rows) if rows else app.t("reminders.none"))


@reminders.command("forecast", help="help.reminders.forecast")
@option("--until", "until", required=True, metavar="WHEN", help="opt.forecast_until")
@pass_app
def reminders_forecast(app: App, until: str) -> None:
    with refusals(app):
        with _reading(app) as q:
            rows = q.forecast(app.when(until, end_of_day=True), app.lang)
    app.out(rows, _reminder_table(app, rows) if rows else app.t("reminders.none_until"))


@cli.group(help="help.scheduler")
def scheduler() -> None:
    pass


@scheduler.command("run", help="help.scheduler.run")
@option("--once", is_flag=True, help="opt.once")
@option("--sweep", default=30.0, show_default=True, type=Seconds(1, 3600), help="opt.sweep")
@option("--lease", default=300.0, show_default=True, type=Seconds(1, 86400), help="opt.lease")
@pass_app
def scheduler_run(app: App, once: bool, sweep: float, lease: float) -> None:
    with refusals(app):
        from engine.app import scheduling

        k = app.kaigi()
        try:
            dispatcher = scheduling.dispatcher_for(k, app.settings, lease_seconds=lease)
        except ValueError as err:
            fail(app, 2, "bad_input", str(err))
        if once:
            s = scheduling.run_once(k, app.settings, dispatcher)
            app.out({"fired": s.fired, "sent": s.sent, "retried": s.retried, "failed": s.failed},
                    app.t("scheduler.once", fired=s.fired, sent=s.sent, retried=s.retried, failed=s.failed))
            return
        tot = scheduling.run_clock(k, app.settings, dispatcher, sweep, started=lambda: click.echo(
            app.t("scheduler.running_on", worker=dispatcher.worker, db=_safe_url(k.store.url)), err=True))
        app.out({"fired": tot.fired, "sent": tot.sent, "retried": tot.retried, "failed": tot.failed},
                app.t("scheduler.stopped", fired=tot.fired, sent=tot.sent, failed=tot.failed))


# ---------------------------------------------------------------- audit
@cli.command(help="help.serve")
@option("--host", default="127.0.0.1", show_default=True, help="opt.host")
@option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535), help="opt.port")
@option("--workers", default=None, metavar="N", help="opt.workers")
@pass_app
def serve(app: App, host: str, port: int, workers: str | None) -> None:
    from engine.infra.settings import MAX_WORKERS, in_memory, workers_count

    given = workers if workers is not None else app.settings.env.workers
    n = workers_count(given)
    if n is None:
        fail(app, 2, "bad_input", app.t("serve.bad_workers", given=str(given)[:20], most=MAX_WORKERS))
        return
    if n > 1 and in_memory(app.settings.db_url):
        fail(app, 2, "bad_input", app.t("serve.workers_need_file"))
    with refusals(app):
        import uvicorn

        from web import create_app

        k = app.kaigi()
        web_app = create_app(k, https_only=app.settings.env.https, env=app.settings.env)
    app.header()
    click.echo(app.t("serve.at", url=f"http://{host}:{port}/"), err=True)
    # the app alone decides which peer's X-Forwarded-For to believe (KAIGI_TRUSTED_PROXIES)
    if n == 1:
        uvicorn.run(web_app, host=host, port=port, log_level="warning", proxy_headers=False)
        return
    import secrets

    from engine.infra.settings import hand_to_workers

    k.store.close()
    hand_to_workers(app.settings.db_url, app.settings.env.secret or secrets.token_hex(32))
    uvicorn.run("web.app:create_from_settings", factory=True, workers=n, host=host, port=port,
                log_level="warning", proxy_headers=False)


@cli.group(help="help.db")
def db() -> None:
    pass


@db.command("grant", help="help.db.grant")
@option("--apply", is_flag=True, help="opt.grant_apply")
@pass_app
def db_grant(app: App, apply: bool) -> None:
    with refusals(app):
        statements = app.kaigi().db_grants(apply=apply)
    app.out({"applied": apply, "statements": statements},
            "\n".join(s + ";" for s in statements) + ("\n" + app.t("db.granted") if apply else ""))


@cli.group(help="help.audit")
def audit() -> None:
    pass


def _auditor(app: App) -> Any:
    """Auditors read without being members, and only read: any reader of the database (or of a
    read-only copy) may verify it (R-I4)."""
    return app.kaigi(readonly=True)


@audit.command("verify", help="help.audit.verify")
@option("--checkpoint", "checkpoints", multiple=True, metavar="SEQ:HASH|FILE", help="opt.checkpoint")
@option("--key", metavar="PUBFILE", help="opt.checkpoint_key")
@option("--since", metavar="FILE", help="opt.verify_since")
@option("--jobs", type=click.IntRange(1, 1024), metavar="N", help="opt.verify_jobs")
@pass_app
def audit_verify(app: App, checkpoints: tuple[str, ...], key: str | None, since: str | None,
                 jobs: int | None) -> None:
    with refusals(app):
        with _log_reader(app) as q:
            v = q.verdict(checkpoints=checkpoints, key=key, since=since, jobs=jobs)
    d = v.as_dict(app.lang)
    if v.ok:
        app.out(d, app.t("verify.ok", events=v.events, items=v.items, meetings=v.meetings, deliveries=v.deliveries)
                + (app.t("verify.refused", n=v.refused) if v.refused else "")
                + (app.t("verify.signed_ok", n=len(v.checkpoint["files"]), keys=", ".join(v.checkpoint["key_ids"]))
                   if v.checkpoint else "")
                + (app.t("verify.snapshots_ok", n=v.snapshots) if v.snapshots else "")
                + (app.t("verify.segments_ok", n=v.segments, jobs=v.jobs) if v.segments else "")
                + (app.t("verify.since_ok", seq=v.since, file=since, n=v.events - v.since)
                   if v.since is not None else ""))
        return
    app.out(d)
    click.echo(app.t("kind.integrity", text=app.t("verify.first_bad", seq=v.first_bad_seq or "-",
                                                  problem=v.problem.render(app.lang) if v.problem else "")), err=True)
    sys.exit(7)


@audit.command("checkpoint", help="help.audit.checkpoint")
@option("--sign", "key", metavar="KEYFILE", help="opt.checkpoint_sign")
@option("--out", "out_file", metavar="FILE", help="opt.checkpoint_out")
@option("--snapshot", is_flag=True, help="opt.checkpoint_snapshot")
@pass_app
def audit_checkpoint(app: App, key: str | None, out_file: str | None, snapshot: bool) -> None:
    with refusals(app):
        from engine.app.checkpoints import pack, snapshot_file
        from engine.core.errors import BadInput

        if out_file and not key:
            raise BadInput("checkpoint.out_needs_sign")
        if snapshot and not out_file:
            raise BadInput("checkpoint.snapshot_needs_out")
        with _log_reader(app) as q:
            q.whole_log()
        cp = _auditor(app).checkpoint(key, snapshot=snapshot)
        signed = cp.get("signed")
        data = cp.pop("snapshot", None)
        if signed is not None and out_file:
            if data is not None:
                _write_new(snapshot_file(out_file), pack(data))
            _write_new(out_file, _json().dumps(signed, ensure_ascii=False, indent=2, sort_keys=True) + "\n")
    if signed is None:
        app.out(cp, cp["checkpoint"])
    elif out_file:
        said = app.t("checkpoint.written", file=out_file, seq=cp["seq"], key=signed["key_id"])
        if data is not None:
            said += app.t("checkpoint.snapshot_written", file=snapshot_file(out_file), sha=signed["snapshot"][:16])
        app.out({**cp, "file": out_file, "snapshot_file": snapshot_file(out_file) if data is not None else None},
                said)
    else:
        app.header()
        click.echo(_json().dumps(signed, ensure_ascii=False, indent=2, sort_keys=True))


@audit.command("keygen", help="help.audit.keygen")
@option("--out", "prefix", required=True, metavar="PREFIX", help="opt.keygen_out")
@pass_app
def audit_keygen(app: App, prefix: str) -> None:
    with refusals(app):
        from engine.app.checkpoints import keygen

        private, public, kid = keygen(prefix)
    app.out({"private": str(private), "public": str(public), "key_id": kid},
            app.t("checkpoint.keys_made", private=private, public=public, key=kid))


def _write_new(path: str, text: str | bytes) -> None:
    """Write a file the command makes, refusing to follow into something that is not one."""
    from engine.core.errors import BadInput

    p = Path(path)
    if p.is_symlink() or (p.exists() and not p.is_file()):
        raise BadInput("file.not_regular", path=path)
    try:
        fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0), 0o644)
        with os.fdopen(fd, "wb") as fh:
            fh.write(text.encode("utf-8") if isinstance(text, str) else text)
    except OSError as err:
        raise BadInput("checkpoint.cannot_write", file=path, reason=err.strerror or str(err)) from None


@audit.command("replay", help="help.audit.replay")
@click.argument("item_id", type=ID)
@option("--at", "at_", metavar="WHEN", help="opt.replay_at")
@pass_app
def audit_replay(app: App, item_id: int, at_: str | None) -> None:
    with refusals(app):
        from engine.app import audit as audit_app
        from engine.infra.timeutil import jst

        at = app.when(at_) if at_ else None
        with _reading(app) as q:
            steps, r = q.replay(item_id, at)
            words = q.replay_view(item_id, app.lang, at) if not app.json else []
        rows = [s.as_dict(app.lang) for s in steps]
        item_then = r.world.items.get(item_id)
        due = audit_app.reminders_then(r, item_id, at) if at is not None else []
    if app.json:
        app.out(rows if at is None else {"steps": rows, "item": audit_app.item_then(r, item_id), "reminders": due})
        return
    app.header()
    if app.lang == "ja":  # each step in words: what, by whom, under which version, allowed or refused and why
        click.echo(table([app.t("col.seq"), app.t("col.at"), app.t("col.actor"), app.t("col.what"),
                          app.t("replay.col.verdict")],
                         [[w["seq"], jst(_parse(w["at"])), w["who"], w["what"], w["verdict"]] for w in words]))
    else:
        click.echo(table([app.t("col.seq"), app.t("col.at"), app.t("col.actor"), app.t("col.authority"),
                          app.t("col.act"), app.t("col.from"), app.t("col.to"), app.t("col.rulebook"),
                          app.t("col.allowed")], [
            [s.seq, jst(s.at), s.actor, s.authority, s.trigger or s.type, s.src, s.dest, s.rulebook,
             (app.t("word.yes") if s.allowed else app.t("word.no")) + ": " + s.reason.render(app.lang)]
            for s in steps]))
    if at is not None:
        click.echo("\n" + (app.t("replay.then", at=_when(at, app.lang), id=item_id,
                                 state=_state_title(app, item_then.state) if app.lang == "ja" else item_then.state,
                                 version=item_then.version) if item_then else
                           app.t("replay.not_yet", at=_when(at, app.lang), id=item_id)))
        for x in due:
            click.echo(app.t("replay.reminder_then", key=x["key"], due=x["due_at"], fired=x["fired"]))


def _state_title(app: App, key: str) -> str:
    with app.kaigi().read() as q:
        st = q.book().states.get(key)
    return st.title.in_(app.lang) if st else key


@audit.command("report", help="help.audit.report")
@click.argument("item_id", type=ID)
@option("--format", "fmt", type=click.Choice(["md", "pdf"]), default="md", show_default=True,
        help="opt.report_format")
@option("--output", "-o", type=click.Path(dir_okay=False), help="opt.output")
@pass_app
def audit_report(app: App, item_id: int, fmt: str, output: str | None) -> None:
    if fmt == "pdf":  # the same paper as `document report` (recorded, anchored)
        _print_paper(app, "report", item_id, output)
        return
    with refusals(app):
        from engine.app.report import item_report

        with _reading(app) as q:
            q.item_record(item_id)
        text = item_report(app.kaigi(), item_id, app.lang, viewer=app.actor.login)
        if output:
            _write_new(output, text)
    if output:
        app.out({"item": item_id, "file": output}, app.t("export.done", n=1, file=output))
    elif app.json:
        app.out({"item": item_id, "markdown": text})
    else:
        click.echo(text)


@audit.command("export", help="help.audit.export")
@option("--format", "fmt", type=click.Choice(["jsonl", "csv"]), default="jsonl", show_default=True,
        help="opt.export_format")
@option("--since", metavar="WHEN", help="opt.since")
@option("--output", "-o", type=click.Path(dir_okay=False), help="opt.output")
@pass_app
def audit_export(app: App, fmt: str, since: str | None, output: str | None) -> None:
    with refusals(app):
        from engine.app.audit import write_export

        with _log_reader(app) as q:
            rows = q.export_rows(app.when(since) if since else None)
        if output:
            with open(output, "w", encoding="utf-8", newline="") as fh:
                n = write_export(rows, fmt, fh)
            click.echo(app.t("export.done", n=n, file=output), err=True)
        else:
            write_export(rows, fmt, sys.stdout)


@audit.command("import", help="help.audit.import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@option("--format", "fmt", type=click.Choice(["jsonl", "csv"]), help="opt.import_format")
@pass_app
def audit_import(app: App, file: str, fmt: str | None) -> None:
    with refusals(app):
        from engine.app import bootstrap
        from engine.app.audit import import_or_verdict, read_export

        bootstrap.upgrade(app.settings.db_url)
        k = app.kaigi()
        fmt = fmt or ("csv" if file.endswith(".csv") else "jsonl")
        v = import_or_verdict(k.store, read_export(_read_text(file, 2_000_000_000), fmt))
    if v.ok:
        app.out(v.as_dict(app.lang), app.t("import.done", n=v.events, seq=v.head[0], hash=v.head[1]))
        return
    app.out(v.as_dict(app.lang))
    click.echo(app.t("kind.integrity", text=app.t("import.failed", seq=v.first_bad_seq or "-",
                                                  problem=v.problem.render(app.lang) if v.problem else "")), err=True)
    sys.exit(7)


# ---------------------------------------------------------------- papers (kaigi document)
@cli.group(help="help.document")
def document() -> None:
    pass


def _write_bytes(path: str, data: bytes) -> None:
    """`_write_new` for a PDF."""
    from engine.core.errors import BadInput

    p = Path(path)
    if p.is_symlink() or (p.exists() and not p.is_file()):
        raise BadInput("file.not_regular", path=path)
    try:
        fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0), 0o644)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
    except OSError as err:
        raise BadInput("checkpoint.cannot_write", file=path, reason=err.strerror or str(err)) from None


def _print_paper(app: App, kind: str, subject: int | None, output: str | None, **kw: Any) -> None:
    """Render, record and write one paper; one line (or JSON) saying what was written."""
    with refusals(app):
        with _reading(app) as q:  # on the roster; hidden or unknown: exit 5 (R-R1)
            if kind == "report":
                q.item_record(int(subject or 0))
            elif subject is not None:
                q.meeting_record(subject)
        p = app.kaigi().print_paper(app.actor, kind, subject, lang=app.lang, **kw)
        out = output or p.filename
        _write_bytes(out, p.pdf)
    app.out({"file": out, "kind": kind, "subject": subject, "sha256": p.sha256, "anchor": p.anchor.as_dict(),
             "recorded": p.recorded},
            app.t("paper.printed", file=out, kind=app.t(f"paper.kind.{kind}"), seq=p.anchor.of_seq,
                  head=p.anchor.head_seq))


for _kind in ("notice", "agenda", "minutes"):
    def _meeting_paper(app: App, meeting_id: int, output: str | None, _k: str = _kind) -> None:
        _print_paper(app, _k, meeting_id, output)
    document.command(_kind, help="help.document.meeting")(
        click.argument("meeting_id", type=ID)(
            option("--output", "-o", type=click.Path(dir_okay=False), help="opt.paper_output")(
                pass_app(_meeting_paper))))


@document.command("report", help="help.document.report")
@click.argument("item_id", type=ID)
@option("--output", "-o", type=click.Path(dir_okay=False), help="opt.paper_output")
@pass_app
def document_report(app: App, item_id: int, output: str | None) -> None:
    _print_paper(app, "report", item_id, output)


@document.command("progress", help="help.document.progress")
@option("--from", "from_", metavar="WHEN", help="opt.paper_from")
@option("--until", metavar="WHEN", help="opt.paper_until")
@option("--output", "-o", type=click.Path(dir_okay=False), help="opt.paper_output")
@pass_app
def document_progress(app: App, from_: str | None, until: str | None, output: str | None) -> None:
    with refusals(app):
        since = app.when(from_) if from_ else None
        upto = app.when(until, end_of_day=True) if until else None
    _print_paper(app, "progress", None, output, since=since, until=upto)


@document.command("verify", help="help.document.verify")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@pass_app
def document_verify(app: App, file: str) -> None:
    with refusals(app):
        try:
            data = Path(file).read_bytes()[:200_000_000]
        except OSError as err:
            from engine.core.errors import BadInput

            raise BadInput("checkpoint.cannot_write", file=file, reason=err.strerror or str(err)) from None
        app.actor  # noqa: B018 (a member of this database asks)
        v = app.kaigi().verify_paper(data)
    line = v.message(app.lang)
    if v.code == 0:
        app.out(v.as_dict(app.lang), line)
        return
    app.out(v.as_dict(app.lang))
    if not app.json:
        click.echo(line)
    sys.exit(v.code)


if __name__ == "__main__":
    main()
