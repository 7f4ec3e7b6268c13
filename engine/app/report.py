"""`audit report ITEM`: one item's whole story as a page an auditor can file (Markdown).

What it is and where it stands; every act in order, who did it (for whom), when, under
which rulebook version, and whether re-deciding it now allows it; the sittings that dealt
with it (who convened and chaired, who was present, the outcome, the minutes); the
reminders that went out (to whom, how) and the attempts that were refused; the documents
by their sha256; and the head of the log the report was made from, to check it against.
"""

from typing import Any

from engine.core.text import BIDI, ZERO_WIDTH
from engine.i18n import t, when


_BREAKS = str.maketrans({c: " " for c in "\r\n\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"})
_INLINE = frozenset("\\`*_[]<>|~&!")  # emphasis, code, links and images, HTML and entities, table cells
_LEAD = frozenset("#+-=>")  # a heading, a list item, a setext underline or a quote where a line starts


def _md(text: Any) -> str:
    """What the report quotes (a title, a note, a name, minutes, a refusal's words), as
    literal Markdown text on one line: line breaks become spaces, and what could make
    emphasis, code, a link, an HTML tag, an entity or a table cell is backslash-escaped (a
    leading `#`, `-`, `1.` too). A title like `# 承認済み` followed by a forged table row then
    reads as what it is, quoted text, in any CommonMark or GFM reader."""
    plain = str(text if text is not None else "").translate(_BREAKS)
    out = "".join("\\" + c if c in _INLINE else _shown(c) for c in plain)
    if out[:1] in _LEAD:
        return "\\" + out
    digits = len(out) - len(out.lstrip("0123456789"))
    if digits and out[digits:digits + 1] in (".", ")"):
        return out[:digits] + "\\" + out[digits:]
    return out


def _shown(c: str) -> str:
    """A control, bidi or zero-width character a record kept from before they were refused
    (engine.core.text) is shown by its code point: it must not reorder or hide the report."""
    if c in BIDI or c in ZERO_WIDTH or (c < " " and c != "\t") or "\x7f" <= c <= "\x9f":
        return f"(U+{ord(c):04X})"
    return c


def item_report(kaigi: Any, item_id: int, lang: str = "ja", viewer: str | None = None) -> str:
    """The report as `viewer` may see it (R-R1): a sitting they may not see is left out."""
    import datetime as dt

    def at(text: str | None) -> str:
        return when(dt.datetime.fromisoformat(text), lang) if text else "-"

    with kaigi.read(viewer=viewer) as q:
        view = q.item(item_id, lang)
        history = q.history(item_id, lang)
        meetings = sorted({e["meeting"] for e in history
                           if e["meeting"] is not None and q.sees_meeting_id(e["meeting"])})
        sittings = [q.meeting(m, lang) for m in meetings]
        head = q.tx.head()
        verdict = {w["seq"]: w["verdict"] for w in q.replay_view(item_id, lang)}  # each act's verdict in words
    out = [f"# {t('report.title', lang, id=view['id'], title=_md(view['title']))}", ""]
    out += [f"- {t('report.state', lang)}: **{_md(view['state_title'])}** (`{view['state']}`)",
            f"- {t('report.body', lang)}: {_md(view['body_name'])}"
            + (f" · {_md(view['team_title'])}" if view["team_title"] else ""),
            f"- {t('report.filed', lang)}: {_md(view['filed_by_name'])}, {at(view['filed_at'])}"]
    if view["waiting_for"]:
        out.append(f"- {t('report.waiting', lang)}: {_md(view['waiting_for'])}")
    if view["note"]:
        out.append(f"- {t('report.note', lang)}: {_md(view['note'])}")
    out += ["", f"## {t('report.acts', lang)}", "",
            f"| # | {t('col.at', lang)} | {t('col.actor', lang)} | {t('report.what', lang)} | "
            f"{t('col.rulebook', lang)} | {t('col.allowed', lang)} |", "|---|---|---|---|---|---|"]
    for e in history:
        who = e["actor_name"] + (f" ({t('report.for', lang, name=e['authority_name'])})"
                                 if e["authority"] != e["actor"] else "")
        judged = verdict.get(e["seq"], "-")
        note = e["note"] if e["type"] != "ActRefused" else None  # a refusal's reason is in its summary
        out.append(f"| {e['seq']} | {_md(at(e['at']))} | {_md(who)} `{e['identity'] or '-'}` | {_md(e['summary'])}"
                   + (f" — {_md(note)}" if note else "") + f" | {_md(e['rulebook'])} | {_md(judged)} |")
    if sittings:
        out += ["", f"## {t('report.sittings', lang)}", ""]
        for m in sittings:
            present = [_md(p["name"]) for p in m["people"] if p["present"]]
            out += [f"### {t('report.sitting', lang, id=m['id'], title=_md(m['title']))}", "",
                    f"- {t('report.chair', lang)}: {_md(m['chair_name'])}; {t('report.starts', lang)}: {at(m['starts_at'])}"
                    + (f"; {t('report.sat', lang)}: {at(m['sat_at'])}" if m["status"] == "held" else "")
                    + f" ({m['status_title']})",
                    f"- {t('report.present', lang)}: {('、' if lang == 'ja' else ', ').join(present) or '-'}",
                    f"- {t('report.outcome', lang)}: {_md(m['outcome_titles'].get(str(item_id), '-'))}"]
            for x in m["minutes"]:
                approved = t("report.approved", lang, name=x["approved_by_name"]) if x["approved_by"] else \
                    t("report.unapproved", lang)
                out.append(f"- {t('report.minutes', lang, n=x['n'])} ({approved}, sha256 `{x['sha256'][:16]}…`): "
                           f"{_md(x['text'][:500])}")
            out.append("")
    sent = [e for e in history if e["type"] in ("ReminderDue", "ReminderSent", "ReminderFailed")]
    refused = [e for e in history if e["type"] == "ActRefused"]
    out += ["", f"## {t('report.reminders', lang)}", ""]
    out += [f"- {at(e['at'])}: {_md(e['summary'])}" for e in sent] or [f"- {t('report.none', lang)}"]
    out += ["", f"## {t('report.refused', lang)}", ""]
    out += [f"- {at(e['at'])}: {_md(e['actor_name'])} — {_md(e['summary'])}" for e in refused] or [f"- {t('report.none', lang)}"]
    out += ["", f"## {t('report.anchor', lang)}", "",
            t("report.anchor_text", lang, seq=head.seq, hash=head.hash), ""]
    return "\n".join(out)
