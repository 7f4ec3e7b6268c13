"""One declared unit per act (issue 20): every event type kaigi writes is declared in
engine/core/acts.py with its decision, its fold handler, its replay decider or its kind of
system fact, and its words (title, history line, what a face prints, how a refusal names
it) in Japanese and English. A new event type missing any piece fails here, by name."""

import dataclasses

import pytest

from engine.core import acts, fold, replay
from engine.core import events as ev
from engine.core.acts import ACT, ACTS, Declared
from engine.i18n import LANGS, Msg, act_title, catalog, event_title


def test_every_event_type_is_whole():
    """Each event type: declared, folded, replayed (or a declared system fact), with its words."""
    assert acts.missing() == []
    assert set(ACTS) == set(ev.REGISTRY.values())


def test_fold_and_replay_read_the_registry():
    """The fold's and the replay's tables are the registry's, not copies of it."""
    assert fold._HANDLERS is acts.FOLDS
    assert replay._DECIDERS is acts.REPLAYS
    assert set(acts.REPLAYS) == {d.event for d in acts.acts()}
    assert set(replay.SETUP) == {ev.RulebookAdopted, ev.BodyAdded, ev.MemberAdded, ev.RoleAssigned, ev.MemberBound}
    assert set(replay.DELIVERY) == {ev.ReminderDue, ev.ReminderSent, ev.ReminderFailed}
    assert replay.ADOPTED == (ev.RulebookAdopted,) and replay.REFUSALS == (ev.ActRefused,)
    assert replay.SCHEDULED == (ev.DocumentPrinted,)


def test_system_facts_are_declared_explicitly():
    """The events replay judges without a decider say which kind of system fact they are."""
    facts = {d.event.type: d.replay for d in ACTS.values() if d.replay != ACT}
    assert facts == {"RulebookAdopted": "adopted", "ReminderDue": "delivery", "ReminderSent": "delivery",
                     "ReminderFailed": "delivery", "ActRefused": "refusal", "ReminderSet": "legacy",
                     "ReminderCancelled": "legacy"}


def test_each_act_names_its_decision_in_engine_core():
    for d in acts.acts():
        assert d.decision is not None and d.decision.__module__.startswith("engine.core."), d.event.type


@pytest.mark.parametrize("lang", LANGS)
def test_no_face_falls_back_to_the_raw_key(lang):
    """What the CLI and the web print for an event (its title, how a refusal names its act,
    its history line, its confirmation) is words, never the type or the message id."""
    for d in ACTS.values():
        assert event_title(d.event.type, lang) != d.event.type
        if d.name is not None:
            assert act_title(d.name, lang) != d.name
        for key in d.history + d.done:
            assert not Msg(key).render(lang).startswith(key), key


# ---------------------------------------------------------------- the check names what is missing
@ev.event("ItemDeferredForTest")
class ItemDeferredForTest(ev.Event):
    """A throwaway act: declared, with a decider and words, but no fold handler."""

    item: int
    until: str


ev.REGISTRY.pop("ItemDeferredForTest")  # made at import; the tests below put it in and take it out


@pytest.fixture
def throwaway(monkeypatch):
    monkeypatch.setitem(ev.REGISTRY, "ItemDeferredForTest", ItemDeferredForTest)
    return ItemDeferredForTest


def _decide_defer(ctx, item, until):  # the decision it would have
    return []


def test_an_undeclared_event_type_is_named(throwaway):
    assert acts.missing() == ["ItemDeferredForTest: not declared in engine/core/acts.py"]


def test_an_act_without_a_fold_handler_is_named_exactly(throwaway, monkeypatch):
    monkeypatch.setitem(ACTS, throwaway, Declared(throwaway, ACT, _decide_defer, "advance",
                                                  history=("history.advanced",), done=("done.advance",)))
    monkeypatch.setitem(acts.REPLAYS, throwaway, lambda r, ctx, e: [e])
    monkeypatch.setitem(catalog(), "event.ItemDeferredForTest", {"ja": "案件の延期", "en": "item deferred"})
    assert acts.missing() == ["ItemDeferredForTest: no fold handler (engine/core/fold.py @acts.folds)"]


def test_an_act_missing_everything_is_named_piece_by_piece(throwaway, monkeypatch):
    monkeypatch.setitem(ACTS, throwaway, Declared(throwaway, ACT, None, "defer_item",
                                                  history=("history.deferred",), done=("done.defer",)))
    assert acts.missing() == [
        "ItemDeferredForTest: no fold handler (engine/core/fold.py @acts.folds)",
        "ItemDeferredForTest: no replay decider (engine/core/replay.py @acts.replays)",
        "ItemDeferredForTest: no decision",
        *[f"ItemDeferredForTest: no words {key} [{lang}] (engine/i18n/messages.toml)"
          for key in ("event.ItemDeferredForTest", "actname.defer_item", "history.deferred", "done.defer")
          for lang in LANGS],
    ]


def test_a_system_fact_needs_no_decider_but_a_fold(throwaway, monkeypatch):
    monkeypatch.setitem(ACTS, throwaway, Declared(throwaway, acts.DELIVERY, history=("history.sent",)))
    monkeypatch.setitem(acts.FOLDS, throwaway, fold._nothing)
    assert acts.missing() == ["ItemDeferredForTest: no words event.ItemDeferredForTest [ja] (engine/i18n/messages.toml)",
                              "ItemDeferredForTest: no words event.ItemDeferredForTest [en] (engine/i18n/messages.toml)"]


def test_a_decider_must_belong_to_a_declared_act(throwaway, monkeypatch):
    """Registering a handler for an event type the registry does not declare fails at import."""
    with pytest.raises(LookupError, match="not declared"):
        acts.folds(throwaway)(fold._nothing)
    monkeypatch.setitem(ACTS, throwaway, dataclasses.replace(ACTS[ev.ReminderSent], event=throwaway))
    with pytest.raises(LookupError, match="system fact"):
        acts.replays(throwaway)(lambda r, ctx, e: [e])


@pytest.mark.parametrize("lang", LANGS)
def test_every_event_of_a_log_reads_as_words(lang):
    """The history line of each event a log holds (the roster set up, items filed, a meeting
    convened and held, a refusal) is words in the reader's language, never its type."""
    import datetime as dt

    from engine.core.errors import DomainError
    from engine.infra.clock import FrozenClock
    from tests.conftest import T0, make_svc

    clock = FrozenClock(T0)
    svc = make_svc("memory://", clock)
    m = svc.convene("yamamoto", "staff", clock.now() + dt.timedelta(days=3), items=[1],
                    attendees=["yoshida"]).fact.meeting
    with pytest.raises(DomainError):
        svc.hold("nakamura", m)  # refused, and kept for the auditor
    clock.advance(days=3)
    svc.hold("yamamoto", m)
    with svc.read() as q:
        records = q.tx.events()
        lines = {e.type: q.event_view(e, lang)["summary"] for e in records}
    assert {"RulebookAdopted", "MemberAdded", "RoleAssigned", "ItemFiled", "MeetingConvened", "ActRefused",
            "MeetingHeld"} <= set(lines)
    for type_, line in lines.items():
        assert line and line != type_ and not line.startswith(("history.", "event.")), (type_, line)


def test_the_command_line_confirms_in_the_registry_s_words():
    """What `kaigi` prints once an act is done comes from its declaration: each item, meeting
    and order act names a done/would pair that exists in both languages, and Japanese prints
    the sentence in words (`said.*`) where the act declares one."""
    verbs = [d for d in acts.acts() if any(k.startswith("done.") for k in d.done)]
    assert {d.name for d in verbs} >= {"file_item", "advance", "convene", "agenda", "hold", "issue_order"}
    words = catalog()
    for d in verbs:
        for lang in LANGS:
            done, would = acts.confirmation(d.event, lang)
            assert done in words and would in words, (d.event.type, lang)
    assert acts.confirmation(ev.ItemAdvanced, "ja") == ("said.advance", "said_would.advance")
    assert acts.confirmation(ev.ItemAdvanced, "en") == ("done.advance", "would.advance")
    assert acts.confirmation(ev.MinutesApproved, "en") == ("done.approve", "would.approve")
    with pytest.raises(LookupError):
        acts.confirmation(ev.ReminderSent, "en")
