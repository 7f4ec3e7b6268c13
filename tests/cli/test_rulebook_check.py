"""`kaigi rulebook check FILE` on another organisation's book (issue 19): every problem at
once, one line each (file, key, what is expected, what was found) in the CLI's language,
exit 2 (an input that does not parse, docs/cli.md), never a traceback; a good book exits 0."""

from pathlib import Path

from tests.unit.test_guide_book import guide_book_text


def bad_book(tmp_path: Path) -> Path:
    text = (guide_book_text()
            .replace('head = "ward_chief"', 'head = "mayor"', 1)
            .replace('start = "ward_filed"', 'start = "closed"', 1)
            .replace('reports_to = "city"', 'reports_to = "county"', 1)
            .replace("[triggers.escalate]", "[triggers.escalte]", 1)
            .replace('organise_top = ["mayor"]\n', "", 1))
    path = tmp_path / "bad.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_check_prints_every_problem_and_exits_2(kaigi, tmp_path):
    bad = bad_book(tmp_path)
    r = kaigi("rulebook", "check", str(bad))
    assert r.exit_code == 2 and "Traceback" not in r.output
    lines = r.stderr.strip().splitlines()
    assert all(line.startswith(f"{bad}: ") for line in lines)
    keys = [line.split(": ")[1] for line in lines]
    assert {"body_kinds.ward.head", "body_kinds.ward.start", "body_kinds.ward.reports_to", "triggers.escalte",
            "powers.organise_top"} <= set(keys)
    assert f"{bad}: body_kinds.ward.reports_to: a body kind (one of city, ward), got 'county'" in lines
    assert f"{bad}: powers.organise_top: roles defined under [roles], got unknown 'chief': kaigi's default, as " \
           "[powers] does not say organise_top; say organise_top = [\"ROLE\"] with a role of this book" in lines


def test_check_speaks_japanese_when_the_cli_does(kaigi, tmp_path):
    bad = bad_book(tmp_path)
    r = kaigi("--lang", "ja", "rulebook", "check", str(bad), env={"KAIGI_LANG": "ja"})
    assert r.exit_code == 2 and "Traceback" not in r.output
    lines = r.stderr.strip().splitlines()
    assert f"{bad}: body_kinds.ward.start: 開いた状態（ここで起案された案件が始まる状態）であるべきところ、" \
           "「closed」は終わりの状態です" in lines
    assert f"{bad}: triggers.escalte: いずれかの遷移の trigger（次のいずれか: close, decide, escalate, refer, " \
           "reject, report, table, withdraw）であるべきところ、「escalte」です" in lines


def test_check_json_lists_the_problems(kaigi, tmp_path):
    import json

    r = kaigi("--json", "rulebook", "check", str(bad_book(tmp_path)))
    assert r.exit_code == 2
    assert len(json.loads(r.stdout)["error"]["problems"]) >= 5


def test_the_guides_book_checks_ok(kaigi, tmp_path):
    good = tmp_path / "city.toml"
    good.write_text(guide_book_text(), encoding="utf-8")
    r = kaigi("rulebook", "check", str(good))
    assert r.exit_code == 0 and r.output.startswith(f"ok: {good} is rulebook 2025-04-01"), r.output
