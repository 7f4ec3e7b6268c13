"""Old databases keep working: a database made by kaigi 0.1 (kept as a fixture) upgrades with
`kaigi init`, verifies, reads, acts, and sends no reminder twice.

The fixture was made with the 0.1 code: the demo roster, an item walked to the council's
decision, an investigation order, a refusal, a station report, a delegation, and two
scheduler passes that fired and sent reminders; its 133 events include the 0.1 bookkeeping
(`ReminderSet`, `ReminderCancelled`), which 0.2 reads as no-ops.
"""

import json
import shutil
from pathlib import Path

import pytest

FIXTURE = Path(__file__).parent.parent / "fixtures" / "kaigi-0.1.db"


@pytest.fixture
def old(tmp_path, monkeypatch):
    db = tmp_path / "kaigi.db"
    shutil.copy(FIXTURE, db)
    from click.testing import CliRunner

    from cli import cli

    runner = CliRunner()

    def run(*args, env=None):
        return runner.invoke(cli, ["--db", f"sqlite:///{db}", "--lang", "en", *args], env=env or {},
                             catch_exceptions=False)
    return run


def test_a_0_1_database_upgrades_and_verifies(old):
    r = old("--json", "init")
    assert 0 == r.exit_code, r.output
    assert json.loads(r.stdout)["rebuilt"] is True and 0 == json.loads(r.stdout)["events"]
    v = old("--json", "audit", "verify")
    assert 0 == v.exit_code, v.output
    out = json.loads(v.stdout)
    assert (True, 133, 18) == (out["ok"], out["events"], out["deliveries"])
    # a second init changes nothing
    assert 0 == json.loads(old("--json", "init").stdout)["events"]


def test_after_the_upgrade_its_items_read_and_act(old):
    old("init")
    show = json.loads(old("--json", "--as", "watanabe", "item", "show", "2").stdout)
    assert ("pre_review", True) == (show["state"], show["overdue"])  # R-N3: still overdue after the last rung
    assert [("team_lead_meeting", 2)] == [(d["key"], d["fired"]) for d in show["deadlines"]]
    r = old("--as", "yamamoto", "item", "advance", "3", "skip")
    assert 0 == r.exit_code, r.output
    history = json.loads(old("--json", "--as", "yamamoto", "item", "history", "3").stdout)
    assert "ReminderSet" in {e["type"] for e in history}  # the 0.1 bookkeeping stays in the chain
    assert not {"ReminderSet", "ReminderCancelled"} & {e["type"] for e in history if e["seq"] > 133}
    assert 0 == old("audit", "verify").exit_code


def test_after_the_upgrade_no_reminder_goes_out_twice(old, tmp_path):
    """Every rung 0.1 sent is known to the projection: a scheduler pass (today, whatever is due
    by now) fires no rung again, which verify would catch (a fired rung is no longer planned)."""
    old("init")
    sent_before = {(d["reminder"], d["rung"]) for d in _deliveries(tmp_path / "kaigi.db")}
    outbox = tmp_path / "outbox.jsonl"
    r = old("--json", "scheduler", "run", "--once", env={"KAIGI_OUTBOX": str(outbox)})
    assert 0 == r.exit_code, r.output
    after = _deliveries(tmp_path / "kaigi.db")
    assert len(after) == len({(d["reminder"], d["rung"], d["recipient"]) for d in after})
    assert sent_before <= {(d["reminder"], d["rung"]) for d in after}
    assert 0 == old("audit", "verify").exit_code


def _deliveries(db):
    import sqlite3

    with sqlite3.connect(db) as conn:
        conn.row_factory = sqlite3.Row
        return [dict(r) for r in conn.execute("SELECT reminder, rung, recipient FROM delivery")]


def test_the_upgrade_marks_where_the_text_rules_begin(old, tmp_path):
    """Acts recorded before the upgrade are judged by the text rules of their day (no false
    alarm on an honest old log); every act after it by today's (issue 15 item 9)."""
    import sqlite3

    assert 0 == old("init").exit_code
    db = sqlite3.connect(tmp_path / "kaigi.db")
    assert [("133",)] == db.execute("SELECT value FROM kaigi_meta WHERE key = 'text_rules_from'").fetchall()
    refused = old("--as", "yamamoto", "item", "file", "予算\u202e承認済み")
    assert 2 == refused.exit_code and "U+202E" in refused.output
