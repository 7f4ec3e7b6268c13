"""Reminders people can act on (R-N1..R-N3), over a simulated quarter: the scheduler runs
each day under a controlled clock, and every command printed in every reminder is run
through the CLI as its recipient (mutating ones with --dry-run), and every one succeeds
(exit 0): none refused as not permitted (3) or not possible now (4), none malformed (2)."""

import datetime as dt
import re
import shlex
from typing import Any

import pytest
from click.testing import CliRunner

import engine
from engine.reminders.dispatch import Dispatcher
from tests.conftest import make_svc, walk_to
from tests.unit.test_reminders import Collect

MUTATING = {("item", "advance"), ("meeting", "convene"), ("meeting", "agenda"), ("meeting", "hold"),
            ("order", "complete"), ("order", "waive")}


@pytest.fixture
def quarter(db_url: str, clock: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """A demo HQ with waits of every kind, the CLI reading the same controlled clock."""
    import cli as cli_module

    svc = make_svc(db_url, clock)
    walk_to(svc, "in_progress", title="決定済み")  # progress checks
    walk_to(svc, "council", title="本部会議待ち")
    pre = walk_to(svc, "pre_review", title="班長会議待ち")
    svc.issue_order("watanabe", pre, "nakamura")  # an order to a team leader (R-T5)
    svc.file_item("matsumoto", "署の案件", station="mito")  # a station item waits for its council
    svc.convene("watanabe", "team_lead", clock.now() + dt.timedelta(days=3))  # invitations to attendees
    opened = engine.open

    def open_at_the_clock(settings: Any, **kw: Any) -> Any:
        kw["clock"] = clock.now
        return opened(settings, **kw)

    monkeypatch.setattr(engine, "open", open_at_the_clock)
    monkeypatch.setattr(cli_module.App, "now", lambda self: clock.now())
    return svc


def commands_in(body: str) -> list[str]:
    return [m.group(0) for m in re.finditer(r"kaigi [^\n]+", body)]


def fill(cmd: str, now: dt.datetime) -> list[str]:
    """A printed command made runnable: its placeholders filled as its reader would."""
    when = (now + dt.timedelta(days=2)).astimezone(dt.timezone(dt.timedelta(hours=9))).strftime("%Y-%m-%dT%H:%M")
    args = shlex.split(cmd)[1:]
    out = []
    for a in args:
        out.append({"WHEN": when, "TEXT": "報告します", "LOGIN": "nakamura"}.get(a, a))
    verb = tuple(x for x in out if not x.startswith("-"))[2:4] if out[:1] == ["--as"] else tuple(out[:2])
    if verb in MUTATING:
        out.append("--dry-run")
    return out


@pytest.mark.parametrize("base_url", [None, "https://kaigi.police.example/"])
def test_r_n1_every_command_in_every_reminder_of_a_quarter_is_permitted(quarter: Any, db_url: str,
                                                                        clock: Any, base_url: str | None) -> None:
    """R-N1: a reminder never proposes a command the rules refuse its recipient (exit 3),
    with links to the web pages (KAIGI_BASE_URL) or without."""
    from cli import cli

    box = Collect()
    dispatcher = Dispatcher(quarter, {"email": box}, base_url=base_url)
    runner = CliRunner()
    ran: list[tuple[str, str, int]] = []
    seen = 0
    for _ in range(92):
        clock.advance(days=1)
        dispatcher.run_once()
        for msg in box.sent[seen:]:
            recipient = msg.to[0].split("@")[0]
            for cmd in commands_in(msg.body):
                args = fill(cmd, clock.now())
                assert args[:2] == ["--as", recipient], (cmd, recipient)  # as its recipient
                r = runner.invoke(cli, ["--db", db_url, *args], env={"KAIGI_LANG": "en"}, catch_exceptions=False)
                ran.append((recipient, cmd, r.exit_code))
                assert r.exit_code == 0, (recipient, cmd, r.exit_code, r.output)  # R-N1: runs, as a dry run
        seen = len(box.sent)
    kinds = {tuple(shlex.split(c)[3:5]) for _, c, _ in ran}
    assert len(box.sent) >= 10 and len(ran) >= 20, ran
    assert {("item", "advance"), ("meeting", "convene"), ("order", "complete"), ("item", "show")} <= kinds, kinds


def test_r_n1_an_escalation_says_whom_to_press(quarter: Any, clock: Any) -> None:
    """R-N1: the general manager, reminded that the implementation manager has not called the
    staff meeting, is told to press him by name, with a command to look, not one to convene."""
    box = Collect()
    dispatcher = Dispatcher(quarter, {"email": box})
    for _ in range(25):
        clock.advance(days=1)
        dispatcher.run_once()
    to_gm = [m for m in box.sent if m.to[0].startswith("watanabe@") and "item show 1" in m.body]
    assert to_gm, [m.subject for m in box.sent]
    body = to_gm[0].body
    assert "山本" in body  # the implementation manager, by name
    assert "meeting convene staff" not in body


def test_r_n1_an_orders_reminder_names_its_team_leader(quarter: Any, clock: Any) -> None:
    box = Collect()
    dispatcher = Dispatcher(quarter, {"email": box})
    for _ in range(10):
        clock.advance(days=1)
        dispatcher.run_once()
    orders = [m for m in box.sent if "order complete" in m.body]
    assert orders and orders[0].to[0].startswith("nakamura@")
    assert "現在不在" not in orders[0].body and "中村" in orders[0].body


def test_r_n3_an_item_stays_overdue_after_its_last_rung(quarter: Any, clock: Any, kaigi: Any) -> None:
    """R-N3: the last escalation went out long ago; the item is still overdue in list and show."""
    box = Collect()
    dispatcher = Dispatcher(quarter, {"email": box})
    for _ in range(60):
        clock.advance(days=1)
        dispatcher.run_once()
    r = kaigi("--json", "--as", "sato", "item", "list", "--overdue")
    assert r.exit_code == 0, r.output
    import json

    overdue = {i["id"] for i in json.loads(r.stdout)}
    assert 1 in overdue
    show = json.loads(kaigi("--json", "--as", "sato", "item", "show", "1").stdout)
    assert show.get("overdue") is True, show


def test_r_n1_the_scheduler_links_each_act_when_kaigi_base_url_is_set(quarter: Any, db_url: str, clock: Any,
                                                                     tmp_path: Any) -> None:
    """R-N1: `kaigi scheduler run` reads KAIGI_BASE_URL: the team leader's order reminder
    links to the order on its item page, then gives the command for the command line."""
    import json

    from cli import cli

    out = tmp_path / "outbox.jsonl"
    clock.advance(days=8)
    r = CliRunner().invoke(cli, ["--db", db_url, "scheduler", "run", "--once"], catch_exceptions=False,
                           env={"KAIGI_LANG": "en", "KAIGI_OUTBOX": str(out),
                                "KAIGI_BASE_URL": "https://kaigi.police.example/"})
    assert r.exit_code == 0, r.output
    mails = [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines()]
    body = next(m["body"] for m in mails if "order complete" in m["body"])
    link = "https://kaigi.police.example/items/7#order-1"
    assert link in body and body.index(link) < body.index("kaigi --as nakamura order complete 1 --finding TEXT")
    assert "コマンドで操作する場合: kaigi --as nakamura order complete 1" in body


@pytest.mark.parametrize("bad", ["ftp://kaigi.example/", "kaigi.police.example", "https://", "https://h/?q=1",
                                 "https://user@h/", "http://h x/"])
def test_a_bad_kaigi_base_url_is_one_line_and_exit_2(quarter: Any, db_url: str, tmp_path: Any, bad: str) -> None:
    from cli import cli

    r = CliRunner().invoke(cli, ["--db", db_url, "scheduler", "run", "--once"], catch_exceptions=False,
                           env={"KAIGI_LANG": "en", "KAIGI_OUTBOX": str(tmp_path / "o.jsonl"), "KAIGI_BASE_URL": bad})
    assert r.exit_code == 2, r.output
    assert "Traceback" not in r.output and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert "base_url" in r.stderr and "https://kaigi.police.example/" in r.stderr
    assert not (tmp_path / "o.jsonl").exists() or not (tmp_path / "o.jsonl").read_text()


def test_r_n1_no_reminder_cites_a_sitting_before_the_decision(db_url: str, clock: Any,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """R-N1 (with R-M5, R-C7): a council sat with the item and recorded nothing; a later one
    decided it. Months on, the progress check's reminders and escalations never invite anyone
    to record `check` against the sitting before the decision (the act refuses it, exit 4):
    every command they print runs as its recipient's dry run with exit 0."""
    import cli as cli_module
    from cli import cli

    from tests.conftest import held

    svc = make_svc(db_url, clock)
    item = walk_to(svc, "council", title="二度審議")
    early = held(svc, "sato", "council", [item])  # sat, no outcome for the item
    clock.advance(days=1)
    later = held(svc, "sato", "council", [item])
    svc.advance("watanabe", item, "decide", meeting=later)
    opened = engine.open
    monkeypatch.setattr(engine, "open", lambda settings, **kw: opened(settings, **{**kw, "clock": clock.now}))
    monkeypatch.setattr(cli_module.App, "now", lambda self: clock.now())
    box = Collect()
    dispatcher = Dispatcher(svc, {"email": box})
    runner = CliRunner()
    for _ in range(110):
        clock.advance(days=1)
        dispatcher.run_once()
    mails = [m for m in box.sent if f"item show {item}" in m.body or f"item advance {item}" in m.body]
    assert {m.to[0].split("@")[0] for m in mails} >= {"yamamoto", "watanabe"}, [m.to for m in box.sent]
    for msg in mails:
        recipient = msg.to[0].split("@")[0]
        assert f"--meeting {early}" not in msg.body, msg.body
        for cmd in commands_in(msg.body):
            r = runner.invoke(cli, ["--db", db_url, *fill(cmd, clock.now())], env={"KAIGI_LANG": "en"},
                              catch_exceptions=False)
            assert r.exit_code == 0, (recipient, cmd, r.exit_code, r.output)
