"""Fidelity to the circular at the command line (issue 19): R-C6, R-P4."""

import pytest

import engine
from tests.conftest import held, walk_to


@pytest.fixture(autouse=True)
def cli_at_the_clock(clock, monkeypatch):
    """The CLI reads the same controlled clock as the set-up."""
    import cli as cli_module

    opened = engine.open
    monkeypatch.setattr(engine, "open", lambda settings, **kw: opened(settings, **{**kw, "clock": clock.now}))
    monkeypatch.setattr(cli_module.App, "now", lambda self: clock.now())


def test_r_c6_a_decided_item_is_not_withdrawn_from_the_command_line(svc, kaigi):
    """R-C6: `item advance N withdraw` on a decided item: exit 4 for its filer and for the
    general manager, one line, nothing changed; the council's `close` is what ends it."""
    item = walk_to(svc, "in_progress", filer="yamamoto")
    for who in ("yamamoto", "watanabe"):
        r = kaigi("--as", who, "item", "advance", str(item), "withdraw")
        assert r.exit_code == 4, (who, r.output)
        assert "withdraw" in r.stderr and "Traceback" not in r.output
    assert svc.item(item).state == "in_progress"
    m = held(svc, "sato", "council", [item])
    r = kaigi("--as", "watanabe", "item", "advance", str(item), "close", "--meeting", str(m), "--dry-run")
    assert r.exit_code == 0, r.output
    assert kaigi("audit", "verify").exit_code == 0


def test_r_p4_the_hq_chief_does_not_assign_posts_inside_a_station(svc, kaigi):
    """R-P4: the HQ chief assigning a station section chief's post is refused (exit 3, naming
    the station chief); the station chief does it."""
    svc.add_member("sato", "kondo", name="近藤 実", name_en="Minoru Kondo")
    r = kaigi("--as", "sato", "roster", "assign", "kondo", "sho_kacho", "--station", "mito")
    assert r.exit_code == 3, r.output
    assert "R-P4" in r.stderr and "station chief" in r.stderr
    r = kaigi("--as", "matsumoto", "roster", "assign", "kondo", "sho_kacho", "--station", "mito")
    assert r.exit_code == 0, r.output
