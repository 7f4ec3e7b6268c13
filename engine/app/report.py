"""`audit report ITEM`: one item's whole story as a page an auditor can file (Markdown).

What it is and where it stands; every act in order, who did it (for whom), when, under
which rulebook version, and whether re-deciding it now allows it; the sittings that dealt
with it (who convened and chaired, who was present, the outcome, the minutes); the
reminders that went out (to whom, how) and the attempts that were refused; the documents
by their sha256; and the head of the log the report was made from, to check it against.
"""

from typing import Any

from engine.i18n import t, when


def _md(text: Any) -> str:
    """Text in a Markdown table cell: one line, pipes escaped."""
    return str(text if text is not None else "").replace("\n", " ").replace("|", "\\|")


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
    out = [f"# {t('report.title', lang, id=view['id'], title=view['title'])}", ""]
    out += [f"- {t('report.state', lang)}: **{view['state_title']}** (`{view['state']}`)",
            f"- {t('report.body', lang)}: {view['body_name']}" + (f" · {view['team_title']}" if view["team_title"] else ""),
            f"- {t('report.filed', lang)}: {view['filed_by_name']}, {at(view['filed_at'])}"]
    if view["waiting_for"]:
        out.append(f"- {t('report.waiting', lang)}: {view['waiting_for']}")
    if view["note"]:
        out.append(f"- {t('report.note', lang)}: {view['note']}")
    out += ["", f"## {t('report.acts', lang)}", "",
            f"| # | {t('col.at', lang)} | {t('col.actor', lang)} | {t('report.what', lang)} | "
            f"{t('col.rulebook', lang)} | {t('col.allowed', lang)} |", "|---|---|---|---|---|---|"]
    for e in history:
        who = e["actor_name"] + (f" ({t('report.for', lang, name=e['authority_name'])})"
                                 if e["authority"] != e["actor"] else "")
        judged = verdict.get(e["seq"], "-")
        note = e["note"] if e["type"] != "ActRefused" else None  # a refusal's reason is in its summary
        out.append(f"| {e['seq']} | {_md(at(e['at']))} | {_md(who)} `{e['identity'] or '-'}` | {_md(e['summary'])}"
                   + (f" — {_md(note)}" if note else "") + f" | {e['rulebook']} | {_md(judged)} |")
    if sittings:
        out += ["", f"## {t('report.sittings', lang)}", ""]
        for m in sittings:
            present = [p["name"] for p in m["people"] if p["present"]]
            out += [f"### {t('report.sitting', lang, id=m['id'], title=m['title'])}", "",
                    f"- {t('report.chair', lang)}: {m['chair_name']}; {t('report.starts', lang)}: {at(m['starts_at'])}"
                    + (f"; {t('report.sat', lang)}: {at(m['sat_at'])}" if m["status"] == "held" else "")
                    + f" ({m['status_title']})",
                    f"- {t('report.present', lang)}: {('、' if lang == 'ja' else ', ').join(present) or '-'}",
                    f"- {t('report.outcome', lang)}: {m['outcome_titles'].get(str(item_id), '-')}"]
            for x in m["minutes"]:
                approved = t("report.approved", lang, name=x["approved_by_name"]) if x["approved_by"] else \
                    t("report.unapproved", lang)
                out.append(f"- {t('report.minutes', lang, n=x['n'])} ({approved}, sha256 `{x['sha256'][:16]}…`): "
                           f"{_md(x['text'])[:500]}")
            out.append("")
    sent = [e for e in history if e["type"] in ("ReminderDue", "ReminderSent", "ReminderFailed")]
    refused = [e for e in history if e["type"] == "ActRefused"]
    out += ["", f"## {t('report.reminders', lang)}", ""]
    out += [f"- {at(e['at'])}: {e['summary']}" for e in sent] or [f"- {t('report.none', lang)}"]
    out += ["", f"## {t('report.refused', lang)}", ""]
    out += [f"- {at(e['at'])}: {e['actor_name']} — {e['summary']}" for e in refused] or [f"- {t('report.none', lang)}"]
    out += ["", f"## {t('report.anchor', lang)}", "",
            t("report.anchor_text", lang, seq=head.seq, hash=head.hash), ""]
    return "\n".join(out)
