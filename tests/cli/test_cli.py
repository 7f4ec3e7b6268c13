"""The command line contract of CLI.md: names, exit codes, JSON keys, --dry-run, one-line refusals."""

import json

import pytest


def js(result):
    return json.loads(result.stdout)


class TestHappyPath:
    def test_full_path_through_the_cli(self, demo_cli):
        """Staff meeting, team-lead meeting, council decision, two progress checks: item 1 closed."""
        k = demo_cli
        steps = [("yamamoto", "staff", ["--attendee", "nakamura", "--attendee", "yoshida"], "yamamoto", "refer"),
                 ("watanabe", "team_lead", [], "watanabe", "refer"),
                 ("sato", "council", [], "watanabe", "decide"),
                 ("sato", "council", [], "watanabe", "check"),
                 ("sato", "council", [], "sato", "close")]
        for convener, kind, extra, recorder, trigger in steps:
            r = k("--json", "--as", convener, "meeting", "convene", kind, "--at", "now", "--item", "1", *extra)
            assert r.exit_code == 0, r.output
            m = js(r)
            assert {"id", "kind", "body", "status", "starts_at", "convener", "chair", "items", "attendees",
                    "invited"} <= set(m)
            assert 0 == k("--as", convener, "meeting", "hold", str(m["id"])).exit_code
            r = k("--json", "--as", recorder, "item", "advance", "1", trigger, "--meeting", str(m["id"]))
            assert r.exit_code == 0, r.output
            assert {"seq", "type", "from", "to"} <= set(js(r)["event"])
        show = js(k("--json", "--as", "sato", "item", "show", "1"))
        assert "closed" == show["state"] and [] == show["next"]
        history = js(k("--json", "--as", "sato", "item", "history", "1"))
        acts = [e["type"] for e in history if e["type"].startswith("Item")]
        assert ["ItemFiled"] + ["ItemAdvanced"] * 5 == acts
        # facts only: no reminder bookkeeping in the history of a fresh walk (planned reminders are a projection)
        assert not {"ReminderSet", "ReminderCancelled"} & {e["type"] for e in history}
        assert {"seq", "at", "type", "actor", "authority", "from", "to", "meeting", "rulebook"} <= set(history[0])
        v = k("--json", "audit", "verify")
        assert 0 == v.exit_code and js(v)["ok"] is True

    def test_item_show_json_shape(self, demo_cli):
        """`item show --json` has id, title, body, state, version, waiting_for and next."""
        v = js(demo_cli("--json", "--as", "yamamoto", "item", "show", "1"))
        assert {"id", "title", "body", "state", "version", "waiting_for", "next"} <= set(v)
        assert {"trigger": "skip", "roles": ["implementation_manager"], "meeting": None}.items() <= v["next"][1].items()

    def test_item_file_prints_the_new_item(self, demo_cli):
        r = demo_cli("--json", "--as", "nakamura", "item", "file", "多言語の110番講習", "--team", "chiiki")
        assert 0 == r.exit_code
        assert {"id": 5, "state": "filed", "body": "hq"}.items() <= js(r).items()

    def test_roster_list_and_whoami(self, demo_cli):
        rows = js(demo_cli("--json", "--as", "sato", "roster", "list"))
        sato = next(r for r in rows if r["login"] == "sato")
        assert [{"role": "chief", "body": "hq"}] == [{"role": x["role"], "body": x["body"]} for x in sato["roles"]]
        me = js(demo_cli("--json", "--as", "matsumoto", "whoami"))
        assert ("matsumoto", ["station_chief"], ["mito"]) == (
            me["login"], [r["role"] for r in me["roles"]], [r["body"] for r in me["roles"]])

    def test_meeting_list_and_show(self, demo_cli):
        demo_cli("--as", "sato", "meeting", "convene", "council", "--at", "2026-12-01T10:00")
        rows = js(demo_cli("--json", "--as", "sato", "meeting", "list"))
        assert 1 == len(rows) and "2026-12-01T10:00:00+09:00" == rows[0]["starts_at"]
        assert "council" == js(demo_cli("--json", "--as", "sato", "meeting", "show", "1"))["kind"]


class TestRefusals:
    def test_exit_3_not_permitted_one_line(self, demo_cli):
        """R-T3 through the CLI: a team leader convening a team-lead meeting gets one line and exit 3."""
        r = demo_cli("--as", "nakamura", "meeting", "convene", "team_lead", "--at", "now")
        assert 3 == r.exit_code
        assert r.stderr.startswith("not permitted: only the general manager (総括責任者) convenes a team-lead meeting")
        assert "you hold team leader (班長)" in r.stderr
        assert 1 == len(r.stderr.strip().splitlines())
        assert [] == js(demo_cli("--json", "--as", "sato", "meeting", "list"))

    def test_exit_3_unknown_actor(self, demo_cli):
        r = demo_cli("--as", "nobody", "item", "show", "1")
        assert 3 == r.exit_code and "not on the roster" in r.stderr
        r = demo_cli("--as", "nobody", "item", "file", "x")
        assert 3 == r.exit_code

    def test_exit_4_no_such_trigger_here(self, demo_cli):
        r = demo_cli("--as", "watanabe", "item", "advance", "1", "decide")
        assert 4 == r.exit_code
        assert "cannot `decide`; possible: refer (staff meeting (担当者会議)), skip, withdraw" in r.stderr

    def test_exit_4_needs_a_meeting(self, demo_cli):
        r = demo_cli("--as", "yamamoto", "item", "advance", "1", "refer")
        assert 4 == r.exit_code and "give --meeting M" in r.stderr

    def test_exit_5_not_found(self, demo_cli):
        assert 5 == demo_cli("--as", "sato", "item", "show", "99").exit_code
        assert 5 == demo_cli("--as", "sato", "meeting", "show", "99").exit_code
        r = demo_cli("--as", "sato", "meeting", "convene", "council", "--at", "now", "--invite", "ghost")
        assert 5 == r.exit_code and "no member 'ghost'" in r.stderr

    def test_exit_2_bad_input(self, demo_cli):
        r = demo_cli("--as", "sato", "meeting", "convene", "council", "--at", "next tuesday")
        assert 2 == r.exit_code and "not a time" in r.stderr
        assert 2 == demo_cli("--as", "sato", "item", "advance", "1", "fly").exit_code
        assert 2 == demo_cli("--as", "sato", "meeting", "convene", "picnic", "--at", "now").exit_code
        assert 2 == demo_cli("--as", "sato", "item", "show", "one").exit_code

    def test_json_error_document(self, demo_cli):
        r = demo_cli("--json", "--as", "nakamura", "item", "advance", "1", "skip")
        assert 3 == r.exit_code
        assert {"code": 3, "kind": "not_permitted"}.items() <= js(r)["error"].items()

    def test_uninitialised_database(self, kaigi):
        r = kaigi("--as", "sato", "item", "show", "1")
        assert 4 == r.exit_code and "kaigi init" in r.stderr


class TestDryRun:
    @pytest.mark.parametrize("args", [
        ["--as", "yamamoto", "item", "advance", "1", "skip", "--dry-run"],
        ["--as", "yamamoto", "item", "file", "x", "--dry-run"],
        ["--as", "sato", "meeting", "convene", "council", "--at", "now", "--dry-run"],
    ])
    def test_dry_run_writes_nothing(self, demo_cli, args):
        before = demo_cli("--json", "audit", "verify").stdout
        r = demo_cli(*args)
        assert 0 == r.exit_code and r.stdout.startswith("would ")
        assert before == demo_cli("--json", "audit", "verify").stdout

    def test_dry_run_still_refuses(self, demo_cli):
        r = demo_cli("--as", "nakamura", "item", "advance", "1", "skip", "--dry-run")
        assert 3 == r.exit_code


class TestInit:
    def test_init_twice_adds_nothing(self, demo_cli):
        r = demo_cli("--json", "init", "--demo")
        assert 0 == r.exit_code and 0 == js(r)["events"]

    def test_every_command_has_help(self, kaigi):
        from cli import cli

        for name, cmd in cli.commands.items():
            assert cmd.help, name
            for sub in getattr(cmd, "commands", {}).values():
                assert sub.help and sub.get_short_help_str(), f"{name} {sub.name}"
