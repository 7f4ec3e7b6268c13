"""An act is one transaction of few statements: `item advance … --meeting M`, warm, runs at
most 8 SQL statements while it holds the head (from taking it to COMMIT, both included), on
SQLite and PostgreSQL. On PostgreSQL the act first reads on a snapshot, outside the head
(engine/app/kaigi.py, issue 21): those few statements keep nobody waiting, and are counted
apart (at most 6: BEGIN, the head's mark, what the act reads, ROLLBACK; the act's BEGIN).

Counted at the driver, where every statement kaigi sends passes: SQLite's own trace
callback (it reports each statement the engine runs), and on PostgreSQL a proxy around
psycopg's connection (each `execute`, each `executemany`, however many rows).
"""

from typing import Any

from tests.conftest import held, walk_to

LIMIT = 8
READS = 6  # PostgreSQL: the snapshot read before the head is taken, and the act's BEGIN


def held_part(log: list[str]) -> tuple[list[str], list[str]]:
    """The statements before the head is taken, and those from taking it to the end."""
    for n, sql in enumerate(log):
        if "kaigi_begin" in sql or "BEGIN IMMEDIATE" in sql:
            return log[:n], log[n:]
    return [], log


class Counting:
    """A psycopg connection that counts the statements sent through it."""

    def __init__(self, conn: Any, log: list[str]) -> None:
        self._conn, self._log = conn, log

    def execute(self, sql: str, params: Any = None) -> Any:
        self._log.append(sql)
        return self._conn.execute(sql, params)

    def cursor(self, *a: Any, **kw: Any) -> Any:
        cur = self._conn.cursor(*a, **kw)
        log = self._log

        class Cur:
            def executemany(self, sql: str, rows: Any) -> Any:
                log.append(sql)
                return cur.executemany(sql, rows)

            def execute(self, sql: str, params: Any = None) -> Any:
                log.append(sql)
                return cur.execute(sql, params)

            def __getattr__(self, name: str) -> Any:
                return getattr(cur, name)
        return Cur()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._conn, name)


def counted(svc: Any, act: Any) -> list[str]:
    store = svc.store.inner
    log: list[str] = []
    conn = store.connection()
    if store.pg:
        store._local.conn = Counting(conn, log)
    else:
        conn.set_trace_callback(log.append)
    try:
        act()
    finally:
        if store.pg:
            store._local.conn = conn
        else:
            conn.set_trace_callback(None)
    return log


def test_advance_in_a_meeting_is_at_most_eight_statements(svc):
    """ARCHITECTURE.md: lock the head, read what the act needs once, append, save, commit."""
    item = walk_to(svc, "council")
    m = held(svc, "sato", "council", [item])  # warm: the roster and rules are cached by now
    log = counted(svc, lambda: svc.advance("watanabe", item, "decide", meeting=m))
    assert "in_progress" == svc.item(item).state
    before, under = held_part(log)
    assert len(under) <= LIMIT, "\n".join(log)
    assert len(before) <= READS, "\n".join(log)


def test_an_own_act_is_fewer(svc):
    item = walk_to(svc, "filed")
    svc.advance("yamamoto", walk_to(svc, "filed", title="warm"), "skip")
    log = counted(svc, lambda: svc.advance("yamamoto", item, "skip"))
    before, under = held_part(log)
    assert len(under) <= LIMIT - 1, "\n".join(log)
    assert len(before) <= READS - 1, "\n".join(log)
