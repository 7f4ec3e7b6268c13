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
