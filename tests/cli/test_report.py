"""`audit report ITEM` (issue 11): one item's whole story for an auditor, in Japanese and
English: each act re-decided, the sittings with who was present, refusals, the log's head."""

from tests.conftest import held


def test_the_report_tells_the_whole_story(svc, kaigi):
    m = held(svc, "yamamoto", "staff", [1], attendees=["nakamura"])
    svc.advance("yamamoto", 1, "refer", meeting=m, note="計画案を作成")
    try:
        svc.advance("nakamura", 1, "refer")
    except Exception:  # noqa: BLE001 (a refusal the report must show)
        pass
    r = kaigi("--lang", "ja", "--as", "sato", "audit", "report", "1")
    assert r.exit_code == 0, r.output
    text = r.stdout
    assert text.startswith("# 案件1「")
    for part in ("## 経過", "## 扱った会議", "会議1（担当者会議）", "出席: 中村 八郎", "計画案を作成", "要綱 2024-10-01 に照らして許可",
                 "## 拒否された操作", "中村 八郎 —", "## この報告の基になった記録", "kaigi audit verify --checkpoint"):
        assert part in text, part
    assert "はい: 許可" not in text and "この案件の結果: 付議" in text and "(開催済)" in text  # issue 16: in words
    en = kaigi("--lang", "en", "--as", "sato", "audit", "report", "1").stdout
    assert en.startswith("# Item 1, ") and "## Sittings" in en and "Present: " in en


def test_a_report_needs_a_member_and_an_item(demo_cli):
    assert demo_cli("--as", "nobody", "audit", "report", "1").exit_code == 3
    assert demo_cli("--as", "sato", "audit", "report", "99").exit_code == 5


# ---------------------------------------------------------------- issue 15 (input): what the report quotes stays quoted
FORGED = "# 承認済み\n| 1 | forged | はい |"
TITLE = "# 承認済み | 1 | forged | <script>alert(1)</script> `code` *強調* [link](http://x) &#x202E; ~~消~~"
NOTE = "計画案\n# 承認済み\n| 99 | forged | はい: 許可 |\n<img src=x onerror=alert(1)>\n- 箇条\n1. 一\n> 引用"


def _parser():
    markdown_it = __import__("pytest").importorskip("markdown_it", reason="markdown-it-py (the test extra) parses it")
    return markdown_it.MarkdownIt("commonmark").enable(["table", "strikethrough"])


def _structure(md: str) -> dict:
    tokens = _parser().parse(md)
    kinds = [t.type for t in tokens]
    inline = [c for t in tokens if t.type == "inline" for c in (t.children or [])]
    def text(inline: object) -> str:  # what a reader sees of a heading
        return "".join(c.content for c in (inline.children or []) if c.type in ("text", "code_inline"))

    return {"h1": [text(tokens[i + 1]) for i, t in enumerate(tokens) if t.type == "heading_open" and t.tag == "h1"],
            "headings": [text(tokens[i + 1]) for i, t in enumerate(tokens) if t.type == "heading_open"],
            "rows": kinds.count("tr_open"), "cells_per_row": _cells(tokens), "tables": kinds.count("table_open"),
            "html": [t for t in tokens + inline if t.type.startswith("html")],
            "links": [c for c in inline if c.type in ("link_open", "image")],
            "emphasis": [c for c in inline if c.type in ("em_open", "strong_open", "s_open")],
            "code": [c.content for c in inline if c.type == "code_inline"],
            "lists": kinds.count("ordered_list_open") + kinds.count("blockquote_open")}


def _cells(tokens: list) -> list[int]:
    rows, n = [], 0
    for t in tokens:
        if t.type == "tr_open":
            n = 0
        elif t.type in ("td_open", "th_open"):
            n += 1
        elif t.type == "tr_close":
            rows.append(n)
    return rows


def test_md_quotes_a_forged_heading_and_table_row_as_literal_text():
    """The title of the issue: `# 承認済み\\n| 1 | forged |` quoted in a table cell and a heading
    stays one cell of one row, no heading of its own (a real CommonMark+GFM-table parser says so)."""
    from engine.app.report import _md

    md = (f"# 案件1「{_md(FORGED)}」の記録\n\n| # | what |\n|---|---|\n| 1 | {_md(FORGED)} |\n\n"
          f"{_md(FORGED)}\n\n{_md('1. 承認 <b>済</b>')}\n")  # quoted text where a line starts, too
    s = _structure(md)
    assert s["headings"] == ["案件1「# 承認済み | 1 | forged | はい |」の記録"]
    assert s["rows"] == 2 and s["cells_per_row"] == [2, 2] and s["lists"] == 0 and s["html"] == []
    html = _parser().render(md)
    assert "# 承認済み | 1 | forged | はい |" in html and "<h1>案件1「# 承認済み" in html


def test_the_report_quotes_titles_and_notes_without_forging_structure(svc):
    """Titles and notes cannot add a heading, a table row, HTML, a link, emphasis or code to
    the auditor's report (on main a note's `# 承認済み` line became a heading, its `| 99 |` a row)."""
    import pytest

    from engine.app.report import item_report
    from engine.core.errors import BadInput

    with pytest.raises(BadInput):
        svc.file_item("yamamoto", FORGED)  # a title is one line (engine.core.text)
    item = svc.file_item("yamamoto", TITLE, note=NOTE).fact.item
    svc.advance("yamamoto", item, "skip", note=NOTE)
    with svc.read() as q:
        acts = len(q.history(item))
    for lang in ("ja", "en"):
        md = item_report(svc, item, lang)
        s = _structure(md)
        assert len(s["h1"]) == 1 and "# 承認済み | 1 | forged |" in s["h1"][0], s["h1"]
        assert not any("承認済み" in h for h in s["headings"][1:]), s["headings"]
        assert s["tables"] == 1 and s["rows"] == acts + 1 and set(s["cells_per_row"]) == {6}, s
        assert s["html"] == [] and s["links"] == [] and s["lists"] == 0, s
        assert [e.type for e in s["emphasis"]] == ["strong_open"]  # the report's own: the state in bold
        assert "code" not in s["code"]
        html = _parser().render(md)
        assert "<script>" not in html and "<img" not in html and "\u202e" not in html
        assert "&lt;script&gt;" in html and "&amp;#x202E;" in html
