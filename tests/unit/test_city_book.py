"""The second bundled rulebook (issue 19): the fictional Sakuragawa City HQ loads and
passes every check, shares no key with the Ibaraki book (so the engine can only have read
its words from the file), names every act in both languages, and its demo roster names
only its own posts, bodies and working groups."""

import tomllib
from importlib import resources

from workflows import bundled_rulebooks

CITY = "sakuragawa-tabunka"


def city():
    (book,) = bundled_rulebooks(CITY)
    return book


def ibaraki():
    return bundled_rulebooks()[-1]


def test_each_organisations_versions_stay_apart_r_v1():
    """A database adopts one organisation's versions: the default is Ibaraki's, alone."""
    assert {b.key for b in bundled_rulebooks()} == {"ibaraki-foreign-residents"}
    assert {b.key for b in bundled_rulebooks(None)} == {"ibaraki-foreign-residents", CITY}
    assert city().version not in {b.version for b in bundled_rulebooks()}


def test_the_city_book_shares_no_key_with_the_ibaraki_book():
    c, i = city(), ibaraki()
    assert c.key != i.key
    for part in ("body_kinds", "roles", "teams", "pillars", "positions", "meetings", "states"):
        assert not set(getattr(c, part)) & set(getattr(i, part)), part
    assert not c.triggers & i.triggers
    assert not {r.key for r in c.reminders} & {r.key for r in i.reminders}


def test_the_city_book_says_its_organisation_r_p1_r_p3():
    c = city()
    assert c.top_kind == "city_hq" and c.top_role == "mayor"
    assert c.head_of("district") == "district_head" and c.reports_up("district") == ["city_hq"]
    assert c.body_kinds["district"].through == ("secretary_general",)
    assert c.start_state("district") == "district_new" and c.start_state("city_hq") == "proposed"
    assert c.powers.top_in_body == "head"
    assert (c.meetings["hq_meeting"].convener, c.meetings["secretaries"].convener,
            c.meetings["working_group"].convener) == ("mayor", "secretary_general", "section_chief")


def test_every_act_has_a_title_in_both_languages():
    c = city()
    assert set(c.trigger_titles) == set(c.triggers)
    assert all(t.ja and t.en for t in c.trigger_titles.values())
    assert c.filing is not None and (c.filing.ja, c.filing.en) == ("提案", "propose")


def test_the_city_demo_names_only_the_books_posts_bodies_and_groups():
    c = city()
    data = tomllib.loads((resources.files("workflows") / "demo" / f"{CITY}.toml").read_text(encoding="utf-8"))
    bodies = {b["key"]: b["kind"] for b in data["bodies"]}
    assert set(bodies.values()) == {"district"}
    logins = {m["login"] for m in data["members"]}
    for m in data["members"]:
        assert m["position"] in c.positions, m
        role = c.positions[m["position"]].role
        kind = bodies[m["body"]] if "body" in m else c.top_kind
        assert c.roles[role].body == kind, m
        assert m.get("team") is None or m["team"] in c.teams, m
        assert m["name"] and m["name_en"]
    held = {c.positions[m["position"]].role for m in data["members"]}
    assert {"mayor", "secretary_general", "section_chief", "wg_member", "district_head", "clerk"} <= held
    assert all(it["filed_by"] in logins for it in data["items"])
    assert any(it.get("station") in bodies for it in data["items"])  # one item is a district's
