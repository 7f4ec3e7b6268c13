"""Papers that prove themselves (`kaigi document`): PDFs of a meeting's notice (招集通知),
its order of business (会議次第), its approved minutes (議事録), an item's report for an
auditor, and the council's progress report.

A paper is Jinja2 HTML and CSS (templates/ here, so the CLI prints without the web face)
rendered by WeasyPrint with the Noto CJK fonts embedded. Each carries its **anchor**: the
log's name (`kaigi_meta.log_id`), the sequence number and hash of the event it documents,
and those of the log's head when it was printed; in a footer on every page, as a QR code
(segno, SVG) and in the PDF's Keywords. Printing is an act: `DocumentPrinted` records the
PDF's sha256 and the anchor right after that head (engine.core.papers decides who may).

`paper(...)` is the one function a caller needs (the CLI, the web, the scheduler attaching
a notice to an invitation): it renders for a viewer in a language and returns a `Paper`
(its bytes, sha256 and anchor). `verify(...)` reads a paper back and judges it.
"""

import base64
import datetime as dt
import hashlib
import io
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.core.errors import NotFound, NotPossible
from engine.core.papers import KINDS, MEETING_PAPERS
from engine.i18n import era, t
from workflows.timezone import JST

TEMPLATES = Path(__file__).resolve().parent / "templates"
ANCHOR_RE = re.compile(r"kaigi-paper/1 log=(\S+) kind=([a-z]+) of=(\d+):([0-9a-f]{64}) head=(\d+):([0-9a-f]{64})")
_WEEKDAYS = "月火水木金土日"
UNASSIGNED = "-"  # the pillar of an item whose record names none (R-X1 fills it later)


@dataclass(frozen=True)
class Anchor:
    """Where a paper stands in the log: the log, what it documents, the head when printed."""

    log_id: str
    kind: str
    of_seq: int
    of_hash: str
    head_seq: int
    head_hash: str

    def text(self) -> str:
        return (f"kaigi-paper/1 log={self.log_id} kind={self.kind} of={self.of_seq}:{self.of_hash} "
                f"head={self.head_seq}:{self.head_hash}")

    @classmethod
    def parse(cls, text: str) -> "Anchor | None":
        m = ANCHOR_RE.search(" ".join(str(text).split()))
        if m is None:
            return None
        return cls(m[1], m[2], int(m[3]), m[4], int(m[5]), m[6])

    def as_dict(self) -> dict[str, Any]:
        return {"log_id": self.log_id, "kind": self.kind, "of_seq": self.of_seq, "of_hash": self.of_hash,
                "head_seq": self.head_seq, "head_hash": self.head_hash, "text": self.text()}


@dataclass(frozen=True)
class Paper:
    """A rendered paper: the PDF, its sha256, its anchor, and the file name it goes by."""

    pdf: bytes
    sha256: str
    anchor: Anchor
    filename: str
    recorded: int | None = None  # the DocumentPrinted event's seq, when printing was recorded


@dataclass(frozen=True)
class Verdict:
    """`document verify`: 0 vouched for, 7 altered or of another log, 2 not a kaigi paper."""

    code: int
    key: str
    anchor: Anchor | None = None
    printed_by: str | None = None
    printed_at: dt.datetime | None = None

    def as_dict(self, lang: str) -> dict[str, Any]:
        return {"code": self.code, "verdict": self.key.split(".")[-1], "message": self.message(lang),
                "anchor": self.anchor.as_dict() if self.anchor else None, "printed_by": self.printed_by,
                "printed_at": self.printed_at.isoformat() if self.printed_at else None}

    def message(self, lang: str) -> str:
        a = self.anchor
        return t(self.key, lang, kind=t(f"paper.kind.{a.kind}", lang) if a and a.kind in KINDS else "-",
                 seq=a.of_seq if a else "-", head=a.head_seq if a else "-", who=self.printed_by or "-",
                 log=a.log_id if a else "-")


# ---------------------------------------------------------------- words of an official paper
def official_when(at: dt.datetime, lang: str = "ja", date_only: bool = False) -> str:
    """`令和8年12月10日（木）午後2時00分` (Japan time; 元年 for the first year; noon is 午後0時);
    in English `Thursday, 10 December 2026, 2:00 p.m. JST`."""
    local = at.astimezone(JST)
    if lang == "ja":
        day = f"{era(local.date())}（{_WEEKDAYS[local.weekday()]}）"
        if date_only:
            return day
        half = "午前" if local.hour < 12 else "午後"
        return f"{day}{half}{local.hour % 12}時{local.minute:02d}分"
    day = f"{local:%A}, {local.day} {local:%B %Y}"
    if date_only:
        return day
    hour = local.hour % 12 or 12
    return f"{day}, {hour}:{local.minute:02d} {'a.m.' if local.hour < 12 else 'p.m.'} JST"


def pillars_of(item: Any) -> tuple[str, ...]:
    """The pillars of 第3 an item serves (R-X1), as rulebook keys; an item that names none is
    in the one group `-` (未指定 / not assigned)."""
    found = tuple(getattr(item, "pillars", ()) or ())
    return found or (UNASSIGNED,)


# ---------------------------------------------------------------- printing
def paper(kaigi: Any, kind: str, subject: int | None = None, *, viewer: str | None, lang: str = "ja",
          since: dt.datetime | None = None, until: dt.datetime | None = None, record: bool = True,
          actor: Any = None) -> Paper:
    """Render the paper `kind` about `subject` (a meeting for notice/agenda/minutes, an item
    for report, none for progress) as `viewer` may see it (R-R1: hidden is absent), in
    `lang`; with `record`, the print is recorded as `DocumentPrinted` by `actor` (default:
    the viewer) right after the head the anchor names, so `document verify` vouches for it.
    Without `record` (a copy the scheduler attaches to a mail), verify finds no print of it."""
    if kind not in KINDS:
        raise NotFound("paper.no_kind", kind=kind)
    if lang not in ("ja", "en"):
        lang = "ja"
    if record and actor is None and viewer is None:
        from engine.core.errors import NotPermitted

        raise NotPermitted("paper.no_post", rule="R-R1")  # a print is recorded as someone's act
    for _ in range(5):
        out = _render(kaigi, kind, subject, viewer, lang, since, until)
        if not record:
            return out
        try:
            seq = _record(kaigi, actor if actor is not None else viewer, kind, subject, lang, out)
        except _Moved:
            continue  # another act came between the rendering and the record: render again
        return Paper(out.pdf, out.sha256, out.anchor, out.filename, seq)
    raise NotPossible("paper.busy")


class _Moved(Exception):
    """The log's head moved after the paper was rendered."""


def _record(kaigi: Any, actor: Any, kind: str, subject: int | None, lang: str, out: Paper) -> int:
    from engine.core import papers as decide_papers

    item = subject if kind == "report" else None
    meeting = subject if kind in MEETING_PAPERS else None

    def build(ctx: Any, tx: Any) -> list[Any]:
        if tx.head().seq != out.anchor.head_seq:
            raise _Moved()
        return decide_papers.printed(ctx, kind, item, meeting, lang, out.sha256, out.anchor.of_seq,
                                     out.anchor.head_seq)
    outcome = kaigi.act(actor, "print_paper", build, about=(item, meeting))
    return int(outcome.event.seq)


def _render(kaigi: Any, kind: str, subject: int | None, viewer: str | None, lang: str,
            since: dt.datetime | None, until: dt.datetime | None) -> Paper:
    with kaigi.read(viewer=viewer) as q:
        log_id = q.tx.meta("log_id") or "-"
        head = q.tx.head()
        if kind in MEETING_PAPERS:
            ctx, of = _meeting_paper(q, kind, int(subject or 0), lang)
            name = f"{kind}-{subject}.pdf"
        elif kind == "report":
            ctx, of = _report_paper(kaigi, q, int(subject or 0), lang, viewer)
            name = f"report-{subject}.pdf"
        else:
            ctx, of = _progress_paper(q, lang, since, until), head
            name = "progress.pdf"
        now = q.now
    anchor = Anchor(log_id, kind, of.seq, of.hash, head.seq, head.hash)
    ctx.update(lang=lang, kind=kind, anchor=anchor.text(), qr=_qr(anchor.text()),
               printed=official_when(now, lang, date_only=True),
               w=lambda key, **kw: t(key, lang, **kw))
    html = _env().get_template(f"{kind}.html").render(**ctx)
    pdf = _pdf(html, anchor)
    return Paper(pdf, hashlib.sha256(pdf).hexdigest(), anchor, name)


def _latest(q: Any, *, item: int | None = None, meeting: int | None = None, type_: str | None = None) -> Any:
    """The last event about the subject (a print of it does not count), or of `type_`."""
    found = [e for e in q.tx.events(item=item, meeting=meeting)
             if e.type != "DocumentPrinted" and (type_ is None or e.type == type_)]
    return found[-1] if found else None


def _meeting_paper(q: Any, kind: str, meeting_id: int, lang: str) -> tuple[dict[str, Any], Any]:
    m = q.meeting_record(meeting_id)  # hidden or unknown: NotFound alike (R-R1)
    view = q.meeting_view(m, lang)
    book = q.book()
    mk = book.meetings.get(m.kind)
    of = _latest(q, meeting=m.id)
    minutes = []
    if kind == "minutes":
        minutes = [x for x in view["minutes"] if x["approved_by"]]
        of = _latest(q, meeting=m.id, type_="MinutesApproved")
        if not minutes or of is None:
            raise NotPossible("paper.no_minutes", id=m.id)
    names = {p["login"]: p["name"] for p in view["people"]}
    sat = m.sat_at or m.held_at
    return {"m": view, "title": view["title"], "clause": getattr(mk, "clause", "") if mk else "",
            "starts": official_when(m.starts_at, lang),
            "sat": official_when(sat, lang) if sat else None,
            "place": m.place or t("paper.place_tbd", lang),
            "attendees": [names.get(x, x) for x in m.attendees], "invited": [names.get(x, x) for x in m.invited],
            "present": [names.get(x, x) for x in m.present], "minutes": minutes,
            "approved": [official_when(dt.datetime.fromisoformat(x["approved_at"]), lang, True) for x in minutes]}, of


def _report_paper(kaigi: Any, q: Any, item_id: int, lang: str, viewer: str | None) -> tuple[dict[str, Any], Any]:
    from markdown_it import MarkdownIt

    from engine.app.report import item_report

    rec = q.item_record(item_id)
    of = _latest(q, item=rec.id)
    text = item_report(kaigi, item_id, lang, viewer=viewer)
    body = MarkdownIt("commonmark", {"html": False}).enable("table").render(text)
    return {"title": t("report.title", lang, id=rec.id, title=rec.title), "body": body}, of


def _progress_paper(q: Any, lang: str, since: dt.datetime | None, until: dt.datetime | None) -> dict[str, Any]:
    book = q.book()
    groups: dict[str, dict[str, list[dict[str, Any]]]] = {}
    overdue = total = 0
    for rec in q.tx.items():
        if not q.sees_item(rec):
            continue
        if since is not None and rec.updated_at < since:
            continue
        if until is not None and rec.filed_at > until:
            continue
        st = book.states.get(rec.state)
        late = _overdue(rec, q.now)
        row = {"id": rec.id, "title": rec.title, "state": st.title.in_(lang) if st else rec.state,
               "final": bool(st and st.final), "overdue": late,
               "updated": official_when(rec.updated_at, lang, date_only=True)}
        total += 1
        overdue += late
        for pillar in pillars_of(rec):  # R-X1: an item serving two pillars is under both
            groups.setdefault(pillar, {}).setdefault(q.body_name(rec.body, lang), []).append(row)
    order = [*book.pillars, *sorted(k for k in groups if k not in book.pillars and k != UNASSIGNED), UNASSIGNED]
    groups = {(t("paper.pillar_none", lang) if k == UNASSIGNED else
               book.pillars[k].title.in_(lang) if k in book.pillars else k): groups[k]
              for k in order if k in groups}
    period = None
    if since or until:
        period = t("paper.period", lang, since=official_when(since, lang, True) if since else "-",
                   until=official_when(until, lang, True) if until else "-")
    return {"title": t("paper.kind.progress", lang), "groups": groups, "total": total, "overdue": overdue,
            "period": period}


def _overdue(rec: Any, now: dt.datetime) -> bool:
    from engine.core import plan

    return plan.overdue(rec.reminders, now)  # R-N3: a planned deadline has passed


# ---------------------------------------------------------------- HTML to PDF
_ENV: Any = None


def _env() -> Any:
    global _ENV
    if _ENV is None:
        from jinja2 import Environment, FileSystemLoader, select_autoescape

        _ENV = Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=select_autoescape(["html"]))
    return _ENV


def _qr(text: str) -> str:
    import segno

    svg = segno.make(text, error="m").svg_inline(scale=2, border=2, omitsize=False)
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii")


def _pdf(html: str, anchor: Anchor) -> bytes:
    import logging

    from weasyprint import CSS, HTML

    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    logging.getLogger("fontTools").setLevel(logging.ERROR)
    css = CSS(filename=str(TEMPLATES / "paper.css"))
    return bytes(HTML(string=html, base_url=str(TEMPLATES)).write_pdf(stylesheets=[css]))


# ---------------------------------------------------------------- reading a paper back
def read_anchor(data: bytes) -> Anchor | None:
    """The anchor a PDF carries: its Keywords (pypdf), else its bytes as they are."""
    import logging

    logging.getLogger("pypdf").setLevel(logging.CRITICAL)  # a broken file's warnings are not the verdict's line
    try:
        from pypdf import PdfReader

        meta: Mapping[str, Any] = PdfReader(io.BytesIO(data)).metadata or {}
        found = Anchor.parse(str(meta.get("/Keywords", "")))
        if found is not None:
            return found
    except Exception:  # noqa: BLE001 (an altered or broken PDF: read its bytes instead)
        pass
    m = ANCHOR_RE.search(data.decode("latin-1"))
    return Anchor.parse(m[0]) if m else None


def verify(kaigi: Any, data: bytes, load: Callable[[], Any] | None = None) -> Verdict:
    """Whether this log vouches for the paper `data` (exit codes of `document verify`)."""
    if data.lstrip()[:5] != b"%PDF-":
        return Verdict(2, "paper.verify.not_pdf")
    anchor = read_anchor(data)
    if anchor is None:
        return Verdict(2, "paper.verify.no_anchor")
    sha = hashlib.sha256(data).hexdigest()
    with kaigi.store.read() as tx:
        if anchor.log_id != tx.meta("log_id"):
            return Verdict(7, "paper.verify.other_log", anchor)
        of = _at(tx, anchor.of_seq)
        head = _at(tx, anchor.head_seq)
        if of is None or head is None or of.hash != anchor.of_hash or head.hash != anchor.head_hash:
            return Verdict(7, "paper.verify.anchor_not_in_log", anchor)
        rec = _at(tx, anchor.head_seq + 1)
    if rec is None or rec.type != "DocumentPrinted":
        return Verdict(7, "paper.verify.not_recorded", anchor)
    d = rec.data
    if (d.get("sha256"), d.get("kind"), d.get("of_seq"), d.get("head_seq")) != (
            sha, anchor.kind, anchor.of_seq, anchor.head_seq):
        return Verdict(7, "paper.verify.altered", anchor)
    return Verdict(0, "paper.verify.ok", anchor, rec.actor, rec.at)


def _at(tx: Any, seq: int) -> Any:
    if not 0 < seq < 2**63 - 1:
        return None
    found = tx.events(after=seq - 1, limit=1)
    return found[0] if found and found[0].seq == seq else None
