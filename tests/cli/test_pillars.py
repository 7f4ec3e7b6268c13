"""R-X1: the four pillars of 第3 as rulebook data; an item names the pillars it serves (CLI,
engine, replay); `item list --pillar`; the progress report groups by pillar and station."""

import json
from pathlib import Path

import pytest

from engine.core.errors import BadInput
from tests.cli.test_papers import needs_fonts, needs_tools, text_of
from tests.conftest import fingerprint
from workflows.loader import load_rulebook

BOOKS = Path(__file__).resolve().parents[2] / "workflows" / "rulebooks"
TITLES = {"policing": "各種警察活動の推進", "liaison": "関係行政機関等との連携",
          "fact_finding": "実態把握の推進", "enforcement": "違法行為に対する厳正な取締り"}


@pytest.mark.parametrize("name", ["ibaraki-2024-10-01.toml", "ibaraki-2023-07-03.toml"])
def test_r_x1_rulebooks_declare_the_four_pillars(name):
    book = load_rulebook(BOOKS / name)
    assert {k: p.title.ja for k, p in book.pillars.items()} == TITLES
    assert all(p.title.en for p in book.pillars.values())


def test_r_x1_rulebook_check_refuses_a_bad_pillar_key(kaigi, tmp_path):
    text = (BOOKS / "ibaraki-2024-10-01.toml").read_text(encoding="utf-8")
    bad = tmp_path / "bad.toml"
    bad.write_text(text.replace("[pillars.fact_finding]", "[pillars.\"実態\"]"), encoding="utf-8")
    r = kaigi("rulebook", "check", str(bad))
    assert r.exit_code != 0 and "pillars" in r.output
    assert kaigi("rulebook", "check", str(BOOKS / "ibaraki-2024-10-01.toml")).exit_code == 0


def test_r_x1_file_with_pillars_show_and_list_filter(demo_cli):
    r = demo_cli("--as", "yamamoto", "--json", "item", "file", "柱の案件", "--pillar", "liaison",
                 "--pillar", "enforcement")
    assert r.exit_code == 0, r.output
    new = json.loads(r.stdout)["id"] if "id" in json.loads(r.stdout) else json.loads(r.stdout)["events"][0]["item"]
    shown = json.loads(demo_cli("--as", "sato", "--json", "item", "show", str(new)).stdout)
    assert [p["key"] for p in shown["pillars"]] == ["liaison", "enforcement"]
    ja = demo_cli("--as", "sato", "--lang", "ja", "item", "show", str(new), env={"KAIGI_LANG": "ja"})
    assert "関係行政機関等との連携" in ja.output and "違法行為に対する厳正な取締り" in ja.output
    listed = json.loads(demo_cli("--as", "sato", "--json", "item", "list", "--pillar", "liaison").stdout)
    assert [v["id"] for v in listed] == [new]
    assert json.loads(demo_cli("--as", "sato", "--json", "item", "list", "--pillar", "policing").stdout) == []
    r = demo_cli("--as", "sato", "item", "list", "--pillar", "nope")
    assert r.exit_code == 2 and "nope" in r.output


def test_r_x1_an_unknown_pillar_is_refused_with_nothing_written(demo_cli):
    before = json.loads(demo_cli("--as", "sato", "--json", "item", "list").stdout)
    r = demo_cli("--as", "yamamoto", "item", "file", "柱の案件", "--pillar", "policing", "--pillar", "nope")
    assert r.exit_code == 2 and "nope" in r.output and "Traceback" not in r.output
    assert len(r.output.strip().splitlines()) == 1
    assert json.loads(demo_cli("--as", "sato", "--json", "item", "list").stdout) == before
    assert demo_cli("--as", "sato", "audit", "verify").exit_code == 0


def test_r_x1_pillars_are_folded_replayed_and_verified(svc):
    k = svc
    before = fingerprint(k.store)
    with pytest.raises(BadInput):
        k.file_item("yamamoto", "x", pillars=("unknown",))
    assert fingerprint(k.store)[1:] == before[1:]
    item = k.file_item("yamamoto", "実態把握の案件", pillars=("fact_finding", "policing")).fact.item
    with k.read() as q:
        assert q.item_record(item).pillars == ("fact_finding", "policing")
    plain = k.file_item("yamamoto", "柱なし").fact
    assert "pillars" not in plain.payload_text()  # an item without pillars: the event as before
    v = k.verify()
    assert v.ok, v.problem


@needs_tools
@needs_fonts
def test_r_x1_progress_report_groups_by_pillar_and_station(svc):
    k = svc
    both = k.file_item("yamamoto", "二つの柱の案件 TWO-PILLARS", pillars=("liaison", "enforcement")).fact.item
    k.file_item("yamamoto", "柱なしの案件 NO-PILLAR")
    text = " ".join(text_of(k.print_paper("sato", "progress").pdf).split())
    assert "関係行政機関等との連携" in text and "違法行為に対する厳正な取締り" in text and "未指定" in text
    assert text.count("TWO-PILLARS") == 2  # under both of its pillars
    i, j, n = (text.index("関係行政機関等との連携"), text.index("違法行為に対する厳正な取締り"), text.index("未指定"))
    assert i < j < n  # the rulebook's order, the unassigned last
    assert i < text.index("TWO-PILLARS") < j and text.index("NO-PILLAR") > n
    assert both


def test_r_x1_rulebook_diff_lists_a_changed_pillar():
    from workflows.compare import diff
    from workflows.loader import parse_rulebook

    text = (BOOKS / "ibaraki-2024-10-01.toml").read_text(encoding="utf-8")
    a = parse_rulebook(text)
    b = parse_rulebook(text.replace('ja = "実態把握の推進"', 'ja = "実態の把握"'))
    keys = [c.key if hasattr(c, "key") else str(c) for c in diff(a, b)]
    assert any("pillars.fact_finding" in k for k in keys), keys
    assert not [k for k in map(str, diff(load_rulebook(BOOKS / "ibaraki-2023-07-03.toml"), a)) if "pillars" in k]


def _export(demo_cli, tmp_path, fmt, lang):
    out = tmp_path / f"items-{lang}.{fmt}"
    r = demo_cli("--as", "sato", "--lang", lang, "item", "export", "--format", fmt, "-o", str(out),
                 env={"KAIGI_LANG": lang})
    assert r.exit_code == 0, r.output
    if fmt == "csv":
        import csv
        import io

        return list(csv.reader(io.StringIO(out.read_bytes().decode("utf-8-sig"))))
    from openpyxl import load_workbook

    return [list(row) for row in load_workbook(out).active.iter_rows(values_only=True)]


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_r_x1_item_export_carries_each_items_pillars(demo_cli, tmp_path, fmt):
    """R-X1: `item export` has a pillars column (柱): the titles in the CLI language, joined by
    「、」 in Japanese and "; " in English, empty for an item that names none."""
    r = demo_cli("--as", "yamamoto", "--json", "item", "file", "柱の案件", "--pillar", "liaison",
                 "--pillar", "enforcement")
    assert r.exit_code == 0, r.output
    ja = _export(demo_cli, tmp_path, fmt, "ja")
    col = ja[0].index("柱")
    by_title = {row[1]: row[col] for row in ja[1:]}
    assert by_title["柱の案件"] == "関係行政機関等との連携、違法行為に対する厳正な取締り"
    assert all(v in ("", None) for t, v in by_title.items() if t != "柱の案件")
    en = _export(demo_cli, tmp_path, fmt, "en")
    col = en[0].index("Pillars")
    titles = [en_title for en_title in (load_rulebook(BOOKS / "ibaraki-2024-10-01.toml").pillars[k].title.en
                                        for k in ("liaison", "enforcement"))]
    assert {row[1]: row[col] for row in en[1:]}["柱の案件"] == "; ".join(titles)
