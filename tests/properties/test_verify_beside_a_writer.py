"""`audit verify` while others work (TRUST.md): it reads one snapshot (a SQLite read
transaction, PostgreSQL REPEATABLE READ), so a healthy database never raises a false alarm,
however the writer's commits fall between its reads of events, head, projections and
deliveries. 50 runs on each engine beside a writer that never stops."""

import threading

from engine.app.audit import verify
from engine.app.kaigi import Kaigi
from engine.infra.clock import SystemClock
from store import open_store
from tests.conftest import make_svc

RUNS = 50


def test_verify_50_times_beside_a_writer_gives_no_false_alarm(db_url, clock):
    setup = make_svc(db_url, clock)  # the demo, then the writer moves on in real time
    setup.store.close()
    writer = Kaigi(open_store(db_url, clock=SystemClock().now))
    auditor = open_store(db_url, readonly=db_url.startswith("sqlite"))
    stop = threading.Event()
    written: list[int] = []
    failures: list[BaseException] = []

    def work() -> None:
        try:
            while not stop.is_set():
                item = writer.file_item("yamamoto", "並行して提出").fact.item
                writer.advance("yamamoto", item, "skip")
                written.append(item)
        except BaseException as err:  # noqa: BLE001 (reported below)
            failures.append(err)

    t = threading.Thread(target=work, daemon=True)
    t.start()
    try:
        verdicts = [verify(auditor) for _ in range(RUNS)]
    finally:
        stop.set()
        t.join(timeout=60)
    assert not failures, failures
    alarms = [(v.first_bad_seq, v.problem) for v in verdicts if not v.ok]
    assert alarms == []
    assert len({v.events for v in verdicts}) > 1, "the writer should have written between the verifies"
    assert len(written) > 5
    assert verify(auditor).ok
    writer.store.close()
    auditor.close()
