"""R-X1 on the web: the filing form's pillar checkboxes (Japanese titles), the API's `pillars`
(an enum of the adopted rulebooks), an unknown pillar refused with nothing written, the
board and item page showing pillars, `/items?pillar=` and `GET /api/v1/items?pillar=`."""

from tests.conftest import fingerprint
from tests.web.test_api import client, token


def test_r_x1_file_with_pillars_from_the_board_form(real, browser):
    b = browser(real)
    b.login("yamamoto")
    board = b.get("/board")
    assert "実態把握の推進" in board.text and 'name="pillar" value="fact_finding"' in board.text
    r = b.post("/items", {"title": "柱つき起案", "note": "", "pillar": ["fact_finding", "liaison"]}, page="/board")
    assert r.status_code == 200 and "実態把握の推進" in r.text and "関係行政機関等との連携" in r.text
    item = int(r.url.path.rsplit("/", 1)[1])
    with real.read() as q:
        assert q.item_record(item).pillars == ("fact_finding", "liaison")
    assert "実態把握の推進" in b.get("/board").text  # the card names its pillars
    found = b.get("/items?pillar=liaison")
    assert f'data-item="{item}"' in found.text and 'data-item="1"' not in found.text
    assert b.get("/items?pillar=nope").status_code == 400


def test_r_x1_an_unknown_pillar_from_the_form_is_refused(real, browser):
    b = browser(real)
    b.login("yamamoto")
    before = fingerprint(real.store)
    r = b.post("/items", {"title": "x", "pillar": ["nope"]}, page="/board")
    assert r.status_code == 400 and "nope" in r.text
    assert fingerprint(real.store)[1:] == before[1:]


def test_r_x1_the_api_files_and_filters_by_pillar(real):
    c, h = client(real), token(real, "yamamoto")
    doc = c.get("/api/openapi.json").json()
    enum = doc["components"]["schemas"]["FileItem"]["properties"]["pillars"]["items"]["enum"]
    assert set(enum) == {"policing", "liaison", "fact_finding", "enforcement"}
    before = fingerprint(real.store)
    r = c.post("/api/v1/items", headers=h, json={"title": "API", "pillars": ["nope"]})
    assert r.status_code == 400 and r.json()["error"]["kind"] == "bad_input"
    assert fingerprint(real.store)[1:] == before[1:]
    r = c.post("/api/v1/items", headers=h, json={"title": "API柱", "pillars": ["enforcement"]})
    assert r.status_code == 201, r.text
    new = r.json()["events"][0]["item"]
    got = c.get(f"/api/v1/items/{new}", headers=h).json()
    assert [p["key"] for p in got["pillars"]] == ["enforcement"]
    assert [v["id"] for v in c.get("/api/v1/items?pillar=enforcement", headers=h).json()] == [new]
    assert c.get("/api/v1/items?pillar=nope", headers=h).status_code == 400


def test_r_x1_the_web_export_carries_the_pillars(real, browser):
    """R-X1: `/items.xlsx` (and `.csv`) have a 柱 column: the item's pillar titles, joined by 、."""
    import io

    from openpyxl import load_workbook

    b = browser(real)
    b.login("yamamoto")
    r = b.post("/items", {"title": "柱つき出力", "note": "", "pillar": ["fact_finding", "liaison"]}, page="/board")
    assert r.status_code == 200
    rows = list(load_workbook(io.BytesIO(b.get("/items.xlsx").content)).active.iter_rows(values_only=True))
    col = rows[0].index("柱")
    assert {row[1]: row[col] for row in rows[1:]}["柱つき出力"] == "実態把握の推進、関係行政機関等との連携"
    assert "実態把握の推進、関係行政機関等との連携" in b.get("/items.csv").content.decode("utf-8-sig")
