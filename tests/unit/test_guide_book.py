"""docs/writing-a-rulebook.md: its example book is a rulebook kaigi accepts as it stands, and
the pieces the guide walks through add up to that whole book."""

import re
from pathlib import Path

from workflows import parse_rulebook

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "writing-a-rulebook.md"


def toml_blocks() -> list[str]:
    return re.findall(r"```toml\n(.*?)```", GUIDE.read_text(encoding="utf-8"), re.DOTALL)


def guide_book_text() -> str:
    """The complete example book: the guide's last TOML block."""
    return toml_blocks()[-1]


def test_the_guides_example_book_parses_with_no_problems():
    book = parse_rulebook(guide_book_text(), "writing-a-rulebook.md")
    assert book.top_kind == "city" and book.top_role == "mayor"
    assert book.body_kinds["ward"].reports_to == "city" and book.head_of("ward") == "ward_chief"
    assert book.start_state("ward") == "ward_filed" and book.start_state("city") == "filed"
    assert book.trigger_titles["refer"].ja == "付議" and book.filing is not None


def test_the_guides_steps_add_up_to_the_whole_book():
    whole = parse_rulebook(guide_book_text(), "whole")
    pieces = parse_rulebook("\n".join(toml_blocks()[:-1]), "pieces")
    for part in ("body_kinds", "roles", "teams", "positions", "powers", "meetings", "states", "transitions",
                 "reminders", "pillars", "trigger_titles", "filing"):
        assert getattr(pieces, part) == getattr(whole, part), part


def test_the_guide_is_linked_and_points_nowhere_outside_the_repository():
    readme = (GUIDE.parents[1] / "README.md").read_text(encoding="utf-8")
    assert "docs/writing-a-rulebook.md" in readme
    assert "../shared" not in GUIDE.read_text(encoding="utf-8")


def test_the_guides_sample_problems_are_what_check_says():
    """Step 11 shows the problems of the example without the ward's head, organise_top and
    body_head: they are the check's own words, every one."""
    import pytest

    from workflows import RulebookInvalid

    text = GUIDE.read_text(encoding="utf-8")
    sample = re.search(r"```\n(example-city\.toml: .*?)```", text, re.DOTALL).group(1).strip().splitlines()
    gone = ('head = "ward_chief"', 'body_head = "ward_chief"', 'organise_top = ["mayor"]')
    book = "\n".join(line for line in guide_book_text().split("\n") if line not in gone)
    with pytest.raises(RulebookInvalid) as caught:
        parse_rulebook(book, "example-city.toml")
    assert caught.value.report().splitlines() == sample
