"""Every reminder a person reads is the same, byte for byte, however the scheduler composes
it: the pass's shared texts (`compose.Shapes`: a shape's text with each item's id, title and
deadline put in) give exactly what composing each message afresh gives, in Japanese and in
English, with and without the web face's address, in training and not; and the mail built
from it (its headers but Date, its text and HTML parts) is the same.

The reference is computed in the test, by the code path the scheduler took before it kept
shared texts (`compose` without `shapes`), at the very moment the scheduler composes: the
same world, rulebook and time."""

import dataclasses
import datetime as dt
import re
from typing import Any

import pytest

from engine.reminders import compose as compose_module
from engine.reminders import dispatch
from engine.reminders.compose import Shapes
from engine.reminders.dispatch import Dispatcher
from engine.reminders.senders import Message, build_email
from tests.conftest import walk_to
from tests.unit.test_reminders import Collect

BASE = "https://kaigi.police.example/"
# titles the shared text must not take as they are (folded in a header, trimmed in the body, …)
AWKWARD = ["", " 先頭に空白", "末尾に空白 ", "二つの  空白", "改行\nあり", "タブ\tあり", "\u202e逆向き",
           "ゼロ\u200b幅", "私用\ue000\ue001文字", "全角\u3000空白", "\u3000全角で始まる", "{id} {title} %s",
           "%EE%80%80", "x", "案件「引用」", "<b>&amp;</b>"]


@pytest.fixture
def scene(fast: Any, clock: Any) -> Any:
    """Waits of many shapes: items in every state at the HQ and a station, an order, filers
    who are recipients and who are not; a meeting convened later (an agenda to add to)."""
    svc = fast
    walk_to(svc, "in_progress", title="決定済み")
    walk_to(svc, "council", title="本部会議待ち")
    pre = walk_to(svc, "pre_review", title="班長会議待ち")
    svc.issue_order("watanabe", pre, "nakamura")
    svc.file_item("matsumoto", "署の案件", station="mito")
    for k, title in enumerate(["予算  2027", "全角\u3000空白の件名", "Budget review", "{id} 波括弧"]):
        svc.file_item("yamamoto" if k % 2 else "watanabe", title)
    return svc


def _message(msg: Message, subject: str, body: str) -> bytes:
    """The mail as it goes out, without its Date (the Message-ID is the row's, kept) and with
    its MIME boundaries (random in each mail built) numbered."""
    em = build_email(dataclasses.replace(msg, subject=subject, body=body), "推進本部 事務局 <kaigi@example.jp>",
                     dt.datetime(2026, 6, 1, tzinfo=dt.UTC))
    del em["Date"]
    raw = em.as_bytes()
    for n, boundary in enumerate(re.findall(rb'boundary="([^"]+)"', raw)):
        raw = raw.replace(boundary, b"BOUNDARY-%d" % n)
    return raw


def test_shared_texts_are_the_texts_composed_afresh(scene: Any, clock: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Over a quarter of daily passes: every message the scheduler composed equals the one
    composed afresh, and so does each variant (other language, base URL, training) made
    through shared texts of its own; awkward titles are composed afresh, to the same bytes."""
    original = compose_module.compose
    fresh: dict[tuple[str, str, int], Any] = {}  # (reminder, recipient, rung) -> the text composed afresh
    own: dict[tuple[object, ...], Shapes] = {}
    filled, busy, sat = [0], [0], [0]  # filled from a shared text: all, beside a convened meeting, after sittings
    awkward_done = [False]

    def spy(*args: Any, **kw: Any) -> Any:
        w, book, rule, p, rung, to, item, meeting, now, _training, open_meetings = args
        text = original(*args, **kw)
        assert kw.get("shapes") is not None  # the scheduler keeps shared texts
        ref = original(*args, **{k: v for k, v in kw.items() if k != "shapes"})
        assert text == ref
        fresh[(p.ident, to.login, rung)] = ref
        for lang in ("ja", "en"):
            for base in (None, BASE):
                for train in (False, True):
                    key = (id(w), now, lang, base, train, id(open_meetings))
                    shapes = own.get(key)
                    if shapes is None or not shapes.fits(w, book, now, train, open_meetings, base):
                        shapes = own[key] = Shapes(w, book, now, train, open_meetings, base)
                    them = dataclasses.replace(to, lang=lang)
                    want = original(w, book, rule, p, rung, them, item, meeting, now, train, open_meetings,
                                    base_url=base)
                    got = original(w, book, rule, p, rung, them, item, meeting, now, train, open_meetings,
                                   base_url=base, shapes=shapes)
                    assert got == want, (lang, base, train, p.ident, to.login)
                    if meeting is None and item is not None and shapes.fill(rule, p, rung, them, item) is not None:
                        filled[0] += 1
                        busy[0] += any(m.body == item.body for m in open_meetings)
                        sat[0] += bool(item.sittings)
                    if item is not None and meeting is None and not awkward_done[0] and filled[0] > 8:
                        for n, title in enumerate(AWKWARD):
                            odd = dataclasses.replace(item, title=title, id=item.id + 1000 * (n + 1))
                            want = original(w, book, rule, p, rung, them, odd, None, now, train, open_meetings,
                                            base_url=base)
                            got = original(w, book, rule, p, rung, them, odd, None, now, train, open_meetings,
                                           base_url=base, shapes=shapes)
                            assert got == want, title
        if filled[0] > 8 and item is not None:
            awkward_done[0] = True
        return text

    monkeypatch.setattr(dispatch, "compose", spy)
    box = Collect()
    d = Dispatcher(scene, {"email": box}, base_url=BASE)
    for day in range(92):
        clock.advance(days=1)
        if day == 30:  # a meeting convened, an item on its agenda: the others may now be added to it
            scene.convene("watanabe", "team_lead", clock.now() + dt.timedelta(days=5),
                      items=[walk_to(scene, "pre_review", title="議題に載った案件")])
        d.run_once()
    assert len(box.sent) > 20 and filled[0] > 50 and busy[0] > 8 and sat[0] > 8, (len(box.sent), filled, busy, sat)
    assert awkward_done[0]
    langs = set()
    for msg in box.sent:
        if msg.message_id.startswith("<kaigi.digest."):
            continue
        ident_rung = [(k, v) for k, v in fresh.items()
                      if dispatch.message_id(k[0], k[2], k[1], d.domain) == msg.message_id]
        assert len(ident_rung) == 1, msg.message_id
        ref = ident_rung[0][1]
        assert _message(msg, msg.subject, msg.body) == _message(msg, ref.subject, ref.body)
        langs.add(msg.lang)
    assert langs


def test_a_shape_whose_filled_text_differs_is_never_used(scene: Any, clock: Any) -> None:
    """The first message of a shape is composed afresh too and compared: a shared text that
    would say otherwise (here: a catalog whose words carry the place-holder's character) is
    not used, and every message is composed afresh."""
    from engine.i18n import catalog

    box = Collect()
    words = catalog()["mail.head"]
    shapes_made: list[Shapes] = []
    real = compose_module.Shapes

    class Spy(real):  # type: ignore[misc, valid-type]
        def __init__(self, *a: Any, **kw: Any) -> None:
            super().__init__(*a, **kw)
            shapes_made.append(self)

    mp = pytest.MonkeyPatch()
    try:
        mp.setitem(catalog(), "mail.head", {"ja": words["ja"] + "\ue000", "en": words["en"] + "\ue000"})
        mp.setattr(dispatch, "Shapes", Spy)
        clock.advance(days=15)
        Dispatcher(scene, {"email": box}).run_once()
    finally:
        mp.undo()
    assert box.sent and all("\ue000" in m.subject for m in box.sent if not m.subject.startswith("【督促】"))
    assert any(s._made for s in shapes_made)
    assert all(v is None for s in shapes_made for v in s._made.values())
