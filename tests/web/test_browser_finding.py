"""Finding and overseeing in a real browser (headless Chromium): the search form is used as
a person would, the overdue view read by the chief and by a station's chief (R-R1, R-N3),
both pages fit a 390-px phone, and their screenshots go to docs/screenshots/."""

from typing import Any

import pytest

from engine.core.identity import Actor
from tests.web.test_browser import CHROMIUM, VIOLATIONS, chromium, server, shot, signed_in  # noqa: F401

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="the browser tests need Debian's Chromium")


@pytest.fixture(scope="module")
def overdue_world(server):
    """A station item sat on in its council, then a month on: it and the HQ's four are overdue."""
    k = server["kaigi"]
    item = int(k.file_item(Actor("matsumoto", "web"), "水戸署 技能実習生向け防犯講習の実施", station="mito",
                           note="講師は生活安全課").fact.item)
    m = int(k.convene(Actor("matsumoto", "web"), "station_council", k.now(), items=[item]).fact.meeting)
    k.hold(Actor("matsumoto", "web"), m)
    server["clock"].advance(days=30)
    return {**server, "mito": item}


def test_search_in_the_browser(chromium, overdue_world):
    sato = signed_in(chromium, overdue_world, "sato")
    sato.click('nav a[href="/items"]')
    sato.fill("form.find input[name=q]", "ﾊﾟﾄﾛｰﾙ")  # half-width katakana finds 合同パトロール
    sato.click("form.find button")
    sato.wait_for_selector(".found-list")
    assert sato.locator(".found-item").count() == 1
    assert sato.locator('.found-item a[href="/items/1"]').count() == 1
    sato.fill("form.find input[name=q]", "")
    sato.check("form.find input[name=overdue]")
    sato.click("form.find button")
    sato.wait_for_selector(".found-list")
    assert sato.locator(".found-item.overdue").count() == 5
    shot(sato, "items")
    assert VIOLATIONS == []


def test_overdue_view_by_station_and_role(chromium, overdue_world):
    sato = signed_in(chromium, overdue_world, "sato")
    sato.click('nav a[href="/overdue"]')
    sato.wait_for_selector(".overdue-body")
    assert sato.locator('.overdue-body[data-body="hq"] .found-item').count() == 4
    assert sato.locator('.overdue-body[data-body="mito"] .overdue-role[data-role="station_chief"]').count() == 1
    shot(sato, "overdue")
    matsumoto = signed_in(chromium, overdue_world, "matsumoto")
    matsumoto.goto(overdue_world["base"] + "/overdue")
    assert matsumoto.locator(".overdue-body").count() == 1  # their station alone (R-R1)
    assert matsumoto.locator('.overdue-body[data-body="hq"]').count() == 0
    assert VIOLATIONS == []


def test_finding_pages_fit_a_phone(chromium, overdue_world):
    page = signed_in(chromium, overdue_world, "sato")
    page.set_viewport_size({"width": 390, "height": 844})
    for path in ("/items?q=%E5%AE%9F%E6%96%BD&overdue=1", "/overdue"):
        page.goto(overdue_world["base"] + path)
        width: Any = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"{path} is {width} px wide"
