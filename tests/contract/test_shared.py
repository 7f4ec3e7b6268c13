"""One `Kaigi` serves many threads (a web server's): it keeps no per-request state, acts
serialise on the log's head, and each act writes exactly the events its decision returned."""

import threading

from engine.app.audit import verify
from engine.core.errors import NotPermitted
from tests.conftest import held, walk_to


def test_one_instance_shared_by_threads(svc):
    """Eight threads file and skip items through one instance; nothing is lost, the chain holds."""
    errors: list[BaseException] = []
    filed: list[int] = []
    lock = threading.Lock()

    def work(n: int) -> None:
        try:
            for k in range(5):
                item = svc.file_item("yamamoto", f"thread {n} item {k}").fact.item
                svc.advance("yamamoto", item, "skip")
                with lock:
                    filed.append(item)
        except BaseException as err:  # noqa: BLE001 (reported below)
            errors.append(err)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert [] == errors
    assert 40 == len(set(filed))
    assert {"pre_review"} == {svc.item(i).state for i in filed}
    v = verify(svc.store)
    assert v.ok, v.problem


def test_an_act_writes_exactly_what_its_decision_returned(svc):
    """The events recorded are the decided facts, in order, and nothing else (no bookkeeping)."""
    item = walk_to(svc, "council")
    m = held(svc, "sato", "council", [item])
    out = svc.advance("watanabe", item, "decide", meeting=m)
    assert [f.type for f in out.facts] == [r.type for r in out.records] == ["ItemAdvanced"]
    assert [f.payload_text() for f in out.facts] == [r.payload for r in out.records]
    # a station's escalation writes two: the step and the item it opens in the HQ path
    s = svc.file_item("matsumoto", "x", station="mito").fact.item
    sm = held(svc, "matsumoto", "station_council", [s])
    svc.advance("matsumoto", s, "report", meeting=sm)
    svc.advance("watanabe", s, "relay")
    svc.advance("sato", s, "receive")
    out = svc.advance("sato", s, "escalate")
    assert ["ItemAdvanced", "ItemFiled"] == [r.type for r in out.records]
    assert out.facts[1].item == out.facts[0].spawned


def test_a_refusal_is_kept_and_changes_nothing(svc):
    before = svc.peek.head()
    try:
        svc.advance("nakamura", 1, "skip")
    except NotPermitted:
        pass
    log = svc.peek.events(after=before.seq)
    assert ["ActRefused"] == [e.type for e in log]
    assert "filed" == svc.item(1).state
