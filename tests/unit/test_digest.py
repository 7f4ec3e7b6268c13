"""The daily digest (issue 11): with `digest = "08:30"` a member gets one mail a day with
every reminder about items and orders that fell due for them, at that time, Japan time;
each message is still its own row, settled and recorded; a meeting's notice goes at once."""

import datetime as dt

import pytest

from engine.app.audit import verify
from engine.infra.timeutil import JST
from engine.reminders.dispatch import Dispatcher
from tests.unit.test_reminders import Collect


@pytest.fixture
def svc(fast):
    return fast


def test_one_mail_a_day_per_member_at_the_digest_time(svc):
    box = Collect()
    d = Dispatcher(svc, {"email": box}, digest="08:30")
    svc.clock.advance(days=14, minutes=1)  # the four demo items' staff-meeting reminders fall due (10:01 JST)
    stats = d.run_once()
    assert stats.fired == 4 and box.sent == []  # queued for the digest, not sent
    next_morning = dt.datetime.combine(svc.clock.now().astimezone(JST).date() + dt.timedelta(days=1),
                                       dt.time(8, 30), JST)
    svc.clock.set(next_morning)
    d.run_once()
    assert len(box.sent) == 1
    mail = box.sent[0]
    assert mail.to[0].startswith("yamamoto@") and "本日の督促 4件" in mail.subject
    assert all(f"案件{i}" in mail.body for i in (1, 2, 3, 4))
    assert mail.message_id.startswith("<kaigi.digest.")
    with svc.store.read() as tx:
        assert {x.status for x in tx.deliveries()} == {"sent"}
    assert verify(svc.store).ok


def test_a_lone_reminder_goes_as_it_is(svc):
    box = Collect()
    d = Dispatcher(svc, {"email": box}, digest="08:30")
    for i in (2, 3, 4):
        svc.advance("watanabe", i, "withdraw")
    svc.clock.advance(days=15)
    d.run_once()
    svc.clock.set(svc.clock.now() + dt.timedelta(days=1))
    d.run_once()
    assert len(box.sent) == 1 and "本日の督促" not in box.sent[0].subject


def test_the_digest_time_is_checked():
    from pathlib import Path

    from engine.infra.settings import load_settings

    with pytest.raises(ValueError, match="not a time of day"):
        load_settings({"KAIGI_DIGEST": "25:00"}, cwd=Path("/nonexistent"))
    assert load_settings({"KAIGI_DIGEST": "8:30"}, cwd=Path("/nonexistent")).digest == "08:30"
