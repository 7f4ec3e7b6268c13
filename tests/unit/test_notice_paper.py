"""The invitation carries its convocation notice (招集通知) as a PDF (R-N5, issue "papers and
mail"): printed by the scheduler once per meeting and language, recorded as the scheduler's
`DocumentPrinted`, stored, and attached to every recipient's mail; `document verify` vouches
for the attached copy, a resend carries the very same bytes, replay accepts the print, and
the scheduler may print nothing else. On every store (PostgreSQL when KAIGI_TEST_PG_URL is set).
"""

import hashlib

import pytest

from engine.app.audit import verify
from engine.papers import verify as verify_paper
from engine.reminders.dispatch import Dispatcher
from engine.reminders.senders import DeliveryError
from tests.unit.test_notices import Box, at_convening

pytestmark = pytest.mark.skipif(
    not __import__("shutil").which("pdftotext"), reason="the notice's text is read back with pdftotext (poppler-utils)")


@pytest.fixture
def svc(fast):
    return fast


def _papers(msg):
    return [a for a in msg.attachments if a.media_type == "application/pdf"]


def _text(pdf: bytes) -> str:
    import subprocess

    return subprocess.run(["pdftotext", "-", "-"], input=pdf, capture_output=True, check=True).stdout.decode()


def test_the_invitation_carries_the_notice_that_the_log_vouches_for(svc, clock):
    box = Box(clock)
    d = Dispatcher(svc, {"email": box}, papers=True)
    m = at_convening(svc, clock, invited=["nakamura"], place="本部4階 大会議室")
    clock.advance(minutes=1)
    d.run_once()
    sent = box.meeting()
    assert sent and all(len(_papers(msg)) == 1 for _, msg in sent)
    pdfs = {_papers(msg)[0].content for _, msg in sent}
    assert len(pdfs) == 1  # one print for all Japanese readers
    (pdf,) = pdfs
    text = _text(pdf)
    assert "招集" in text and "本部4階 大会議室" in text and "令和8年12月20日（日）" in text
    verdict = verify_paper(svc, pdf)
    assert verdict.code == 0 and verdict.printed_by == "scheduler"
    with svc.store.read() as tx:
        doc = tx.document(hashlib.sha256(pdf).hexdigest())
    assert doc is not None and bytes(doc.content) == pdf and doc.media_type == "application/pdf"
    assert verify(svc.store).ok  # replay accepts the scheduler's print of a notice
    assert m


def test_an_update_carries_a_new_notice_and_a_resend_the_same_one(svc, clock):
    """After a change the update carries a notice printed anew; a message sent again after a
    transient failure carries the very paper it carried the first time."""
    class Flaky(Box):
        def __init__(self, clock):
            super().__init__(clock)
            self.fail = True

        def send(self, msg):
            if self.fail and msg.ics is not None:
                self.fail = False
                self.first, self.to = _papers(msg)[0].content, msg.to
                raise DeliveryError("451 try later", transient=True)
            super().send(msg)

    box = Flaky(clock)
    d = Dispatcher(svc, {"email": box}, papers=True)
    m = at_convening(svc, clock, kind="staff", items=[1], attendees=["yoshida"])
    clock.advance(minutes=1)
    d.run_once()
    assert not [msg for _, msg in box.meeting() if msg.to == box.to]  # it failed, the others went
    clock.advance(minutes=5)
    d.run_once()
    (again,) = [msg for _, msg in box.meeting() if msg.to == box.to]
    assert _papers(again)[0].content == box.first
    before = {_papers(msg)[0].content for _, msg in box.meeting()}
    svc.agenda("yamamoto", m, "add", 2)
    clock.advance(minutes=1)
    d.run_once()
    updates = [msg for _, msg in box.meeting() if msg.subject.startswith("【変更】")]
    assert updates and all(_papers(u)[0].content not in before for u in updates)
    assert "案件2" in _text(_papers(updates[0])[0].content)
    assert verify(svc.store).ok


def test_without_papers_the_mail_goes_alone(svc, clock):
    box = Box(clock)
    d = Dispatcher(svc, {"email": box})
    at_convening(svc, clock)
    clock.advance(minutes=1)
    d.run_once()
    assert box.meeting() and not any(_papers(msg) for _, msg in box.meeting())


@pytest.mark.parametrize("kind", ["report", "agenda"])
def test_the_scheduler_prints_nothing_but_a_notice(svc, clock, kind):
    """Replay (and, on PostgreSQL, kaigi_append) refuse a print in the scheduler's name of any
    other paper: the scheduler is no member and sees nothing of its own."""
    from engine.core.events import DocumentPrinted
    from engine.core.identity import SCHEDULER

    m = at_convening(svc, clock)
    fact = DocumentPrinted(item=1 if kind == "report" else None, meeting=None if kind == "report" else m,
                           kind=kind, lang="ja", sha256="0" * 64, of_seq=1, head_seq=0)
    try:
        with svc.store.act() as tx:
            w = svc.world(tx)
            fact = DocumentPrinted(item=fact.item, meeting=fact.meeting, kind=kind, lang="ja", sha256="0" * 64,
                                   of_seq=1, head_seq=tx.head().seq)
            svc.record(tx, w, SCHEDULER.login, SCHEDULER.login, SCHEDULER.identity, w.book(tx.now).version, [fact])
    except Exception as err:  # PostgreSQL refuses it at the append
        assert "notices it mails only" in str(err)
        return
    report = verify(svc.store)
    assert not report.ok
