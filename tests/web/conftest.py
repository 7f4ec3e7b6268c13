"""Fixtures of the web tests: a real HQ (passwords, the demo roster bound to nobody's OS
account) and a training one, each served by `web.create_app` over the application API."""

import shutil
import datetime as dt
import re
import tomllib
from importlib import resources
from typing import Any

import pytest

from engine.app import accounts, bootstrap
from engine.core.identity import Actor
from engine.infra.clock import FrozenClock
from engine.infra.timeutil import JST
from store import open_store
from tests.conftest import Svc, from_template, migrate

PASSWORDS = {login: f"pw-{login}-2026" for login in
             ("sato", "watanabe", "yamamoto", "nakamura", "yoshida", "matsumoto", "inoue", "kobayashi")}
NOW = dt.datetime(2026, 12, 2, 9, 0, tzinfo=JST)


# Debian's headless Chromium for Playwright: `chromium-headless-shell` (Chromium's Blink without
# the desktop browser around it; what Playwright itself runs for headless tests) where it is
# installed, else the full `chromium` in its headless mode. The shell spends ~30 % less of the
# machine's CPU on the same pages (tests/web/test_accessibility.py: 97 -> 67 s, the same findings).
CHROMIUM = shutil.which("chromium-headless-shell") or shutil.which("chromium") or shutil.which("chromium-browser")
NO_CHROMIUM = "the browser tests need Debian's headless Chromium: apt-get install -y chromium-headless-shell fonts-noto-cjk"

def real_hq(url: str, clock: FrozenClock) -> Svc:
    """A real database with the demo's bodies, members, posts and items; some passwords set.
    A new SQLite file is a copy of one built so at the same time, with the same hasher."""
    from engine.infra import passwords

    def build(u: str) -> None:
        _real_hq(u, FrozenClock(clock.now())).store.close()

    hasher = passwords._HASHER
    key = ("real_hq", clock.now(), type(hasher), getattr(hasher, "time_cost", None), getattr(hasher, "memory_cost", None))
    if from_template(url, key, build):
        k = Svc(open_store(url, clock=clock.now))
        k.clock = clock
        return k
    return _real_hq(url, clock)


def _real_hq(url: str, clock: FrozenClock) -> Svc:
    if not url.startswith("memory"):
        migrate(url)
    k = Svc(open_store(url, clock=clock.now))
    k.clock = clock
    bootstrap.init(k, chief={"login": "sato", "name": "佐藤 一郎", "name_en": "Ichiro Sato", "db_role": "sato"})
    data = tomllib.loads((resources.files("workflows") / "demo" / "ibaraki-foreign-residents.toml").read_text(encoding="utf-8"))
    chief = Actor("sato", "web")
    from engine.core.events import BodyAdded

    k.system([BodyAdded(**b) for b in data["bodies"]])
    from workflows import bundled_rulebooks

    book = bundled_rulebooks()[-1]
    head = {m.get("body"): m["login"] for m in data["members"]
            if m.get("body") and book.role_of(m["position"]) == book.powers.body_head}
    # the HQ chief appoints the HQ's people and each station's head; the station chief the rest (R-P4)
    for m in sorted(data["members"], key=lambda m: m["login"] not in head.values()):
        if m["login"] != "sato":
            k.add_member(chief, m["login"], name=m["name"], name_en=m["name_en"],
                         email=f"{m['login']}@police.pref.ibaraki.example")
            by = chief if m["login"] in head.values() or not m.get("body") else Actor(head[m["body"]], "web")
            k.assign(by, m["login"], m["position"], station=m.get("body"), team=m.get("team"))
    for it in data["items"]:
        k.file_item(Actor(it["filed_by"], "web"), it["title"], team=it.get("team"), note=it.get("note", ""),
                    station=it.get("station"))
    for login, pw in PASSWORDS.items():
        accounts.set_password(k, Actor(login, "web"), login, pw)
    return k


@pytest.fixture(autouse=True)
def cheap_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    """argon2 with its production cost takes ~60 ms a hash; the tests check behaviour, not cost."""
    from argon2 import PasswordHasher

    from engine.infra import passwords

    monkeypatch.setattr(passwords, "_HASHER", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
    monkeypatch.setattr(passwords, "_dummy", [])


@pytest.fixture
def web_clock() -> FrozenClock:
    return FrozenClock(NOW)


@pytest.fixture
def real(db_url: str, web_clock: FrozenClock) -> Any:
    k = real_hq(db_url, web_clock)
    yield k
    k.store.close()


@pytest.fixture
def training(db_url: str, web_clock: FrozenClock) -> Any:
    from tests.conftest import make_svc

    k = make_svc(db_url, web_clock)
    yield k
    k.store.close()


def csrf(html: str) -> str:
    m = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert m, html[:500]
    return m.group(1)


class Browser:
    """A TestClient that signs in and posts forms with their CSRF token, as a person would."""

    def __init__(self, app: Any) -> None:
        from fastapi.testclient import TestClient

        self.c = TestClient(app, follow_redirects=True)

    def get(self, path: str, **kw: Any) -> Any:
        return self.c.get(path, **kw)

    def post(self, path: str, data: dict[str, Any], page: str | None = None, **kw: Any) -> Any:
        token = csrf(self.c.get(page or "/").text)
        return self.c.post(path, data={**data, "csrf_token": token}, **kw)

    def login(self, login: str, password: str | None = None) -> Any:
        page = self.c.get("/login")
        return self.c.post("/login", data={"login": login, "password": password or PASSWORDS[login],
                                           "csrf_token": csrf(page.text)})

    def switch(self, login: str) -> Any:
        page = self.c.get("/switch")
        return self.c.post("/switch", data={"login": login, "csrf_token": csrf(page.text)})


@pytest.fixture
def browser() -> Any:
    from web import create_app

    def make(k: Any, **kw: Any) -> Browser:
        return Browser(create_app(k, secret="test-secret", **kw))
    return make
