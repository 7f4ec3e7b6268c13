"""`kaigi item list --search/--team` and `kaigi item export` (issue 16, item 4), on both
engines: the same engine functions as the web's `/items` and `/items.csv|xlsx`, exit codes
of CLI.md. Who finds what (R-R1) is in tests/cli/test_visibility.py's table."""

import csv
import io
import json
import re

import pytest


def ids(run, *args: str) -> list[int]:
    r = run("--as", "sato", "--json", "item", "list", *args)
    assert r.exit_code == 0, r.output
    return [v["id"] for v in json.loads(r.stdout)]


def test_item_list_searches_words_of_title_and_note(demo_cli):
    assert ids(demo_cli, "--search", "合同パトロール") == [1]
    assert ids(demo_cli, "--search", "ＶＯＬＵＮＴＥＥＲ") == [1]  # full-width, upper case: the note's word
    assert ids(demo_cli, "--search", "ﾌﾞﾛｰｶｰ") == [3]  # half-width katakana
    assert ids(demo_cli, "--search", "volunteer brokers") == []  # every word
    assert ids(demo_cli, "--team", "chiiki") == [1, 2]
    assert ids(demo_cli, "--team", "chiiki", "--search", "110番") == [2]
    assert ids(demo_cli, "--state", "filed", "--limit", "2") == [1, 2]
    assert ids(demo_cli, "--state", "filed", "--limit", "2", "--offset", "2") == [3, 4]


def test_item_export_csv_to_stdout_and_files(demo_cli, tmp_path, monkeypatch):
    r = demo_cli("--as", "sato", "item", "export", "--team", "chiiki", "-o", "-")
    assert r.exit_code == 0, r.output
    assert r.stdout.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(r.stdout[1:])))
    assert rows[0][:3] == ["ID", "Title", "State"] and [x[0] for x in rows[1:]] == ["1", "2"]
    assert re.fullmatch(r"20[0-9]{2}-[01][0-9]-[0-3][0-9] [0-2][0-9]:[0-5][0-9]", rows[1][6])  # Japan time
    assert rows[1][5] == "Nanako Yamamoto"  # filed by, by name
    monkeypatch.chdir(tmp_path)
    r = demo_cli("--as", "sato", "item", "export", "--search", "ブローカー")
    assert r.exit_code == 0, r.output
    data = (tmp_path / "items.csv").read_bytes()
    assert data.startswith(b"\xef\xbb\xbf") and "ブローカー".encode() in data
    assert "items.csv" in r.stderr
    r = demo_cli("--as", "sato", "--lang", "ja", "item", "export", "--format", "xlsx")
    assert r.exit_code == 0, r.output
    from openpyxl import load_workbook

    ws = load_workbook(tmp_path / "items.xlsx").active
    assert ws["A1"].value == "番号" and [c.value for c in ws["A"][1:]] == [1, 2, 3, 4]
    assert ws["G2"].is_date


@pytest.mark.parametrize("args,code,ours", [
    (["item", "list", "--state", "nope"], 2, True),
    (["item", "list", "--team", "nope"], 2, True),
    (["item", "list", "--search", "x" * 201], 2, True),
    (["item", "list", "--station", "nowhere"], 5, True),
    (["item", "export", "--state", "nope"], 2, True),
    (["item", "export", "--format", "xlsx", "-o", "-"], 2, True),
    (["item", "export", "-o", "/nonexistent/dir/items.csv"], 2, True),
    (["item", "list", "--limit", "0"], 2, False),  # click's usage line: the bound is in --help
    (["item", "list", "--limit", "201"], 2, False),
    (["item", "export", "--format", "ods"], 2, False),
])
def test_bad_input_is_one_line_and_its_exit_code(demo_cli, args, code, ours):
    r = demo_cli("--as", "sato", *args)
    assert r.exit_code == code, r.output
    assert "Traceback" not in r.output and r.stdout == ""
    if ours:
        assert len(r.stderr.strip().splitlines()) == 1, r.stderr  # the engine's one line
