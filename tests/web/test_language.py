"""Every page reads in its own language (issue 16, item 3): a Japanese page shows no state,
trigger, status or outcome key, no event class name, no login where a name belongs and no
English sentence of the engine; an English page shows no Japanese title where the rulebook,
the roster or the catalog gives an English one.

The pages are the app's own GET routes (read from `app.routes`): a page added later is
scanned too, its ids filled from a world with something of every kind (`language_world`).
Only what a person sees is read: text nodes and the `title`, `aria-label`, `placeholder` and
`alt` attributes; `data-*` attributes and form values carry keys by contract (WEB.md).
"""

import re
from html.parser import HTMLParser
from typing import Any

import pytest

from engine.core import events as ev
from engine.core.identity import Actor
from engine.i18n import catalog
from tests import language_world as lw
from web import create_app

LOGINS = {m["login"] for m in __import__("tomllib").loads(
    (__import__("importlib.resources", fromlist=["files"]).files("workflows") / "demo" / "ibaraki-foreign-residents.toml")
    .read_text(encoding="utf-8"))["members"]}
SHOWN_ATTRS = ("title", "aria-label", "placeholder", "alt")
READERS = ("sato", "watanabe", "matsumoto")  # the chief (sees all), the general manager, a station chief


class Visible(HTMLParser):
    """The text a person sees on a page (SVG text included), one string per node."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._hidden += 1
        self.parts += [v for k, v in attrs if k in SHOWN_ATTRS and v]

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style") and self._hidden:
            self._hidden -= 1

    def handle_data(self, data: str) -> None:
        if not self._hidden and data.strip():
            self.parts.append(data.strip())


def visible(html: str) -> str:
    p = Visible()
    p.feed(html)
    return "\n".join(p.parts)


# ---------------------------------------------------------------- the routes, filled from the world
def get_routes(app: Any) -> list[Any]:
    """Every GET route of the app, through included routers."""
    out = []

    def walk(routes: Any) -> None:
        for r in routes:
            inner = getattr(r, "original_router", None)
            if inner is not None:
                walk(inner.routes)
            elif "GET" in (getattr(r, "methods", None) or ()) and getattr(r, "dependant", None) is not None:
                out.append(r)
    walk(app.routes)
    return out


NOT_PAGES = {"/lang/{code}", "/login/oidc", "/login/oidc/callback", "/api/docs", "/docs/oauth2-redirect"}


def fillings(world: dict[str, Any]) -> dict[str, list[str]]:
    """What each path or query parameter of a page takes, from the world: every id there is."""
    states = ["filed", "pre_review", "in_progress"]
    return {"item_id": [str(i) for i in world["items"]], "meeting_id": [str(m) for m in world["meetings"]],
            "order_id": [str(o) for o in world["orders"]], "fmt": ["csv"],
            "item": [str(i) for i in world["items"]], "meeting": [str(m) for m in world["meetings"]],
            "month": ["2026-12"], "q": ["案件"], "state": states, "station": ["mito"], "overdue": ["1"]}


def pages(app: Any, world: dict[str, Any]) -> list[str]:
    """The paths to scan: each GET route once bare and once per value of each of its
    parameters. A route whose path parameter this test cannot fill fails the test."""
    fill = fillings(world)
    out: list[str] = []
    for r in get_routes(app):
        if r.path in NOT_PAGES or r.path.startswith("/api/") or r.path.endswith(".pdf"):
            continue  # a paper is no page: its words are checked by tests/*/test_papers.py
        params = [p.name for p in r.dependant.path_params]
        unknown = [p for p in params if p not in fill]
        assert not unknown, f"{r.path}: tell the language scan how to fill {unknown} (fillings())"
        paths = [r.path]
        for p in params:
            paths = [x.replace("{" + p + "}", v) for x in paths for v in fill[p]]
        out += paths
        for qp in r.dependant.query_params:
            if qp.name in fill and not params:
                out += [f"{r.path}?{qp.name}={v}" for v in fill[qp.name]]
    return sorted(set(out))


# ---------------------------------------------------------------- what may not be shown
def _book() -> Any:
    from engine.app import rulebooks

    return rulebooks.bundled().books[-1]


def english_on_japanese() -> tuple[set[str], list[str]]:
    """Keys no Japanese page shows (states, triggers, statuses, meeting kinds, roles,
    positions, event classes, logins) and English sentences of the engine's catalog."""
    import tomllib
    from importlib import resources

    keys: set[str] = set()
    for b in __import__("engine.app.rulebooks", fromlist=["bundled"]).bundled().books:
        keys |= set(b.states) | {t.trigger for t in b.transitions} | set(b.meetings) | set(b.roles) | set(b.positions)
    keys |= {k.split(".", 1)[1] for k in catalog() if k.startswith(("status.", "trigger."))}
    keys |= set(ev.REGISTRY)
    demo = tomllib.loads((resources.files("workflows") / "demo" / "ibaraki-foreign-residents.toml").read_text(encoding="utf-8"))
    keys |= {m["login"] for m in demo["members"]}
    sentences = []
    for key, entry in catalog().items():
        en, ja = entry.get("en", ""), entry.get("ja", "")
        if key.startswith("web.lang") or not en or en == ja:
            continue
        for frag in re.split(r"\{[^}]*\}", en):
            words = re.findall(r"[A-Za-z]{2,}", frag)
            if len(words) >= 3 and re.fullmatch(r"[A-Za-z ,;'\-]+", frag.strip(" .:()")):
                sentences.append(frag.strip(" .:();,").lower())
    return keys, sorted(set(sentences))


def japanese_on_english() -> set[str]:
    """Japanese titles that have English: the rulebook's, the bodies', the members' names,
    the catalog's words for states, triggers, statuses and events."""
    import tomllib
    from importlib import resources

    words: set[str] = set()
    for b in __import__("engine.app.rulebooks", fromlist=["bundled"]).bundled().books:
        for group in (b.states, b.meetings, b.roles, b.positions, b.teams):
            for x in group.values():
                if x.title.ja != x.title.en:
                    words.add(x.title.ja)
    demo = tomllib.loads((resources.files("workflows") / "demo" / "ibaraki-foreign-residents.toml").read_text(encoding="utf-8"))
    words |= {m["name"] for m in demo["members"]} | {b["ja"] for b in demo["bodies"]}
    words |= {e["ja"] for k, e in catalog().items() if k.startswith(("trigger.", "status.", "event.", "actname."))}
    return {w for w in words if len(w) >= 2}


def problems_ja(text: str, keys: set[str], sentences: list[str]) -> list[str]:
    for k, e in catalog().items():  # `付議(refer)`: a trigger's key in brackets after its word is allowed
        if k.startswith("trigger."):
            text = text.replace(f"{e['ja']}({k[8:]})", e["ja"])
    # a person by name with the login they type after it (`佐藤 一郎(sato)`, as a refusal kept in the log says)
    text = re.sub(r"(?<=[^\s(、,])\(([a-z][a-z0-9_]*)\)", lambda m: "" if m.group(1) in LOGINS else m.group(0), text)
    found = sorted({w for w in re.findall(r"[A-Za-z][A-Za-z0-9_]*", text) if w in keys})
    low = text.lower()
    return found + [s for s in sentences if s in low]


def problems_en(text: str, words: set[str], allowed: str) -> list[str]:
    # the Japanese title in brackets after its English (`HQ council (推進本部対策会議)`), as the
    # engine's English sentences give it so a reader can find it in the Japanese papers
    text = re.sub(r"(?<=\S) ?\([^()]*\)", "", text)
    return sorted(w for w in words if w in text and w not in allowed)


# ---------------------------------------------------------------- the scan
@pytest.fixture
def scanned(real, browser) -> Any:
    world = lw.build(real, lambda login: Actor(login, "web"))
    app = create_app(real, secret="s")
    return world, app


def _read(real: Any, browser: Any, world: dict[str, Any], app: Any, lang: str) -> dict[tuple[str, str], str]:
    """Every page as each reader sees it in `lang`: (reader, path) -> visible text."""
    from fastapi.testclient import TestClient

    out = {}
    anon = TestClient(app)
    anon.get(f"/lang/{lang}")
    out[("-", "/login")] = visible(anon.get("/login").text)
    for login in READERS:
        b = browser(real)
        b.c.__enter__()
        try:
            b.login(login)
            b.get(f"/lang/{lang}")
            for path in pages(app, world):
                r = b.get(path)
                if r.status_code >= 500:
                    pytest.fail(f"{path} as {login}: {r.status_code}")
                if "text/html" in r.headers.get("content-type", ""):
                    out[(login, path)] = visible(r.text)
        finally:
            b.c.__exit__(None, None, None)
    return out


def test_japanese_pages_show_no_keys_event_names_logins_or_english_sentences(real, browser, scanned):
    """Issue 16: on a Japanese page every state, trigger, status, outcome, event and refusal
    is in Japanese (a trigger at most as `付議(refer)`), people by name."""
    world, app = scanned
    keys, sentences = english_on_japanese()
    bad = {}
    for (who, path), text in _read(real, browser, world, app, "ja").items():
        found = problems_ja(text, keys, sentences)
        if found:
            bad[f"{who} {path}"] = found
    assert not bad, "\n".join(f"{p}: {v}" for p, v in sorted(bad.items())[:40])


def test_english_pages_show_no_japanese_where_english_exists(real, browser, scanned):
    """Issue 16: an English page stays English: the rulebook's titles, the bodies, members'
    names and the catalog's words in English. Item titles and notes are people's own words."""
    world, app = scanned
    words = japanese_on_english()
    with real.read() as q:
        allowed = "\n".join(f"{i.title}\n{i.note}" for i in q.tx.items())
        allowed += "\n".join(x.text for m in q.tx.meetings() for x in m.minutes)
        allowed += "\n".join(f"{o.note}\n{o.finding or ''}\n{o.reason or ''}" for o in q.tx.orders())
    bad = {}
    for (who, path), text in _read(real, browser, world, app, "en").items():
        own = "\n".join(line for line in text.splitlines() if line not in allowed)
        found = problems_en(own, words, "")
        if found:
            bad[f"{who} {path}"] = found
    assert not bad, "\n".join(f"{p}: {v}" for p, v in sorted(bad.items())[:40])


def test_the_scan_sees_every_state_status_and_a_refusal(real, browser, scanned):
    """The scan is worth something only if the world has what it looks for: items in every
    state, meetings in every status, orders settled each way, a refused attempt."""
    world, app = scanned
    book = _book()
    with real.read() as q:
        assert {i.state for i in q.tx.items()} == set(book.states)
        assert {m.status for m in q.tx.meetings()} == {"convened", "held", "cancelled"}
        assert {o.status for o in q.tx.orders()} == {"open", "complete", "waived"}
        assert any(e.type == "ActRefused" for e in q.tx.events())
    assert any(p.startswith("/audit?item=") for p in pages(app, world))
    assert any(p.startswith("/meetings/") for p in pages(app, world))


def test_the_audit_page_says_each_step_in_japanese(real, browser, scanned):
    """Issue 16: the replay says what happened, by whom, under which version, allowed or
    refused and why, in Japanese; never `許可: 許可`."""
    world, _ = scanned
    b = browser(real)
    b.login("sato")
    b.get("/lang/ja")
    item = world["world"].hq_item
    html = b.get(f"/audit?item={item}").text
    steps = re.findall(r'<tr class="replay-step"[^>]*>(.*?)</tr>', html, re.S)
    assert steps
    text = visible(html)
    assert "許可: 許可" not in text
    assert "要綱 2024-10-01 に照らして許可" in text
    assert ("決定" in text and "小林 九子" in text) or "山田 健" in text
    refused = [s for s in re.findall(r'<tr class="replay-step" data-allowed="false"[^>]*>(.*?)</tr>', html, re.S)]
    assert refused, "the refused attempt on the item is a step"
    words = visible(refused[0])
    assert "拒否" in words and "理由" in words and not re.search(r"[A-Za-z]{4,} [a-z]{2,} [a-z]{2,}", words), words


