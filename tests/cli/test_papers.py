"""Papers that prove themselves (`kaigi document`, issue 17): what a reader of the PDF sees
(pdftotext), what a phone reads from its QR code (pdftoppm + zbarimg), and what
`document verify` answers for a fresh, an altered, a foreign and a non-paper file."""

import datetime as dt
import hashlib
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from engine.infra.clock import FrozenClock
from engine.papers import Anchor, official_when, pillars_of
from tests import visibility_world as vw
from tests.conftest import T0, make_svc

JST = dt.timezone(dt.timedelta(hours=9))
TOOLS = all(shutil.which(x) for x in ("pdftotext", "pdftoppm", "zbarimg"))
needs_tools = pytest.mark.skipif(not TOOLS, reason="poppler-utils (pdftotext, pdftoppm) or zbar-tools missing")


def _fonts() -> bool:
    out = subprocess.run(["fc-list", ":lang=ja"], capture_output=True, text=True) if shutil.which("fc-list") else None
    return bool(out and "Noto" in out.stdout)


needs_fonts = pytest.mark.skipif(not _fonts(), reason="fonts-noto-cjk missing: no Japanese glyphs to print")


def text_of(pdf: bytes) -> str:
    return subprocess.run(["pdftotext", "-layout", "-", "-"], input=pdf, capture_output=True, check=True).stdout.decode()


def qr_of(pdf: bytes, tmp: Path) -> str:
    (tmp / "p.pdf").write_bytes(pdf)
    subprocess.run(["pdftoppm", "-r", "300", "-png", "-f", "1", "-l", "1", str(tmp / "p.pdf"), str(tmp / "page")],
                   check=True)
    page = next(tmp.glob("page*.png"))
    return subprocess.run(["zbarimg", "--raw", "-q", str(page)], capture_output=True, text=True).stdout.strip()


# ---------------------------------------------------------------- the words of an official paper
class TestOfficialWords:
    def test_reiwa_date_with_weekday_and_afternoon(self):
        assert official_when(dt.datetime(2026, 12, 10, 14, 0, tzinfo=JST)) == "令和8年12月10日（木）午後2時00分"

    def test_first_year_is_gannen_and_reiwa_starts_1_may_2019(self):
        assert official_when(dt.datetime(2019, 5, 1, 9, 5, tzinfo=JST)) == "令和元年5月1日（水）午前9時05分"
        assert official_when(dt.datetime(2019, 4, 30, 9, 0, tzinfo=JST), date_only=True) == "平成31年4月30日（火）"

    def test_noon_is_afternoon_zero_and_utc_is_shown_in_japan_time(self):
        assert official_when(dt.datetime(2026, 12, 10, 3, 0, tzinfo=dt.UTC)).endswith("午後0時00分")

    def test_english(self):
        assert official_when(dt.datetime(2026, 12, 10, 14, 0, tzinfo=JST), "en") == \
            "Thursday, 10 December 2026, 2:00 p.m. JST"

    def test_r_x1_items_without_pillars_are_in_one_unassigned_group(self):
        class Rec:
            pass
        assert pillars_of(Rec()) == ("-",)
        r = Rec()
        r.pillars = ("実態把握の推進",)  # type: ignore[attr-defined]
        assert pillars_of(r) == ("実態把握の推進",)

    def test_anchor_reads_back_across_line_breaks(self):
        a = Anchor("log-1", "notice", 3, "a" * 64, 5, "b" * 64)
        assert Anchor.parse(a.text().replace(" of=", "\nof=")) == a


# ---------------------------------------------------------------- the papers, through the engine
@pytest.fixture
def world(db_url: str) -> Any:
    k = make_svc(db_url, FrozenClock(T0))
    s = vw.build(k)
    place = "本部4階 大会議室"
    m = int(k.convene("sato", "council", T0 + dt.timedelta(days=15), items=[s.hq_item],
                      invited=["matsumoto"], place=place).fact.meeting)
    yield k, s, m
    k.store.close()


@needs_tools
@needs_fonts
def test_notice_reads_back_in_japanese_with_a_qr_code_equal_to_its_anchor(world, tmp_path):
    """The 招集通知: title, 令和 date with weekday, place, chair, members, agenda, clause; the QR
    code decodes to the anchor printed in its footer and kept in its metadata."""
    k, _s, m = world
    p = k.print_paper("sato", "notice", m, lang="ja")
    text = text_of(p.pdf)
    for want in ("推進本部対策会議の開催について（通知）", "令和8年12月10日（木）午前10時00分", "本部4階 大会議室",
                 "議長", "佐藤 一郎", "渡辺 六郎", "松本 勇", vw.HQ_TITLE, "通達 第2 1(3)", "招集者"):
        assert want in text, want
    assert p.filename == f"notice-{m}.pdf"
    flat = " ".join(text.split())
    qr = qr_of(p.pdf, tmp_path)
    assert qr == p.anchor.text()
    assert qr in flat  # the same anchor, printed
    from pypdf import PdfReader
    import io
    assert PdfReader(io.BytesIO(p.pdf)).metadata["/Keywords"] == p.anchor.text()


@needs_tools
@needs_fonts
def test_agenda_in_english_and_place_undecided(world):
    k, s, _m = world
    council = s.council  # convened without a place
    p = k.print_paper("sato", "agenda", council, lang="en")
    text = " ".join(text_of(p.pdf).split())
    assert "HQ council: order of business" in text and "to be decided" in text and "Opening" in text
    ja = " ".join(text_of(k.print_paper("sato", "notice", council).pdf).split())
    assert "場所 未定" in ja


@needs_tools
@needs_fonts
def test_minutes_only_when_approved_with_attendance_and_outcomes(world):
    """R-M4: the minutes paper is the approved minutes; none approved: not possible."""
    from engine.core.errors import NotPossible

    k, s, _ = world
    with pytest.raises(NotPossible):
        k.print_paper("matsumoto", "minutes", s.mito_meeting)
    k.approve_minutes("matsumoto", s.mito_meeting)
    text = text_of(k.print_paper("matsumoto", "minutes", s.mito_meeting).pdf)
    assert "署推進本部対策会議 議事録" in text and vw.MITO_MINUTES in text and "松本 勇" in text
    assert "報告" in text or "report" in text  # the item's outcome in that sitting


@needs_tools
@needs_fonts
def test_progress_report_groups_by_pillar_and_station_and_marks_overdue(world):
    """R-X1 (pillars: one unassigned group until items carry them), R-N3 (overdue)."""
    k, _s, _ = world
    k.store.clock = lambda: T0 + dt.timedelta(days=200)  # every planned deadline has passed
    text = text_of(k.print_paper("sato", "progress").pdf)
    assert "推進状況報告書" in text and "未指定" in text and "常総警察署" in text and "水戸警察署" in text
    assert "期限超過" in text
    mine = text_of(k.print_paper("matsumoto", "progress").pdf)
    assert vw.MITO_TITLE in mine and not [x for x in (vw.JOSO_TITLE, vw.HQ_TITLE) if x in mine]  # R-R1


def test_r_r1_a_station_member_cannot_print_another_stations_meeting(world):
    from engine.core.errors import NotFound

    k, s, _ = world
    with pytest.raises(NotFound):
        k.print_paper("matsumoto", "notice", s.joso_meeting)
    with pytest.raises(NotFound):
        k.print_paper("matsumoto", "report", s.joso_item)


def test_printing_is_recorded_and_the_log_still_verifies(world):
    """DocumentPrinted: the PDF's sha256 and anchor, by the viewer; replay re-decides it."""
    k, s, _m = world
    p = k.print_paper("matsumoto", "report", s.mito_item, lang="en")
    with k.read() as q:
        e = q.tx.events(after=p.anchor.head_seq, limit=1)[0]
    assert (e.type, e.actor, e.item, e.data["sha256"]) == ("DocumentPrinted", "matsumoto", s.mito_item, p.sha256)
    assert hashlib.sha256(p.pdf).hexdigest() == p.sha256
    v = k.verify()
    assert v.ok, v.problem


def test_verify_answers_0_7_and_2(world, db_url, tmp_path):
    k, _s, m = world
    p = k.print_paper("sato", "notice", m)
    assert k.verify_paper(p.pdf).code == 0
    # one byte of its content changed
    i = p.pdf.index(b"stream\n") + 40
    altered = p.pdf[:i] + bytes([p.pdf[i] ^ 0x01]) + p.pdf[i + 1:]
    assert k.verify_paper(altered).code == 7
    # printed from another database
    other = make_svc("sqlite:///" + str(tmp_path / "other.db"), FrozenClock(T0))
    foreign = other.print_paper("sato", "progress")
    assert other.verify_paper(foreign.pdf).code == 0
    v = k.verify_paper(foreign.pdf)
    assert (v.code, v.key) == (7, "paper.verify.other_log")
    other.store.close()
    # not a PDF, and a PDF without an anchor
    assert k.verify_paper(b"hello").code == 2
    from weasyprint import HTML
    assert k.verify_paper(HTML(string="<p>plain</p>").write_pdf()).code == 2
    # a copy rendered without a record (what a mail attaches): this log does not vouch for it
    copy = k.print_paper("sato", "notice", m, record=False)
    assert k.verify_paper(copy.pdf).code == 7


# ---------------------------------------------------------------- the command line
def test_cli_prints_and_verifies(demo_cli, tmp_path):
    run = demo_cli
    out = tmp_path / "progress.pdf"
    r = run("--as", "sato", "--json", "document", "progress", "-o", str(out))
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert doc["file"] == str(out) and doc["sha256"] == hashlib.sha256(out.read_bytes()).hexdigest()
    r = run("--as", "sato", "document", "verify", str(out))
    assert r.exit_code == 0 and "vouches" in r.stdout and len(r.stdout.strip().splitlines()) == 1
    bad = tmp_path / "bad.pdf"
    data = out.read_bytes()
    bad.write_bytes(data[:2000] + bytes([data[2000] ^ 1]) + data[2001:])
    r = run("--as", "sato", "document", "verify", str(bad))
    assert r.exit_code == 7, r.output
    junk = tmp_path / "junk.txt"
    junk.write_text("not a paper")
    r = run("--as", "sato", "--json", "document", "verify", str(junk))
    assert r.exit_code == 2 and json.loads(r.stdout)["verdict"] == "not_pdf"
    r = run("--as", "sato", "audit", "report", "1", "--format", "pdf", "-o", str(tmp_path / "r.pdf"))
    assert r.exit_code == 0 and (tmp_path / "r.pdf").read_bytes()[:5] == b"%PDF-"
    r = run("--as", "sato", "document", "notice", "999", "-o", str(tmp_path / "n.pdf"))
    assert r.exit_code == 5 and not (tmp_path / "n.pdf").exists()
    r = run("--as", "sato", "audit", "verify")
    assert r.exit_code == 0, r.output
