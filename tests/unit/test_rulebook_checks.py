"""`kaigi rulebook check` on another organisation's book (issue 19): each problem of the
organisation's shape — top kind, reports_to, through, head, start, trigger titles, powers —
is one line naming the file, the key, what is expected and what was found, in English and
Japanese. Each test breaks the guide's example book (docs/writing-a-rulebook.md) one way."""

import pytest

from engine.app.rulebooks import problem_line
from engine.i18n import catalog
from tests.unit.test_guide_book import guide_book_text
from workflows import RulebookInvalid, bundled_rulebooks, parse_rulebook
from workflows.checks import MESSAGES

SOURCE = "city.toml"


def problems(text: str) -> dict[str, list[str]]:
    """key -> what was expected, for every problem found."""
    with pytest.raises(RulebookInvalid) as caught:
        parse_rulebook(text, SOURCE)
    out: dict[str, list[str]] = {}
    for p in caught.value.problems:
        assert p.source == SOURCE
        out.setdefault(p.key, []).append(p.expected)
    return out


def broken(old: str, new: str, text: str | None = None) -> str:
    text = guide_book_text() if text is None else text
    assert old in text, old
    return text.replace(old, new, 1)


WARD = '[body_kinds.ward]\nja = "区推進本部"\nen = "ward office"\n'


def test_both_bundled_books_pass_the_new_checks():
    assert [b.version for b in bundled_rulebooks()] == ["2023-07-03", "2024-10-01"]


def test_at_most_one_top_kind():
    found = problems(broken(WARD, WARD + "top = true\n"))
    assert found["body_kinds.ward.top"] == ["at most one body kind with top = true; 'city' says it too"]


def test_reports_to_names_a_body_kind():
    found = problems(broken('reports_to = "city"', 'reports_to = "county"'))
    assert found["body_kinds.ward.reports_to"] == ["a body kind (one of city, ward), got 'county'"]


def test_reports_to_is_not_the_kind_itself():
    found = problems(broken('reports_to = "city"', 'reports_to = "ward"'))
    assert found["body_kinds.ward.reports_to"] == [
        "the key of another body kind (the kind its bodies report up to), not 'ward' itself"]


DISTRICT = '[body_kinds.district]\nja = "地区"\nen = "district"\nhead = "district_chief"\n'
DISTRICT_ROLE = '[roles.district_chief]\nja = "地区長"\nen = "district chief"\nbody = "district"\n\n'


def test_reports_to_has_no_loop():
    text = broken('reports_to = "city"', 'reports_to = "district"')
    text = broken("[roles.mayor]", DISTRICT_ROLE + "[roles.mayor]",
                  broken(WARD, DISTRICT.replace("head =", 'reports_to = "ward"\nhead =') + "\n" + WARD, text))
    text = text.replace('through = ["coordinator"]\n', "")
    found = problems(text)
    assert found["body_kinds.ward.reports_to"] == [
        "a chain of reports_to that ends at the top kind 'city', got a loop: ward -> district -> ward"]
    assert found["body_kinds.district.reports_to"] == [
        "a chain of reports_to that ends at the top kind 'city', got a loop: district -> ward -> district"]


def test_every_chain_ends_at_the_top_kind_and_each_lower_kind_has_a_head():
    text = broken('reports_to = "city"', 'reports_to = "district"')
    text = broken(WARD, '[body_kinds.district]\nja = "地区"\nen = "district"\n\n' + WARD, text)
    text = text.replace('through = ["coordinator"]\n', "")
    found = problems(text)
    assert found["body_kinds.ward.reports_to"] == [
        ("a chain of reports_to that ends at the top kind 'city': ward -> district stops at 'district', which "
        "reports to no one; give 'district' a reports_to, or make it the top kind")]
    assert found["body_kinds.district.head"] == [
        ("a role heading a 'district' body (R-P1): add head = \"ROLE\" under [body_kinds.district], ROLE a role "
        "with body = \"district\"; [powers] body_head 'ward_chief' heads a 'ward' body")]


def test_a_lower_kind_without_any_head_is_told_what_to_add():
    text = broken('head = "ward_chief"\n', "", broken('body_head = "ward_chief"\n', ""))
    found = problems(text)
    assert found["body_kinds.ward.head"] == [
        ("a role heading a 'ward' body (R-P1): add head = \"ROLE\" under [body_kinds.ward], ROLE a role with "
        "body = \"ward\"; [powers] body_head 'station_chief' is not a role of this book")]
    assert found["powers.body_head"] == [
        ("roles defined under [roles], got unknown 'station_chief': kaigi's default, as [powers] does not say "
        "body_head; say body_head = \"ROLE\" with a role of this book")]


def test_through_roles_exist_and_belong_to_the_kind_reported_to():
    found = problems(broken('through = ["coordinator"]', 'through = ["ward_member", "clerk"]'))
    assert found["body_kinds.ward.through"] == [
        "roles of the 'city' body it reports to, got 'ward_member' (a role of a 'ward' body)",
        "roles defined under [roles], got unknown 'clerk'"]


def test_head_is_a_role_of_its_own_kind():
    found = problems(broken('head = "ward_chief"', 'head = "mayor"'))
    assert found["body_kinds.ward.head"] == ["a role whose body is 'ward', got 'mayor' (a role of a 'city' body)"]
    found = problems(broken('head = "ward_chief"', 'head = "kucho"'))
    assert found["body_kinds.ward.head"] == ["roles defined under [roles], got unknown 'kucho'"]


def test_start_is_a_declared_open_state():
    found = problems(broken('start = "ward_filed"', 'start = "closed"'))
    assert found["body_kinds.ward.start"] == [
        "an open state (items filed there begin in it), got 'closed', which is final"]
    found = problems(broken('start = "ward_filed"', 'start = "ward_open"'))
    assert found["body_kinds.ward.start"][0].startswith("a state (one of closed, escalated, filed, ")
    assert found["body_kinds.ward.start"][0].endswith(", got 'ward_open'")


def test_trigger_titles_name_triggers_of_transitions():
    found = problems(broken("[triggers.escalate]", "[triggers.escalte]"))
    assert found["triggers.escalte"] == [
        ("the trigger of some transition (one of close, decide, escalate, refer, reject, report, table, withdraw), "
        "got 'escalte'")]


def test_items_roles_and_meetings_name_body_kinds():
    text = broken('items = "ward"', 'items = "wards"')
    text = broken('body = "ward"', 'body = "ku"', text)  # the role ward_chief
    text = broken('body = "ward"\nconvener', 'body = "warde"\nconvener', text)
    found = problems(text)
    assert found["transitions[5].items"] == ["a body kind (one of city, ward), got 'wards'"]
    assert found["roles.ward_chief.body"] == ["a body kind (one of city, ward), got 'ku'"]
    assert found["meetings.ward_meeting.body"] == ["a body kind (one of city, ward), got 'warde'"]


def test_powers_roles_exist_and_organise_top_belongs_to_the_top_kind():
    text = broken('organise_top = ["mayor"]', 'organise_top = ["ward_chief"]')
    text = broken('order = ["coordinator"]', 'order = ["boss"]', text)
    text = broken('top_in_body = "head"', 'top_in_body = "some"', text)
    found = problems(text)
    assert found["powers.organise_top"] == ["roles of the top body kind 'city', got 'ward_chief' (a role of a 'ward' body)"]
    assert found["powers.order"] == ["roles defined under [roles], got unknown 'boss'"]
    assert found["powers.top_in_body"] == ["\"head\" or \"all\", got 'some'"]


def test_a_power_left_unsaid_is_explained_as_kaigis_default():
    found = problems(broken('organise_top = ["mayor"]\n', ""))
    assert found["powers.organise_top"] == [
        ("roles defined under [roles], got unknown 'chief': kaigi's default, as [powers] does not say organise_top; "
        "say organise_top = [\"ROLE\"] with a role of this book")]


def test_the_top_kind_has_a_role_and_reports_to_no_one():
    text = broken('top = true\n', 'reports_to = "region"\n')
    text = broken("[body_kinds.city]", '[body_kinds.region]\nja = "広域"\nen = "region"\ntop = true\n\n'
                  "[body_kinds.city]", text)
    found = problems(text)
    assert found["body_kinds.region"] == [
        ("at least one role with body = \"region\" under [roles]: the top body's organiser, the role "
        "`kaigi init --chief` gives the first member")]
    assert found["body_kinds.city.head"]  # city is now below the top: it needs a head too
    assert found["powers.organise_top"] == ["roles of the top body kind 'region', got 'mayor' (a role of a 'city' body)"]


def test_every_problem_at_once_in_japanese_too():
    """Several mistakes: all listed; each says itself in Japanese from the catalog."""
    text = broken('head = "ward_chief"', 'head = "mayor"', broken('start = "ward_filed"', 'start = "closed"'))
    with pytest.raises(RulebookInvalid) as caught:
        parse_rulebook(text, SOURCE)
    ja = [problem_line(p, "ja") for p in caught.value.problems]
    en = [problem_line(p, "en") for p in caught.value.problems]
    assert en == [str(p) for p in caught.value.problems]
    assert "city.toml: body_kinds.ward.head: body が「ward」の役割であるべきところ、「mayor」は「city」の組織の役割です" in ja
    assert "city.toml: body_kinds.ward.start: 開いた状態（ここで起案された案件が始まる状態）であるべきところ、" \
           "「closed」は終わりの状態です" in ja


def test_the_catalog_says_every_check_message_in_both_languages_as_the_checks_do():
    for code, english in MESSAGES.items():
        entry = catalog()[f"rbcheck.{code}"]
        assert entry["en"] == english and entry["ja"], code
