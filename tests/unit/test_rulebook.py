"""The rulebook is data, validated on load: every problem listed with file, key and expectation."""

import pytest

from workflows import RulebookInvalid, bundled_rulebooks, parse_rulebook


def bundled_text():
    return bundled_rulebooks()[-1].text


class TestBundled:
    def test_bundled_2024_version_loads(self):
        book = next(b for b in bundled_rulebooks() if b.version == "2024-10-01")
        assert "組織犯罪対策第二課長" == book.positions["soshiki2_kacho"].title.ja  # R-V1
        assert "implementation_manager" == book.positions["soshiki2_kacho"].role
        assert ("本部長", "HQ chief") == (book.roles["chief"].title.ja, book.roles["chief"].title.en)
        assert "chief" == book.meetings["council"].convener  # R-C3
        assert "general_manager" == book.meetings["team_lead"].convener  # R-T3
        assert "implementation_manager" == book.meetings["staff"].convener  # R-S1

    def test_reminder_defaults_are_marked_as_settings(self):
        book = bundled_rulebooks()[-1]
        staff = next(r for r in book.reminders if r.key == "staff_meeting")
        assert (14, ("implementation_manager",), 7, ("general_manager",)) == (
            staff.due, staff.remind, staff.escalate[0].after, staff.escalate[0].to)
        assert all(r.setting for r in book.reminders)


class TestMalformed:
    def test_every_problem_is_listed(self):
        """Three independent mistakes: all three reported, each naming the file and key."""
        text = (bundled_text()
                .replace('convener = "chief"', 'convener = "cheif"', 1)
                .replace('to = "in_progress"', 'to = "in_progres"', 1)
                .replace('role = "deputy_chief"', 'role = "deputy"', 1))
        with pytest.raises(RulebookInvalid) as caught:
            parse_rulebook(text, "prefecture-x.toml")
        lines = caught.value.report().splitlines()
        assert all(line.startswith("prefecture-x.toml: ") for line in lines)
        joined = "\n".join(lines)
        assert "meetings.council.convener: a role" in joined and "'cheif'" in joined
        assert "transitions[4].to: a state" in joined and "'in_progres'" in joined
        assert "positions.keimu_bucho.role: a role" in joined

    def test_missing_and_mistyped_keys(self):
        text = bundled_text().replace('ja = "推進本部対策会議"\n', "", 1).replace("due = 14", 'due = "14"', 1)
        with pytest.raises(RulebookInvalid) as caught:
            parse_rulebook(text, "x.toml")
        joined = caught.value.report()
        assert "x.toml: meetings.council.ja: missing; expected a string" in joined
        assert "x.toml: reminders[0].due: expected an integer, got '14'" in joined

    def test_not_toml(self):
        with pytest.raises(RulebookInvalid, match=r"x\.toml: \(file\): valid TOML"):
            parse_rulebook("[rulebook\n", "x.toml")

    def test_unreachable_state_and_duplicate_edge(self):
        text = bundled_text() + '\n[states.limbo]\nja = "x"\nen = "x"\n\n[[transitions]]\ntrigger = "skip"\n' \
            'from = "filed"\nto = "pre_review"\nroles = ["chief"]\nitems = "hq"\nrule = "R-S1"\n'
        with pytest.raises(RulebookInvalid) as caught:
            parse_rulebook(text, "x.toml")
        joined = caught.value.report()
        assert "states.limbo: a state some transition leads to" in joined
        assert "one transition per trigger and state; 'skip' from 'filed' twice" in joined


class TestPowers:
    def test_powers_are_rulebook_data_and_checked(self):
        """R-T5, R-P1, R-V1: who orders, organises and adopts comes from [powers], checked on load."""
        book = bundled_rulebooks()[-1]
        assert (("general_manager",), ("team_leader",), "pre_review") == (
            book.powers.order, book.powers.ordered, book.powers.order_state)
        text = bundled_text().replace('order = ["general_manager"]', 'order = ["gm"]', 1)
        with pytest.raises(RulebookInvalid, match=r"powers\.order: roles defined under"):
            parse_rulebook(text, "x.toml")
