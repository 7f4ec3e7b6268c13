"""What a face offers is what the rules accept (engine/app/offers.py): a withdrawal is a
secondary act behind a confirmation, a role's own step that ends a received station report
(closing it, taking it into the HQ path) is work in plain sight (R-P3, R-C6)."""

from engine.app import offers
from tests.unit.test_stations import reported


def _steps(svc, login, item):
    with svc.read(viewer=login) as q:
        return {s["trigger"]: s for s in offers.item_steps(q, login, q.w.item(item))}


def test_r_p3_a_received_reports_close_and_escalate_are_primary_acts(fast):
    item = reported(fast)
    fast.advance("watanabe", item, "relay")
    fast.advance("sato", item, "receive")
    steps = _steps(fast, "sato", item)
    assert {"close", "escalate"} <= set(steps)
    assert not steps["close"]["secondary"] and not steps["escalate"]["secondary"]
    for trigger in steps:  # each offered step is accepted as a dry run
        assert fast.advance("sato", item, trigger, dry_run=True).dry_run


def test_a_withdrawal_by_its_filer_is_secondary(fast):
    item = fast.file_item("yamamoto", "合同パトロール").event.item
    steps = _steps(fast, "yamamoto", item)
    assert steps["withdraw"]["secondary"] and not steps["skip"]["secondary"]
