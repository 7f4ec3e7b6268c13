"""Finding and overseeing (issue 16, item 4): search, filters, the overdue view, the
spreadsheets, on both engines, in the engine and through the browser.

The world: the demo's four HQ items (filed at NOW, a staff meeting due in 14 days), an item
of station A (mito) and one of station B (joso), each tabled and sat on in its station
council (the report due 7 days after), then a month passes: every one is overdue (R-N3).
Station B's title and note carry words station A's also has, so a search that looked at
hidden items would find them (R-R1).
"""

import csv
import datetime as dt
import io
from typing import Any

import pytest

from engine.app import finding
from engine.core.identity import Actor
from tests import visibility_world as vw

MITO = "水戸署 技能実習生ＡＢＣ講習 ｶﾀｶﾅ"
MITO_NOTE = "Zebra crossing 講話"
JOSO = "常総署 技能実習生ABC講習 JOSO-SECRET-ITEM"
JOSO_NOTE = "zebra JOSO-SECRET-NOTE"


def _sat(k: Any, chief: str, item: int) -> None:
    m = int(k.convene(Actor(chief, "web"), "station_council", k.now(), items=[item]).fact.meeting)
    k.hold(Actor(chief, "web"), m)


@pytest.fixture
def world(real, web_clock) -> Any:
    mito = k_file(real, "matsumoto", MITO, "mito", MITO_NOTE)
    joso = k_file(real, "inoue", JOSO, "joso", JOSO_NOTE)
    _sat(real, "matsumoto", mito)
    _sat(real, "inoue", joso)
    web_clock.advance(days=30)
    return {"k": real, "mito": mito, "joso": joso}


def k_file(k: Any, who: str, title: str, station: str | None, note: str = "", team: str | None = None) -> int:
    return int(k.file_item(Actor(who, "web"), title, station=station, note=note, team=team).fact.item)


def ids(k: Any, viewer: str, **f: Any) -> list[int]:
    with k.read(viewer=viewer) as q:
        return [r["id"] for r in finding.find(q, finding.Filters(**f), limit=200).rows]


# ---------------------------------------------------------------- the engine
def test_search_finds_by_words_of_title_and_of_note(world):
    k = world["k"]
    assert ids(k, "sato", q="合同パトロール") == [1]  # a Japanese substring of a title
    assert ids(k, "sato", q="volunteer crime-prevention") == [1]  # words of its note, both
    assert ids(k, "sato", q="volunteer brokers") == []  # every word must be there
    assert ids(k, "sato", q="ブローカー　取締り") == [3]  # an ideographic space separates words too
    assert ids(k, "sato", q="講話") == [2, world["mito"]]  # title of one, note of the other


def test_search_ignores_width_and_latin_case(world):
    k, mito, joso = world["k"], world["mito"], world["joso"]
    assert ids(k, "sato", q="abc") == [mito, joso]  # ＡＢＣ (full-width) and ABC alike
    assert ids(k, "sato", q="ａｂｃ") == [mito, joso]
    assert ids(k, "sato", q="カタカナ") == [mito]  # ｶﾀｶﾅ (half-width) in the title
    assert ids(k, "sato", q="ZEBRA") == [mito, joso]  # notes, any case
    assert ids(k, "sato", q="  ") == ids(k, "sato")  # no words: no search


def test_filters_combine(world):
    k, mito, joso = world["k"], world["mito"], world["joso"]
    assert ids(k, "sato", station="mito") == [mito]
    assert ids(k, "sato", station="水戸警察署", q="abc") == [mito]  # a station by its name too
    assert ids(k, "sato", team="chiiki") == [1, 2]
    assert ids(k, "sato", team="chiiki", q="110番") == [2]
    assert ids(k, "sato", state="filed") == [1, 2, 3, 4]
    assert ids(k, "sato", state="station_council", q="zebra") == [mito, joso]
    assert ids(k, "sato", state="filed", station="mito") == []


def test_overdue_is_a_deadline_passed_R_N3(real, web_clock):
    mito = k_file(real, "matsumoto", MITO, "mito")
    _sat(real, "matsumoto", mito)
    web_clock.advance(days=6)  # the report is due 7 days after the sitting; the staff meeting 14 after filing
    assert ids(real, "sato", overdue=True) == []
    web_clock.advance(days=2)
    assert ids(real, "sato", overdue=True) == [mito]
    web_clock.advance(days=7)
    assert ids(real, "sato", overdue=True) == [1, 2, 3, 4, mito]


def test_a_station_member_finds_only_what_they_may_see_R_R1(world):
    k, mito = world["k"], world["mito"]
    assert ids(k, vw.STATION_A) == [mito]
    assert ids(k, vw.STATION_A, q="abc") == [mito]  # station B's ABC is not counted
    assert ids(k, vw.STATION_A, q="zebra") == [mito]
    assert ids(k, vw.STATION_A, q="JOSO-SECRET") == []  # not even by its own words
    assert ids(k, vw.STATION_A, station="joso") == []
    assert ids(k, vw.STATION_A, overdue=True) == [mito]
    with k.read(viewer=vw.STATION_A) as q:
        assert finding.find(q, finding.Filters(q="abc")).total == 1
        rows = finding.export_rows(q, finding.Filters(), "ja")
        groups = finding.overdue(q, "ja")
    assert [r["id"] for r in rows] == [mito]
    assert [g["body"] for g in groups] == ["mito"]


def test_pages_are_bounded(world):
    k = world["k"]
    with k.read(viewer="sato") as q:
        first = finding.find(q, finding.Filters(), limit=2)
        second = finding.find(q, finding.Filters(), limit=2, offset=2)
        huge = finding.find(q, finding.Filters(), limit=10**9)
        default = finding.find(q, finding.Filters())
    assert [r["id"] for r in first.rows] == [1, 2] and first.total == 6 and first.pages == 3
    assert [r["id"] for r in second.rows] == [3, 4] and second.page == 2
    assert huge.limit == finding.MAX_PAGE and default.limit == finding.PAGE


def test_overdue_groups_by_station_and_by_the_role_that_must_act_R_N3(world):
    k, mito, joso = world["k"], world["mito"], world["joso"]
    with k.read(viewer="sato") as q:
        groups = finding.overdue(q, "ja")
    got = {g["body"]: {r["role"]: [v["id"] for v in r["items"]] for r in g["roles"]} for g in groups}
    assert got == {"hq": {"implementation_manager": [1, 2, 3, 4]},
                   "mito": {"station_chief": [mito]}, "joso": {"station_chief": [joso]}}
    assert next(g["body"] for g in groups) == "hq"
    assert {g["body"]: g["count"] for g in groups} == {"hq": 4, "mito": 1, "joso": 1}
    hq = groups[0]["roles"][0]
    assert hq["role_title"] == "実施責任者" and hq["count"] == 4 and hq["who"] == ["yamamoto"]
    assert hq["items"][0]["days"] == 16  # 30 days on, due 14 days after filing


# ---------------------------------------------------------------- the browser
@pytest.fixture
def pages(world, browser) -> Any:
    out = {}
    for login in ("sato", vw.STATION_A):
        out[login] = browser(world["k"])
        out[login].login(login)
    return out


def test_items_page_searches_and_links(world, pages):
    r = pages["sato"].get("/items", params={"q": "ａｂｃ", "overdue": "1"})
    assert r.status_code == 200
    assert f'href="/items/{world["mito"]}"' in r.text and f'href="/items/{world["joso"]}"' in r.text
    assert 'href="/items/1"' not in r.text
    assert "署対策会議" in r.text and "期限超過" in r.text  # state in words, overdue marked
    assert "<fieldset>" in r.text and "<legend>" in r.text and "<label" in r.text
    assert 'href="/items.csv?q=' in r.text and 'href="/items.xlsx?q=' in r.text  # the same filters
    r = pages["sato"].get("/items", params={"state": "filed", "team": "chiiki"})
    assert 'href="/items/1"' in r.text and 'href="/items/2"' in r.text and 'href="/items/3"' not in r.text
    nav = pages["sato"].get("/").text
    assert 'href="/items"' in nav and 'href="/overdue"' in nav


def test_items_page_pages(world, pages, monkeypatch):
    monkeypatch.setattr(finding, "PAGE", 4)
    r = pages["sato"].get("/items")
    assert 'data-item="4"' in r.text and 'data-item="5"' not in r.text and 'rel="next"' in r.text
    r = pages["sato"].get("/items", params={"page": "2"})
    assert 'data-item="5"' in r.text and 'data-item="1"' not in r.text and 'rel="prev"' in r.text
    assert 'rel="next"' not in r.text


@pytest.mark.parametrize("params", [{"state": "nope"}, {"team": "nope"}, {"page": "x"}, {"page": "0"},
                                    {"page": "9" * 40}, {"q": "x" * 201}, {"station": "nowhere"}])
def test_bad_filters_are_one_line_never_a_500(world, pages, params):
    r = pages["sato"].get("/items", params=params)
    assert r.status_code in (400, 404) and 'id="refusal"' in r.text
    for path in ("/items.csv", "/items.xlsx"):
        if "page" not in params:
            assert pages["sato"].get(path, params=params).status_code in (400, 404)


def test_a_station_member_never_finds_another_station_R_R1(world, pages):
    a = pages[vw.STATION_A]
    for params in ({}, {"q": "abc"}, {"q": "JOSO-SECRET"}, {"station": "joso"}, {"overdue": "1"}):
        r = a.get("/items", params=params)
        assert r.status_code == 200 and "JOSO-SECRET-ITEM" not in r.text and vw.HQ_TITLE not in r.text
        assert f'data-item="{world["joso"]}"' not in r.text and 'data-item="1"' not in r.text
        assert "JOSO-SECRET" not in a.get("/items.csv", params=params).content.decode("utf-8-sig")
        assert [row[0] for row in _xlsx(a.get("/items.xlsx", params=params).content)[1:]] in ([], [world["mito"]])
    assert "1 件中" in a.get("/items", params={"q": "abc"}).text  # the count too: only theirs
    r = a.get("/overdue")
    assert "JOSO-SECRET-ITEM" not in r.text and 'data-body="joso"' not in r.text and 'data-body="hq"' not in r.text
    assert f'data-item="{world["mito"]}"' in r.text


def test_csv_is_utf8_with_bom_in_japan_time(world, pages):
    r = pages["sato"].get("/items.csv", params={"station": "mito"})
    assert r.status_code == 200
    assert r.headers["content-type"] == "text/csv; charset=utf-8"
    assert r.headers["content-disposition"].startswith("attachment;")
    assert r.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(r.content[3:].decode("utf-8"))))
    assert rows[0] == ["番号", "件名", "状態", "部署", "担当班", "起案者", "起案日時", "更新日時", "期限超過",
                       "最も早い期限", "柱"]  # R-X1: the pillars last
    assert rows[1][:4] == [str(world["mito"]), MITO, "署対策会議付議", "水戸警察署"]
    assert rows[1][5] == "松本 勇"
    assert rows[1][6] == "2026-12-02 09:00"  # filed at NOW, 09:00 in Japan (00:00 UTC)
    assert rows[1][8] == "超過" and rows[1][9] == "2026-12-09 09:00"  # the report, 7 days after the sitting
    assert len(rows) == 2


def _xlsx(data: bytes) -> list[list[Any]]:
    from openpyxl import load_workbook

    ws = load_workbook(io.BytesIO(data)).active
    return [list(r) for r in ws.iter_rows(values_only=True)]


def test_xlsx_reads_back_with_dates(world, pages):
    from openpyxl import load_workbook

    r = pages["sato"].get("/items.xlsx", params={"q": "abc"})
    assert r.status_code == 200 and r.headers["content-type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    assert r.headers["content-disposition"].startswith("attachment;")
    rows = _xlsx(r.content)
    assert rows[0][:3] == ["番号", "件名", "状態"] and len(rows) == 3
    assert rows[1][:2] == [world["mito"], MITO] and rows[2][:2] == [world["joso"], JOSO]
    assert rows[1][6] == dt.datetime(2026, 12, 2, 9, 0)  # an Excel date, in Japan time
    ws = load_workbook(io.BytesIO(r.content)).active
    assert ws["G2"].number_format == "yyyy-mm-dd hh:mm" and ws["G2"].is_date
    assert ws.column_dimensions["B"].width > 20
    en = pages["sato"].get("/lang/en")
    assert en.status_code == 200
    rows = _xlsx(pages["sato"].get("/items.xlsx", params={"q": "abc"}).content)
    assert rows[0][:3] == ["ID", "Title", "State"]


def test_overdue_page_groups_by_station_and_role_R_N3(world, pages):
    r = pages["sato"].get("/overdue")
    assert r.status_code == 200
    html = r.text
    assert html.index('data-body="hq"') < html.index('data-body="mito"')
    assert 'data-role="implementation_manager" data-count="4"' in html
    assert 'data-role="station_chief" data-count="1"' in html
    assert "実施責任者の対応待ち（4 件）" in html and "担当: 山本" in html
    assert f'href="/items/{world["joso"]}"' in html
    r = pages["sato"].get("/overdue", params={"station": "mito"})
    assert 'data-body="hq"' not in r.text and 'data-body="mito"' in r.text


@pytest.mark.parametrize("query", ["q=%ED%A0%80", "q=%00", "station=%00", "station=%ED%A0%80", "team=%00",
                                   "state=%00", "page=%C2%B2", "q=%E2%80%AE", "overdue=%00"])
def test_nasty_filters_are_answered_never_a_500(world, pages, query):
    for path in ("/items", "/items.csv", "/items.xlsx", "/overdue"):
        assert pages["sato"].get(f"{path}?{query}").status_code in (200, 400, 404), (path, query)
