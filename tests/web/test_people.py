"""People in the browser (issue 16): the roster and posts (R-P1, R-P4), delegations to the
secretariat (R-A1), a member's tokens and password (R-I5), the roster as each member may see
it (R-R1) and as it stood on a past day (R-V1).

Each form does the CLI's act: the same event in the log, by the same member (`web`);
what the rules refuse is refused here with the engine's one line in `#refusal`, 403/409,
and nothing changes."""

import datetime as dt
import re
from typing import Any

from engine.app import accounts
from engine.core.errors import NotFound
from engine.core.identity import Actor
from engine.infra.timeutil import JST
from tests.conftest import fingerprint
from tests.web.conftest import PASSWORDS


def _events(k: Any) -> list[Any]:
    with k.store.read() as tx:
        return [e for e in tx.stream() if e.type != "ActRefused"]


def _last(k: Any) -> Any:
    return _events(k)[-1]


def _refusal(html: str) -> str:
    m = re.search(r'id="refusal"[^>]*>([^<]+)<', html)
    assert m, html[:3000]
    return m.group(1)


def _as(browser: Any, k: Any, login: str) -> Any:
    b = browser(k)
    password = PASSWORDS.get(login, f"pw-{login}-2026")
    if login not in PASSWORDS:  # the clerk has none in the fixture: she sets her own (R-I5)
        accounts.set_password(k, Actor(login, "web"), login, password)
    assert b.login(login, password).url.path == "/"
    return b


def _post_of(k: Any, login: str) -> Any:
    with k.read() as q:
        return next(a for a in q.w.assignments_of(login) if a.valid_until is None)


# ---------------------------------------------------------------- the roster (R-P1, R-P4)
class TestRoster:
    def test_the_chief_adds_and_assigns_a_member_as_the_cli_does(self, real, browser):
        """R-P1: the chief adds a member (MemberAdded by sato, web) and gives them a post
        (RoleAssigned); the roster then names them with the post's title, not their login."""
        b = _as(browser, real, "sato")
        r = b.post("/roster/members", {"login": "okada", "name": "岡田 次郎", "name_en": "Jiro Okada",
                                       "email": "okada@police.pref.ibaraki.example", "lang": "ja"}, page="/roster")
        assert r.status_code == 200 and r.url.path == "/roster"
        e = _last(real)
        assert (e.type, e.actor, e.authority, e.identity) == ("MemberAdded", "sato", "sato", "web")
        assert e.data["login"] == "okada" and e.data["name"] == "岡田 次郎"
        assert re.search(r'<option value="okada"[^>]*>岡田 次郎</option>', r.text)  # offered for a post, by name
        r = b.post("/roster/assignments", {"login": "okada", "position": "team_member", "station": "hq",
                                           "team": "chiiki", "valid_from": ""}, page="/roster")
        assert r.status_code == 200 and 'id="refusal"' not in r.text, r.text[:3000]
        e = _last(real)
        assert (e.type, e.actor, e.identity) == ("RoleAssigned", "sato", "web")
        assert (e.data["login"], e.data["position"], e.data["team"]) == ("okada", "team_member", "chiiki")
        row = re.search(r'<tr class="member" data-login="okada">(.*?)</tr>', r.text, re.S).group(1)
        assert "岡田 次郎" in row and "班員" in row and "地域班" in row and "okada" not in row

    def test_a_station_chief_organises_their_station_not_the_hq(self, real, browser):
        """R-P1/R-P4: mito's chief is offered posts at mito only, never its head; an HQ post
        or mito's head posted by hand is refused (403, #refusal) and nothing changes."""
        b = _as(browser, real, "matsumoto")
        html = b.get("/roster").text
        assert re.findall(r'data-act="assign" data-body="([^"]+)"', html) == ["mito"]
        mito = re.search(r'data-act="assign" data-body="mito">(.*?)</form>', html, re.S).group(1)
        offered = set(re.findall(r'<option value="([a-z_0-9]+)"', mito.split('name="position"')[1]))
        assert offered == {"fuku_shocho", "sho_kacho"}  # not keisatsu_shocho: the head is the chief's (R-P1)
        before = fingerprint(real.store)
        r = b.post("/roster/assignments", {"login": "yoshida", "position": "team_leader", "station": "hq"},
                   page="/roster")
        assert r.status_code == 403 and "(R-P1)" in _refusal(r.text)
        r = b.post("/roster/assignments", {"login": "hayashi", "position": "keisatsu_shocho", "station": "mito",
                                           "valid_from": "2026-12-20"}, page="/roster")
        assert r.status_code == 403 and "(R-P1)" in _refusal(r.text)
        assert 'name="valid_from" value="2026-12-20"' in r.text  # the form keeps what was typed
        assert fingerprint(real.store) == before
        # what is offered passes: mito's deputy, assigned by mito's chief
        r = b.post("/roster/assignments", {"login": "hayashi", "position": "fuku_shocho", "station": "mito"},
                   page="/roster")
        assert 'id="refusal"' not in r.text
        assert (_last(real).type, _last(real).actor) == ("RoleAssigned", "matsumoto")

    def test_a_team_leader_may_not_add_members(self, real, browser):
        """R-P1: no form for a team leader, and a crafted post is refused, nothing added."""
        b = _as(browser, real, "nakamura")
        html = b.get("/roster").text
        assert 'data-act="add_member"' not in html and 'data-act="assign"' not in html
        assert 'data-act="end_assignment"' not in html
        before = fingerprint(real.store)
        r = b.post("/roster/members", {"login": "okada", "name": "岡田 次郎"}, page="/roster")
        assert r.status_code == 403 and "(R-P1)" in _refusal(r.text)
        assert fingerprint(real.store) == before

    def test_a_refused_member_keeps_what_was_typed(self, real, browser):
        b = _as(browser, real, "sato")
        r = b.post("/roster/members", {"login": "yamamoto", "name": "山本 別人", "name_en": "Other Yamamoto"},
                   page="/roster")
        assert r.status_code == 400 and _refusal(r.text)
        assert 'value="山本 別人"' in r.text and 'value="Other Yamamoto"' in r.text

    def test_ending_a_post_asks_for_confirmation_then_is_the_clis_act(self, real, browser):
        post = _post_of(real, "nakamura")
        real.clock.advance(hours=1)  # the post began when the fixture was made
        b = _as(browser, real, "sato")
        before = fingerprint(real.store)
        r = b.post(f"/roster/assignments/{post.id}/end", {}, page="/roster")
        assert r.status_code == 400 and fingerprint(real.store) == before
        r = b.post(f"/roster/assignments/{post.id}/end", {"confirm": "yes"}, page="/roster")
        assert 'id="refusal"' not in r.text
        e = _last(real)
        assert (e.type, e.actor, e.identity, e.data["id"]) == ("AssignmentEnded", "sato", "web", post.id)
        assert 'data-login="nakamura"' not in r.text  # no post now, so not on today's roster

    def test_a_station_chief_may_not_end_an_hq_post(self, real, browser):
        """R-P1 and R-R1: an HQ post is not a station chief's to end, nor to see: absent (404)."""
        post = _post_of(real, "nakamura")
        b = _as(browser, real, "matsumoto")
        before = fingerprint(real.store)
        r = b.post(f"/roster/assignments/{post.id}/end", {"confirm": "yes"}, page="/roster")
        assert r.status_code == 404 and fingerprint(real.store) == before
        assert _refusal(r.text) == NotFound("assignment.none", id=post.id).render("ja")  # as if never made

    def test_a_station_member_sees_their_station_only(self, real, browser):
        """R-R1: mito's chief sees mito's members; neither joso's nor the HQ's. The chief sees all."""
        mito = _as(browser, real, "matsumoto").get("/roster").text
        shown = set(re.findall(r'<tr class="member" data-login="([^"]+)"', mito))
        assert shown == {"matsumoto", "hayashi"}
        assert "清水 聡" not in mito and "渡辺 六郎" not in mito
        everyone = set(re.findall(r'<tr class="member" data-login="([^"]+)"', _as(browser, real, "sato").get(
            "/roster").text))
        assert {"matsumoto", "hayashi", "shimizu", "watanabe", "sato"} <= everyone

    def test_the_roster_of_a_past_day_shows_who_held_what_then(self, real, browser):
        """R-V1: people rotate. After yamamoto's post passes to a newcomer, today's roster
        names the newcomer; `?at=` a day before names yamamoto."""
        real.clock.advance(days=10)
        chief = Actor("sato", "web")
        real.add_member(chief, "okada", name="岡田 次郎", name_en="Jiro Okada")
        real.end_assignment(chief, _post_of(real, "yamamoto").id)
        real.assign(chief, "okada", "soshiki2_kacho")
        b = _as(browser, real, "sato")
        today = b.get("/roster").text
        before = (real.now().astimezone(JST) - dt.timedelta(days=1)).date().isoformat()
        then = b.get(f"/roster?at={before}")
        assert then.status_code == 200
        shown_now = set(re.findall(r'data-login="([^"]+)"', today.split('id="roster"')[1]))
        shown_then = set(re.findall(r'data-login="([^"]+)"', then.text.split('id="roster"')[1]))
        assert "okada" in shown_now and "yamamoto" not in shown_now
        assert "yamamoto" in shown_then and "okada" not in shown_then
        row = re.search(r'data-login="yamamoto">(.*?)</tr>', then.text, re.S).group(1)
        assert "組織犯罪対策第二課長" in row
        assert 'data-act="end_assignment"' not in then.text  # the past is shown, not changed
        assert b.get("/roster?at=not-a-day").status_code == 400


# ---------------------------------------------------------------- delegations (R-A1)
class TestDelegations:
    def test_delegating_to_a_clerk_is_the_clis_act(self, real, browser):
        """R-A1: the general manager's select lists only the secretariat clerk; the delegation
        is RecordingDelegated by watanabe; the clerk sees it received; the holder ends it."""
        b = _as(browser, real, "watanabe")
        html = b.get("/delegations").text
        offered = re.findall(r'<option value="([^"]+)"', html.split('name="clerk"')[1].split("</select>")[0])
        assert offered == ["yamaguchi"]
        r = b.post("/delegations", {"clerk": "yamaguchi", "valid_from": "", "valid_until": "2027-03-31"},
                   page="/delegations")
        assert r.status_code == 200 and 'id="refusal"' not in r.text, r.text[:2000]
        e = _last(real)
        assert (e.type, e.actor, e.identity, e.data["clerk"]) == ("RecordingDelegated", "watanabe", "web", "yamaguchi")
        d = e.data["id"]
        clerk = _as(browser, real, "yamaguchi").get("/delegations").text
        assert f'data-delegation="{d}"' in clerk.split('id="delegations-received"')[1]
        r = b.post(f"/delegations/{d}/end", {}, page="/delegations")
        assert 'id="refusal"' not in r.text
        assert (_last(real).type, _last(real).actor) == ("DelegationEnded", "watanabe")

    def test_a_clerk_may_not_delegate(self, real, browser):
        """R-A1: a clerk records on behalf of others only; no form, and a crafted one is refused."""
        b = _as(browser, real, "watanabe")
        c = _as(browser, real, "yamaguchi")
        assert 'data-act="delegate"' not in c.get("/delegations").text
        before = fingerprint(real.store)
        r = c.post("/delegations", {"clerk": "yamaguchi", "valid_until": "2027-03-31"}, page="/delegations")
        assert r.status_code == 403 and "(R-A1)" in _refusal(r.text)
        assert fingerprint(real.store) == before
        assert b.get("/delegations").status_code == 200

    def test_another_members_delegation_is_not_theirs_to_end(self, real, browser):
        out = real.delegate(Actor("watanabe", "web"), "yamaguchi", valid_until=real.now() + dt.timedelta(days=30))
        d = out.fact.id
        before = fingerprint(real.store)
        r = _as(browser, real, "matsumoto").post(f"/delegations/{d}/end", {}, page="/delegations")
        assert r.status_code == 404  # R-R1: a station's member does not see the HQ's delegations
        r = _as(browser, real, "yamamoto").post(f"/delegations/{d}/end", {}, page="/delegations")
        assert r.status_code == 403 and "(R-A1)" in _refusal(r.text)
        assert fingerprint(real.store) == before


# ---------------------------------------------------------------- the member's account (R-I5)
class TestAccount:
    def test_a_token_is_shown_once_and_works(self, real, browser):
        """R-I5: the member makes their own token; the response shows it once, not to be
        cached; the account page afterwards shows its name and dates, never the token."""
        b = _as(browser, real, "yamamoto")
        r = b.post("/account/tokens", {"name": "県の業務システム", "expires": "2027-03-31"}, page="/account")
        assert r.status_code == 200 and "no-store" in r.headers["cache-control"]
        secret = re.search(r'id="token-secret">([^<]+)<', r.text).group(1)
        assert secret.startswith("kaigi_")
        e = _last(real)
        assert (e.type, e.actor, e.identity, e.data["login"]) == ("TokenCreated", "yamamoto", "web", "yamamoto")
        assert secret not in e.payload and secret[-4:] not in b.get("/account").text
        page = b.get("/account").text
        assert "県の業務システム" in page and 'id="token-secret"' not in page
        who = b.c.get("/api/whoami", headers={"Authorization": f"Bearer {secret}"})
        assert who.status_code == 200 and who.json()["login"] == "yamamoto"

    def test_a_member_may_not_revoke_anothers_token(self, real, browser):
        """R-I5: another's token is absent to a member (404, still valid); the chief revokes it."""
        tid, secret = accounts.create_token(real, Actor("watanabe", "web"), "watanabe's")
        b = _as(browser, real, "yamamoto")
        r = b.post(f"/account/tokens/{tid}/revoke", {}, page="/account")
        assert r.status_code == 404 and accounts.token_login(real, secret) == "watanabe"
        chief = _as(browser, real, "sato")
        page = chief.get("/account/tokens?all=1").text
        assert "watanabe&#39;s" in page and "渡辺 六郎" in page
        r = chief.post(f"/account/tokens/{tid}/revoke", {"all": "1"}, page="/account/tokens?all=1")
        assert r.status_code == 200 and r.url.path == "/account/tokens"
        e = _last(real)
        assert (e.type, e.actor, e.data["login"], e.data["by"]) == ("TokenRevoked", "sato", "watanabe", "sato")
        assert accounts.token_login(real, secret) is None

    def test_the_members_own_token_revoked_by_them(self, real, browser):
        tid, secret = accounts.create_token(real, Actor("yamamoto", "web"), "mine")
        b = _as(browser, real, "yamamoto")
        assert f'action="/account/tokens/{tid}/revoke"' in b.get("/account").text
        b.post(f"/account/tokens/{tid}/revoke", {}, page="/account")
        assert (_last(real).type, _last(real).actor) == ("TokenRevoked", "yamamoto")
        assert accounts.token_login(real, secret) is None

    def test_only_the_chief_lists_every_members_tokens(self, real, browser):
        """R-I5: every member's tokens are the chief's to list; a member gets 403 and none of them."""
        accounts.create_token(real, Actor("watanabe", "web"), "WATANABE-TOKEN")
        b = _as(browser, real, "yamamoto")
        assert "/account/tokens?all=1" not in b.get("/account").text
        r = b.get("/account/tokens?all=1")
        assert r.status_code == 403 and "WATANABE-TOKEN" not in r.text and "(R-I5)" in _refusal(r.text)

    def test_a_new_password_ends_the_other_sessions(self, real, browser):
        """R-I5/R-I6: the member's own password, current first, new twice; their other
        sessions end, this one goes on; the new password signs in, the old no longer."""
        other = _as(browser, real, "yamamoto")
        b = _as(browser, real, "yamamoto")
        new = "a-new-long-passphrase"
        r = b.post("/account/password", {"current": "wrong-password", "password": new, "again": new}, page="/account")
        assert r.status_code == 403 and _refusal(r.text)
        r = b.post("/account/password", {"current": PASSWORDS["yamamoto"], "password": new, "again": new + "x"},
                   page="/account")
        assert r.status_code == 400
        assert new not in r.text  # a password is never echoed
        r = b.post("/account/password", {"current": PASSWORDS["yamamoto"], "password": new, "again": new},
                   page="/account")
        assert r.status_code == 200 and r.url.path == "/account" and 'id="notice"' in r.text
        e = _last(real)
        assert (e.type, e.actor, e.data["login"]) == ("CredentialSet", "yamamoto", "yamamoto")
        assert b.get("/").url.path == "/"  # still signed in
        assert other.get("/").url.path == "/login"  # the session begun under the old password ended
        assert browser(real).login("yamamoto").status_code == 401
        assert browser(real).login("yamamoto", new).url.path == "/"

    def test_a_delegation_never_covers_credentials(self, real, browser):
        """R-I5: a clerk delegated by watanabe changes only their own password and makes
        only their own tokens: no field names another member, and watanabe's are untouched."""
        real.delegate(Actor("watanabe", "web"), "yamaguchi", valid_until=real.now() + dt.timedelta(days=30))
        c = _as(browser, real, "yamaguchi")
        new = "the-clerks-new-passphrase"
        c.post("/account/password", {"current": "pw-yamaguchi-2026", "password": new, "again": new,
                                     "login": "watanabe", "on_behalf_of": "watanabe"}, page="/account")
        e = _last(real)
        assert (e.type, e.actor, e.authority, e.data["login"]) == ("CredentialSet", "yamaguchi", "yamaguchi",
                                                                   "yamaguchi")
        assert browser(real).login("watanabe").url.path == "/"  # watanabe's own password still
        c.post("/account/tokens", {"name": "for watanabe?", "on_behalf_of": "watanabe", "login": "watanabe"},
               page="/account")
        e = _last(real)
        assert (e.type, e.authority, e.data["login"]) == ("TokenCreated", "yamaguchi", "yamaguchi")
        assert [t["name"] for t in accounts.tokens(real, "watanabe")] == []

    def test_a_training_database_says_passwords_are_not_used(self, training, browser):
        b = browser(training)
        b.switch("yamamoto")
        page = b.get("/account").text
        assert 'id="no-passwords"' in page and 'action="/account/password"' not in page
        r = b.post("/account/password", {"current": "x", "password": "y" * 12, "again": "y" * 12}, page="/account")
        assert r.status_code == 409

    def test_the_account_and_roster_links_are_in_the_header(self, real, browser):
        html = _as(browser, real, "yamamoto").get("/").text
        assert 'id="account" href="/account"' in html and 'href="/roster"' in html

    def test_english_pages_are_english(self, real, browser):
        b = _as(browser, real, "sato")
        b.get("/lang/en")
        for page in ("/roster", "/delegations", "/account", "/account/tokens?all=1"):
            html = b.get(page).text
            assert not re.search(r"[\u3040-\u30ff]", html.split("<main>")[1].split("</main>")[0]
                                 .replace("日本語", "")), page


# ---------------------------------------------------------------- only what is possible is offered
def test_every_offered_post_and_clerk_passes_a_dry_run(real, browser):
    """R-P1, R-P4, R-A1: each (body, post) an organiser's form offers, and each clerk a holder's
    select offers, is accepted by the engine's own call with `dry_run` (nothing written)."""
    before = fingerprint(real.store)
    for login in ("sato", "matsumoto", "watanabe"):
        b = _as(browser, real, login)
        html = b.get("/roster").text
        for body, form in re.findall(r'data-act="assign" data-body="([^"]+)">(.*?)</form>', html, re.S):
            for position in re.findall(r'<option value="([a-z_0-9]+)"', form.split('name="position"')[1]
                                       .split("</select>")[0]):
                real.assign(Actor(login, "web"), "yoshida", position, station=body, dry_run=True)
        for clerk in re.findall(r'<option value="([^"]+)"', b.get("/delegations").text.split('name="clerk"')[-1]
                                .split("</select>")[0]) if login == "watanabe" else []:
            real.delegate(Actor(login, "web"), clerk, valid_until=real.now() + dt.timedelta(days=1), dry_run=True)
    assert fingerprint(real.store) == before
