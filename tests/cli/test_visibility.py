"""R-R1 over every command of the CLI: the same engine rule as the web's.

`COMMANDS` lists every command `kaigi` has (read from the click group) and says how each
is checked for a station member of station A (mito's chief) reading station B's and the
HQ's objects, and for a member whose posts have all ended; the HQ reads the same as the
control. A command that is not in the table fails `test_every_command_is_in_the_table`.
On a training database the acting member (`--as`) is the viewer. Hidden is exit 5 with the
line of an id never used. `audit verify|checkpoint|export` run without a member (a database
reader, the auditor's role, R-I4); with a restricted member acting, the rule applies.
"""

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import click
import pytest

from tests import visibility_world as vw

NEVER = 999_999


def commands() -> set[str]:
    from cli import cli

    out: set[str] = set()

    def walk(group: click.Group, prefix: list[str]) -> None:
        for name, c in group.commands.items():
            if isinstance(c, click.Group):
                walk(c, prefix + [name])
            else:
                out.add(" ".join(prefix + [name]))
    walk(cli, [])
    return out


# command -> (how it is checked, why)
COMMANDS: dict[str, tuple[str, str]] = {
    "item show": ("item", "an item: exit 5 when hidden"),
    "item history": ("item", "its events, and only the visible sittings' own events"),
    "audit replay": ("item", "its acts re-decided: exit 5 when hidden"),
    "audit report": ("item", "its story: exit 5 when hidden; hidden sittings left out"),
    "meeting show": ("meeting", "agenda and minutes: exit 5 when hidden; agenda as the reader may see it"),
    "meeting ics": ("meeting", "the calendar file: exit 5 when hidden; agenda as the reader may see it"),
    "item list": ("list", "visible items only"),
    "item export": ("export_items", "a spreadsheet of the visible items only, whatever the words or filters"),
    "meeting list": ("list", "visible meetings only"),
    "order list": ("list", "orders on visible items only; --item of a hidden item exits 5"),
    "reminders list": ("list", "reminders about visible items and meetings only"),
    "reminders forecast": ("list", "the same, ahead"),
    "work": ("list", "what waits on the member: visible items, meetings and orders only"),
    "audit verify": ("log", "the whole log: a database reader or a member who sees everything"),
    "audit checkpoint": ("log", "the log's head: the same"),
    "audit export": ("log", "the whole log, one hash chain: the same; never a chain with holes"),
    "whoami": ("own", "the member's own roles"),
    "token list": ("own", "the member's own tokens"),
    "roster list": ("own", "people and posts: no item, meeting or log"),
    "body list": ("own", "the organisation's bodies and their head counts: no item, meeting or log"),
    "rulebook list": ("own", "the rules (the circular), not objects"),
    "rulebook show": ("own", "the rules"),
    "rulebook diff": ("own", "the rules"),
    "rulebook check": ("own", "a file of rules"),
    "rulebook diagram": ("own", "the item path, no item"),
    # acts on a named object: a hidden one is absent (exit 5) before anything is decided;
    # then who may act is the rules' (engine.core), and it reads back only what it did
    "item advance": ("act_on", "a hidden item or meeting: exit 5, nothing written"),
    "meeting convene": ("act_on", "a hidden item on the agenda: exit 5, nothing written"),
    "meeting agenda": ("act_on", "a hidden meeting or item: exit 5, nothing written"),
    "meeting hold": ("act_on", "a hidden meeting: exit 5, nothing written"),
    "meeting cancel": ("act_on", "a hidden meeting: exit 5, nothing written"),
    "meeting move": ("act_on", "a hidden meeting: exit 5, nothing written (R-M6)"),
    "meeting minutes": ("act_on", "a hidden meeting: exit 5, nothing written"),
    "order issue": ("act_on", "a hidden item: exit 5, nothing written"),
    "order complete": ("act_on", "an order on a hidden item: exit 5, nothing written"),
    "order waive": ("act_on", "an order on a hidden item: exit 5, nothing written"),
    # acts that name no item, meeting or order: who may act is the rules'
    "item file": ("act", "files in the actor's own body"),
    "roster add": ("act", "the rules of who may organise"),
    "body add": ("act", "the rules of who may organise (R-P1: the top body's organiser)"),
    "roster bind": ("act", "the rules of who may organise"),
    "roster assign": ("act", "the rules of who may organise"),
    "roster end": ("act", "the rules of who may organise"),
    "roster delegate": ("act", "the rules of who may delegate"),
    "roster password": ("act", "a member's own credential"),
    "token create": ("act", "a member's own credential"),
    "token revoke": ("act", "a member's own credential"),
    "rulebook cutover": ("act", "the chief's act"),
    # running and administering the database
    "init": ("admin", "creates the database"),
    "serve": ("admin", "the web face: tests/web/test_visibility.py"),
    "scheduler run": ("admin", "sends reminders to whom the rules name"),
    "db grant": ("admin", "the owner's grants"),
    "audit keygen": ("admin", "a key pair, no database read"),
    "audit import": ("admin", "loads a log into an empty database"),
    # papers: PDFs read through the viewer's sight; printing is the member's act
    "document notice": ("paper", "a meeting's notice: exit 5 when hidden"),
    "document agenda": ("paper", "a meeting's order of business: exit 5 when hidden"),
    "document minutes": ("paper", "approved minutes: exit 5 when hidden"),
    "document report": ("paper", "an item's report: exit 5 when hidden"),
    "document progress": ("paper", "the progress report holds visible items only"),
    "document verify": ("own", "judges a file against the log: names only its anchor"),
}


def test_every_command_is_in_the_table():
    """R-R1: a command that is not in COMMANDS has not said how it keeps visibility."""
    have = commands()
    assert have - set(COMMANDS) == set(), "new commands: add them to COMMANDS with their R-R1 check"
    assert set(COMMANDS) - have == set(), "COMMANDS names commands kaigi no longer has"


@dataclass
class W:
    run: Callable[..., Any]
    s: vw.Seen


@pytest.fixture
def world(demo_cli, db_url) -> Any:
    from engine.app.kaigi import Kaigi
    from store import open_store

    k = Kaigi(open_store(db_url))
    s = vw.build(k)
    vw.end_post(k)
    k.store.close()
    return W(demo_cli, s)


def _as(w: W, who: str | None, *args: Any) -> Any:
    return w.run(*(["--as", who] if who else []), *[str(a) for a in args])


def _leaks(text: str, markers: list[str]) -> list[str]:
    return [m for m in markers if m in text]


def _absent_like(w: W, cmd: list[Any], ident: int) -> str | None:
    """None when the command on `ident` answers as on an id never used: exit 5, its line.
    `cmd` takes the id at its end, or where it says "{}"."""
    def with_id(n: int) -> list[Any]:
        return [n if a == "{}" else a for a in cmd] if "{}" in cmd else [*cmd, n]

    r = _as(w, vw.STATION_A, *with_id(ident))
    never = _as(w, vw.STATION_A, *with_id(NEVER))
    if r.exit_code != 5 or never.exit_code != 5:
        return f"exit {r.exit_code} (an unused id: {never.exit_code})"
    if r.stderr.replace(str(ident), "N") != never.stderr.replace(str(NEVER), "N"):
        return f"{r.stderr!r} unlike {never.stderr!r}"
    return None


def check_item(w: W, name: str) -> list[str]:
    bad, cmd = [], name.split()
    for h in w.s.items_hidden_from_a():
        if why := _absent_like(w, cmd, h):
            bad.append(f"A {name} {h}: {why}")
    for own in (w.s.mito_item, w.s.escalated):
        r = _as(w, vw.STATION_A, "--json", *cmd, own)
        if r.exit_code != 0 or _leaks(r.stdout, w.s.hidden_from_a):
            bad.append(f"A {name} {own} (theirs): exit {r.exit_code} {_leaks(r.stdout, w.s.hidden_from_a)}")
    for i in (w.s.mito_item, w.s.hq_item):
        r = _as(w, vw.ENDED, *cmd, i)
        if r.exit_code != 5 or _leaks(r.stdout, w.s.hidden_from_ended):
            bad.append(f"ended {name} {i}: exit {r.exit_code}")
    r = _as(w, vw.HQ_MEMBER, *cmd, w.s.joso_item)
    if r.exit_code != 0:
        bad.append(f"the HQ {name} station B's item: exit {r.exit_code}")
    return bad


def check_meeting(w: W, name: str) -> list[str]:
    bad, cmd = [], name.split()
    for h in w.s.meetings_hidden_from_a():
        if why := _absent_like(w, cmd, h):
            bad.append(f"A {name} {h}: {why}")
    r = _as(w, vw.STATION_A, "--json", *cmd, w.s.mito_meeting)
    if r.exit_code != 0 or (name == "meeting show" and vw.MITO_MINUTES not in r.stdout):
        bad.append(f"A {name} of their own council: exit {r.exit_code}")
    r = _as(w, vw.STATION_A, "--json", *cmd, w.s.council)  # invited: the agenda as A may see it
    if r.exit_code != 0 or _leaks(r.stdout, w.s.hidden_from_a):
        bad.append(f"A {name} of the council they are invited to: {r.exit_code} {_leaks(r.stdout, w.s.hidden_from_a)}")
    elif name == "meeting show" and json.loads(r.stdout)["items"] != [w.s.escalated]:
        bad.append(f"the council's agenda as A sees it: {json.loads(r.stdout)['items']}")
    elif name == "meeting ics" and f"items {w.s.escalated}\\r" not in json.dumps(json.loads(r.stdout)["ics"]):
        bad.append("the invitation's agenda lists more than the escalated item")
    for m in (w.s.mito_meeting, w.s.staff_meeting, w.s.council):
        r = _as(w, vw.ENDED, *cmd, m)
        if r.exit_code != 5:
            bad.append(f"ended {name} {m}: exit {r.exit_code}")
    if _as(w, vw.HQ_MEMBER, *cmd, w.s.joso_meeting).exit_code != 0:
        bad.append(f"the HQ {name} station B's council failed")
    return bad


LIST_ARGS = {"reminders forecast": ["--until", "2100-01-01"]}


def check_list(w: W, name: str) -> list[str]:
    bad, cmd = [], name.split() + LIST_ARGS.get(name, [])
    hidden_items, hidden_meetings = set(w.s.items_hidden_from_a()), set(w.s.meetings_hidden_from_a())
    r = _as(w, vw.STATION_A, "--json", *cmd)
    rows = json.loads(r.stdout) if r.exit_code == 0 else None
    if rows is None or _leaks(r.stdout, w.s.hidden_from_a):
        return [f"A {name}: exit {r.exit_code} {_leaks(r.stdout, w.s.hidden_from_a)}"]
    for row in rows:
        ids = {row.get("item")} if "item" in row else set()
        if name == "item list":
            ids = {row["id"]}
        if (name == "meeting list" and row["id"] in hidden_meetings) or ids & hidden_items \
                or row.get("meeting") in hidden_meetings:
            bad.append(f"A {name} shows {row.get('id')}")
    if name == "item list" and sorted(r_["id"] for r_ in rows) != sorted([w.s.mito_item, w.s.escalated]):
        bad.append(f"A's items: {[r_['id'] for r_ in rows]}")
    if name == "order list" and _as(w, vw.STATION_A, *cmd, "--item", w.s.hq_item).exit_code != 5:
        bad.append("A lists the orders of a hidden item")
    r = _as(w, vw.ENDED, "--json", *cmd)
    if r.exit_code != 0 or json.loads(r.stdout) != []:
        bad.append(f"ended {name}: exit {r.exit_code} {r.stdout[:200]}")
    r = _as(w, vw.HQ_MEMBER, "--json", *cmd)
    if r.exit_code != 0 or (name in ("item list", "meeting list") and len(json.loads(r.stdout)) < 5):
        bad.append(f"the HQ {name}: exit {r.exit_code}")
    return bad


def check_log(w: W, name: str) -> list[str]:
    bad, cmd = [], name.split()
    for who in (vw.STATION_A, vw.ENDED):
        r = _as(w, who, *cmd)
        if r.exit_code != 5 or _leaks(r.stdout, w.s.hidden_from_ended):
            bad.append(f"{who} {name}: exit {r.exit_code}")
    for who in (vw.HQ_MEMBER, None):  # the HQ; a database reader who is no member (the auditor)
        r = _as(w, who, *cmd)
        if r.exit_code != 0:
            bad.append(f"{who or 'a reader without a member'} {name}: exit {r.exit_code} {r.stderr[:200]}")
    return bad


def check_own(w: W, name: str) -> list[str]:
    args = {"rulebook diff": ["2023-07-03", "2024-10-01"], "rulebook check": ["/nonexistent.toml"]}
    bad = []
    for who in (vw.STATION_A, vw.ENDED):
        r = _as(w, who, *name.split(), *args.get(name, []))
        if _leaks(r.stdout + r.stderr, w.s.hidden_from_ended):
            bad.append(f"{who} {name} shows {_leaks(r.stdout + r.stderr, w.s.hidden_from_ended)}")
    return bad


def acts_on(s: vw.Seen) -> dict[str, list[tuple[list[Any], list[int]]]]:
    """Each act on a named object: its arguments ("{}" for the hidden id) and the hidden ids."""
    items, meetings = s.items_hidden_from_a(), s.meetings_hidden_from_a()
    return {
        "item advance": [(["item", "advance", "{}", "withdraw"], items),
                         (["item", "advance", s.mito_item, "report", "--meeting", "{}"], meetings)],
        "meeting convene": [(["meeting", "convene", "station_council", "--at", "now", "--item", "{}"], items)],
        "meeting agenda": [(["meeting", "agenda", "{}", "add", s.mito_item], meetings),
                           (["meeting", "agenda", s.mito_meeting, "add", "{}"], items)],
        "meeting hold": [(["meeting", "hold", "{}"], meetings)],
        "meeting cancel": [(["meeting", "cancel", "{}"], meetings)],
        "meeting move": [(["meeting", "move", "{}", "--place", "x"], meetings)],
        "meeting minutes": [(["meeting", "minutes", "{}", "--approve"], meetings)],
        "order issue": [(["order", "issue", "{}", "--to", "kobayashi"], items)],
        "order complete": [(["order", "complete", "{}", "--finding", "x"], [s.hq_order])],
        "order waive": [(["order", "waive", "{}", "--reason", "x"], [s.hq_order])],
    }


def check_act_on(w: W, name: str) -> list[str]:
    bad = []
    head = _as(w, None, "audit", "checkpoint").stdout
    for cmd, hidden in acts_on(w.s)[name]:
        for h in hidden:
            if why := _absent_like(w, cmd, h):
                bad.append(f"A {' '.join(map(str, cmd))} with {h}: {why}")
    if _as(w, None, "audit", "checkpoint").stdout != head:
        bad.append("an act on a hidden object wrote to the log")
    return bad


def check_export_items(w: W, name: str) -> list[str]:
    """`item export`: the CSV (stdout) and the XLSX list a station member's own items and what
    their report became, never another's, found by no words or filter (R-R1)."""
    import csv
    import io
    import tempfile

    from openpyxl import load_workbook

    def csv_ids(who: str, *args: Any) -> tuple[int, set[int], str]:
        r = _as(w, who, "item", "export", "-o", "-", *args)
        rows = list(csv.reader(io.StringIO(r.stdout.lstrip("\ufeff"))))[1:] if r.exit_code == 0 else []
        return r.exit_code, {int(x[0]) for x in rows}, r.stdout

    bad, mine = [], {w.s.mito_item, w.s.escalated}
    for args in ([], ["--search", "SECRET"], ["--search", "の案件"], ["--station", "joso"], ["--overdue"]):
        code, ids, text = csv_ids(vw.STATION_A, *args)
        if code != 0 or ids - mine or _leaks(text, w.s.hidden_from_a):
            bad.append(f"A {name} {args}: exit {code} ids {sorted(ids)}")
        if args == ["--search", "SECRET"] and ids:
            bad.append("A's export found another's words")
    if w.s.mito_item not in csv_ids(vw.STATION_A)[1]:
        bad.append("A's export lacks their own item")
    code, ids, _ = csv_ids(vw.ENDED)
    if code != 0 or ids:
        bad.append(f"ended {name}: exit {code} ids {sorted(ids)}")
    if {w.s.hq_item, w.s.joso_item} - csv_ids(vw.HQ_MEMBER)[1]:
        bad.append("the HQ's export lacks station B's or the HQ's item")
    with tempfile.TemporaryDirectory() as d:
        r = _as(w, vw.STATION_A, "item", "export", "--format", "xlsx", "-o", f"{d}/a.xlsx")
        rows = list(load_workbook(f"{d}/a.xlsx").active.iter_rows(values_only=True))[1:] if r.exit_code == 0 else []
        if r.exit_code != 0 or {int(x[0]) for x in rows} != mine:
            bad.append(f"A's XLSX: exit {r.exit_code} {[x[0] for x in rows]}")
    return bad


def check_paper(w: W, name: str) -> list[str]:
    """A paper: hidden is absent (exit 5, the same line as an id never used); a member's own
    prints; the progress report's text holds nothing they may not see."""
    import shutil
    import subprocess
    import tempfile

    bad, cmd = [], name.split()
    with tempfile.TemporaryDirectory() as d:
        out = ["-o", f"{d}/p.pdf"]
        if name == "document progress":
            r = _as(w, vw.STATION_A, *cmd, *out)
            if r.exit_code != 0:
                return [f"A {name}: exit {r.exit_code} {r.output}"]
            if shutil.which("pdftotext"):
                text = subprocess.run(["pdftotext", f"{d}/p.pdf", "-"], capture_output=True).stdout.decode()
                if vw.MITO_TITLE not in text or _leaks(text, w.s.hidden_from_a):
                    bad.append(f"A's progress report: {_leaks(text, w.s.hidden_from_a)}")
            return bad
        item = name == "document report"
        hidden = w.s.items_hidden_from_a() if item else w.s.meetings_hidden_from_a()
        own = [w.s.mito_item, w.s.escalated] if item else [w.s.mito_meeting, w.s.council]
        for h in hidden:
            if why := _absent_like(w, [*cmd, "{}", *out], h):
                bad.append(f"A {name} {h}: {why}")
        for o in own:
            r = _as(w, vw.STATION_A, *cmd, o, *out)
            if r.exit_code != 0 and not (name == "document minutes" and r.exit_code == 4):
                bad.append(f"A {name} {o} (theirs): exit {r.exit_code}")
        r = _as(w, vw.ENDED, *cmd, own[0], *out)
        if r.exit_code != 5:
            bad.append(f"ended {name}: exit {r.exit_code}")
    return bad


def check_none(w: W, name: str) -> list[str]:
    return []  # not a read of items, meetings or the log: see the reason in COMMANDS


CHECKS = {"item": check_item, "meeting": check_meeting, "list": check_list, "log": check_log, "own": check_own,
          "act_on": check_act_on, "act": check_none, "admin": check_none, "export_items": check_export_items,
          "paper": check_paper}


def test_every_command_keeps_r_r1(world):
    """R-R1 on the CLI: a station member reads nothing of another station's or the HQ's
    (exit 5 as for an id never used); a member whose posts ended reads nothing."""
    failures = []
    for name, (kind, _why) in sorted(COMMANDS.items()):
        failures += [f"{name}: {x}" for x in CHECKS[kind](world, name)]
    assert failures == [], "\n".join(failures)
