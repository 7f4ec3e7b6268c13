"""Rules over time (R-V1): an act is judged by who held the role then, under the version in
force then; duties of a renamed post pass to its successor; the auditor's replay agrees."""

import datetime as dt
import json

import pytest

from engine.app.audit import verify
from engine.core.errors import NotPermitted
from engine.infra.clock import FrozenClock
from engine.infra.timeutil import JST
from engine.reminders.dispatch import Dispatcher
from store import open_store
from tests.conftest import Peek, fingerprint, make_svc
from tests.unit.test_reminders import Collect

BEFORE = dt.datetime(2024, 9, 20, 10, 0, tzinfo=JST)


@pytest.fixture
def era(db_url):
    """The demo roster in September 2024, plus the 国際捜査課長 (kokusai) in post since April 2023."""
    from engine.app import bootstrap

    clock = FrozenClock(BEFORE)
    svc = make_svc(db_url, clock, demo=False)
    bootstrap.init(svc, demo=True, items=False)
    svc.add_member("sato", "kokusai", name="国際 太郎", name_en="Taro Kokusai")
    svc.assign("sato", "kokusai", "kokusai_sosa_kacho", valid_from=dt.datetime(2023, 4, 1, tzinfo=JST))
    yield svc, clock
    svc.store.close()


def cross(clock):
    clock.set(dt.datetime(2024, 10, 2, 10, 0, tzinfo=JST))


class TestVersionInForce:
    def test_r_v1_the_kokusai_director_skips_before_the_cutover_and_is_refused_after(self, era):
        """R-V1: the same act by the 国際捜査課長: allowed under 2023, refused under 2024."""
        svc, clock = era
        first = svc.file_item("watanabe", "before").fact.item
        second = svc.file_item("watanabe", "after").fact.item
        ev = svc.advance("kokusai", first, "skip").event
        assert ("pre_review", "2023-07-03") == (ev.data["to"], ev.rulebook)
        with pytest.raises(NotPermitted, match="only the implementation manager"):
            svc.advance("yamamoto", second, "skip")  # 組織犯罪対策第二課長 is no post under 2023
        cross(clock)
        before = fingerprint(svc.store)
        with pytest.raises(NotPermitted, match=r"you hold no role \(now: .*yamamoto\)"):
            svc.advance("kokusai", second, "skip")
        assert before == fingerprint(svc.store)
        ev = svc.advance("yamamoto", second, "skip").event
        assert "2024-10-01" == ev.rulebook

    def test_r_v1_an_item_crossing_the_revision_replays_clean(self, era, kaigi):
        """Filed and studied under 2023, decided under 2024: every step re-decided under its own version."""
        svc, clock = era
        item = svc.file_item("kokusai", "跨ぐ案件").fact.item
        m = svc.convene("kokusai", "staff", clock.now(), items=[item], attendees=["yoshida"]).fact.meeting
        svc.hold("kokusai", m)
        svc.advance("kokusai", item, "refer", meeting=m)
        cross(clock)
        m = svc.convene("watanabe", "team_lead", clock.now(), items=[item]).fact.meeting
        svc.hold("watanabe", m)
        svc.advance("watanabe", item, "refer", meeting=m)
        m = svc.convene("sato", "council", clock.now(), items=[item]).fact.meeting
        svc.hold("sato", m)
        svc.advance("watanabe", item, "decide", meeting=m)
        v = verify(svc.store)
        assert v.ok, v.problem
        r = kaigi("--json", "--as", "sato", "audit", "replay", str(item))
        assert 0 == r.exit_code, r.output
        steps = [s for s in json.loads(r.stdout) if s["type"] in ("ItemFiled", "ItemAdvanced")]
        assert [("kokusai", "2023-07-03"), ("kokusai", "2023-07-03"), ("watanabe", "2024-10-01"),
                ("watanabe", "2024-10-01")] == [(s["actor"], s["rulebook"]) for s in steps]
        assert all(s["allowed"] for s in steps)
        assert {"seq", "at", "actor", "authority", "trigger", "from", "to", "rulebook", "allowed", "reason"} <= set(steps[0])

    def test_replay_at_shows_the_item_as_it_stood(self, era, kaigi):
        svc, clock = era
        item = svc.file_item("kokusai", "途中").fact.item
        clock.advance(days=3)
        svc.advance("kokusai", item, "skip")
        r = kaigi("--json", "--as", "sato", "audit", "replay", str(item), "--at", "2024-09-21T12:00")
        out = json.loads(r.stdout)
        assert "filed" == out["item"]["state"]
        assert [] == out["reminders"]  # nothing was due yet
        r = kaigi("--json", "--as", "sato", "audit", "replay", str(item), "--at", "2024-12-31")
        assert "pre_review" == json.loads(r.stdout)["item"]["state"]


class TestDutiesPassToTheSuccessor:
    def test_r_v1_a_pending_staff_meeting_becomes_the_successors(self, era):
        """Convened by the 国際捜査課長 before the cutover; after it, the 組織犯罪対策第二課長 holds it."""
        svc, clock = era
        item = svc.file_item("watanabe", "会議待ち").fact.item
        m = svc.convene("kokusai", "staff", clock.now() + dt.timedelta(days=14), items=[item],
                        attendees=["yoshida"]).fact.meeting
        cross(clock)
        clock.set(dt.datetime(2024, 10, 5, 10, 0, tzinfo=JST))
        with pytest.raises(NotPermitted):
            svc.hold("kokusai", m)
        svc.hold("yamamoto", m)
        assert "pre_review" == svc.advance("yamamoto", item, "refer", meeting=m).event.data["to"]

    def test_r_v1_reminders_go_to_the_successor(self, era):
        svc, clock = era
        svc.file_item("watanabe", "期限越え")
        box = Collect()
        clock.set(dt.datetime(2024, 10, 10, 10, 0, tzinfo=JST))  # 20 days on, after the cutover
        Dispatcher(svc, {"email": box}).run_once()
        assert "yamamoto" in {m.to[0].split("@")[0] for m in box.sent}
        assert "kokusai" not in {m.to[0].split("@")[0] for m in box.sent}

    def test_r_v1_cutover_dry_run_lists_what_moves(self, era, kaigi):
        svc, _clock = era
        item = svc.file_item("watanabe", "移る案件").fact.item
        r = kaigi("--json", "--as", "sato", "rulebook", "cutover", "2024-10-01", "--dry-run")
        assert 0 == r.exit_code, r.output
        moves = json.loads(r.stdout)
        skip = next(x for x in moves if x["what"] == f"item {item} (filed): skip")
        assert (["kokusai"], ["yamamoto"]) == (skip["from"], skip["to"])
        assert "国際捜査課長" in skip["from_posts"] and "組織犯罪対策第二課長" in skip["to_posts"]
        assert any(x["what"].startswith("reminder ") for x in moves)


class TestRosterOverTime:
    def test_roster_list_at_a_time(self, era, kaigi):
        rows = json.loads(kaigi("--json", "--as", "sato", "roster", "list", "--at", "2024-09-01").stdout)
        kokusai = next(r for r in rows if r["login"] == "kokusai")
        assert ["implementation_manager"] == [x["role"] for x in kokusai["roles"]]
        rows = json.loads(kaigi("--json", "--as", "sato", "roster", "list", "--at", "2024-10-01").stdout)
        assert [] == next(r for r in rows if r["login"] == "kokusai")["roles"]
        yamamoto = next(r for r in rows if r["login"] == "yamamoto")
        assert ["implementation_manager"] == [x["role"] for x in yamamoto["roles"]]


class TestRulebookCommands:
    def test_list_show_diff(self, demo_cli):
        rows = json.loads(demo_cli("--json", "--as", "sato", "rulebook", "list").stdout)
        assert [("2023-07-03", False), ("2024-10-01", True)] == [(r["version"], r["in_force"]) for r in rows]
        d = demo_cli("--as", "sato", "rulebook", "diff", "2023-07-03", "2024-10-01")
        assert 0 == d.exit_code
        assert "国際捜査課長" in d.stdout and "組織犯罪対策第二課長" in d.stdout and "Organized Crime" in d.stdout
        assert "meetings." not in d.stdout
        assert "version = \"2023-07-03\"" in demo_cli("--as", "sato", "rulebook", "show", "2023-07-03").stdout
        assert 5 == demo_cli("--as", "sato", "rulebook", "diff", "2023-07-03", "1999-01-01").exit_code

    def test_check_lists_every_problem(self, demo_cli, tmp_path):
        from workflows import bundled_rulebooks

        good = tmp_path / "other.toml"
        good.write_text(bundled_rulebooks()[-1].text, encoding="utf-8")
        assert 0 == demo_cli("rulebook", "check", str(good)).exit_code
        bad = tmp_path / "bad.toml"
        bad.write_text(good.read_text(encoding="utf-8").replace('convener = "chief"', 'convener = "boss"')
                       .replace('role = "deputy_chief"', 'role = "deputy"'), encoding="utf-8")
        r = demo_cli("rulebook", "check", str(bad))
        assert 2 == r.exit_code
        assert f"{bad}: meetings.council.convener" in r.stderr and f"{bad}: positions.keimu_bucho.role" in r.stderr

    def test_diagram(self, demo_cli):
        r = demo_cli("--as", "sato", "rulebook", "diagram")
        assert r.stdout.startswith("stateDiagram-v2") and "pre_review" in r.stdout
        t = demo_cli("--as", "sato", "rulebook", "diagram", "--format", "text")
        assert "filed --skip--> pre_review" in t.stdout


class TestExportImport:
    @pytest.mark.parametrize("fmt", ["jsonl", "csv"])
    def test_export_reimports_into_an_empty_database_and_verifies(self, svc, db_url, tmp_path, fmt):
        from tests.conftest import walk_to

        walk_to(svc, "in_progress")
        try:
            svc.advance("nakamura", 1, "skip")
        except NotPermitted:
            pass
        from click.testing import CliRunner

        from cli import cli

        out = tmp_path / f"log.{fmt}"
        run = CliRunner().invoke
        r = run(cli, ["--db", db_url, "audit", "export", "--format", fmt, "-o", str(out)], catch_exceptions=False)
        assert 0 == r.exit_code, r.output
        target = f"sqlite:///{tmp_path}/imported.db"
        r = run(cli, ["--db", target, "--json", "audit", "import", str(out)], catch_exceptions=False)
        assert 0 == r.exit_code, r.output
        r = run(cli, ["--db", target, "--json", "audit", "verify"], catch_exceptions=False)
        assert 0 == r.exit_code and json.loads(r.stdout)["ok"]
        copy = Peek(open_store(target))
        assert (svc.peek.items(), svc.peek.meetings(), svc.peek.head()) == (
            copy.items(), copy.meetings(), copy.head())

    def test_import_refuses_a_tampered_export(self, svc, tmp_path, kaigi):
        lines = kaigi("audit", "export").stdout.splitlines()
        doc = json.loads(lines[45])
        doc["actor"] = "nakamura" if doc["actor"] != "nakamura" else "sato"
        lines[45] = json.dumps(doc, ensure_ascii=False)
        bad = tmp_path / "bad.jsonl"
        bad.write_text("\n".join(lines), encoding="utf-8")
        from click.testing import CliRunner

        from cli import cli

        r = CliRunner().invoke(cli, ["--db", f"sqlite:///{tmp_path}/x.db", "--lang", "en", "audit", "import", str(bad)])
        assert 7 == r.exit_code and f"first bad event {doc['seq']}" in r.stderr
