"""Rulebook versions (R-V1): the 2023 and 2024 books bundled, what the revision changed, the path drawn."""

import re

import pytest

from engine.app.diagrams import mermaid, text_diagram
from workflows.compare import Change, diff, render_diff, successors
from workflows import bundled_rulebooks, parse_rulebook


@pytest.fixture(scope="module")
def books():
    by_version = {b.version: b for b in bundled_rulebooks()}
    return by_version["2023-07-03"], by_version["2024-10-01"]


def posts_of(book, role):
    return sorted(k for k, p in book.positions.items() if p.role == role)


class TestBundled:
    def test_r_v1_both_versions_bundled_oldest_first(self):
        books = bundled_rulebooks()
        assert ["2023-07-03", "2024-10-01"] == [b.version for b in books]
        assert [b.effective_from.isoformat() for b in books] == [b.version for b in books]
        assert "2024-10-01" == books[-1].version  # the latest stays last
        assert "通達甲国搜第44号" in books[0].source and "通達甲組二第41号" in books[1].source

    def test_r_v1_implementation_manager_2023_is_kokusai_sosa_kacho(self, books):
        v2023, _ = books
        assert ["kokusai_sosa_kacho"] == posts_of(v2023, "implementation_manager")
        post = v2023.positions["kokusai_sosa_kacho"]
        assert ("国際捜査課長", "Director, International Investigation Division") == (post.title.ja, post.title.en)
        assert "R-V1" == post.rule and not post.assumed

    def test_r_v1_implementation_manager_2024_is_soshiki2_kacho(self, books):
        _, v2024 = books
        assert ["soshiki2_kacho"] == posts_of(v2024, "implementation_manager")
        assert "組織犯罪対策第二課長" == v2024.positions["soshiki2_kacho"].title.ja

    def test_r_v1_cyber_staff_officer_post_per_version(self, books):
        v2023, v2024 = books
        assert "サイバー戦略統括官" == v2023.positions["cyber_senryaku_tokatsukan"].title.ja
        assert "cyber_tokatsukan" not in v2023.positions
        assert "サイバー統括官" == v2024.positions["cyber_tokatsukan"].title.ja
        assert "cyber_senryaku_tokatsukan" not in v2024.positions

    def test_r_a1_2023_secretariat_is_the_international_division_and_assumed(self, books):
        v2023, v2024 = books
        assert ["kokusai_shomu"] == posts_of(v2023, "secretariat")
        assert v2023.positions["kokusai_shomu"].assumed  # inferred from the 国搜 code, DOMAIN.md §5.1
        assert ["soshiki2_shomu"] == posts_of(v2024, "secretariat")

    def test_nothing_precedes_2023(self, books):
        v2023, _ = books
        assert all(p.succeeds is None for p in v2023.positions.values())

    def test_r_v1_successors(self, books):
        v2023, v2024 = books
        assert {"kokusai_sosa_kacho": "soshiki2_kacho",
                "cyber_senryaku_tokatsukan": "cyber_tokatsukan"} == successors(v2023, v2024)
        assert {} == successors(v2024, v2023)


class TestDiff:
    def test_r_v1_diff_2023_2024_is_exactly_the_revision(self, books):
        changes = diff(*books)
        assert [
            ("rulebook.version", "changed"),
            ("rulebook.effective_from", "changed"),
            ("rulebook.source", "changed"),
            ("positions.cyber_senryaku_tokatsukan", "removed"),
            ("positions.cyber_tokatsukan", "added"),
            ("positions.kokusai_sosa_kacho", "removed"),
            ("positions.soshiki2_kacho", "added"),
            ("positions.kokusai_shomu", "removed"),
            ("positions.soshiki2_shomu", "added"),
        ] == [(c.key, c.kind) for c in changes]
        version = changes[0]
        assert ("2023-07-03", "2024-10-01") == (version.before, version.after)

    def test_r_v1_rendered_diff_is_bilingual_and_only_about_posts(self, books):
        text = render_diff(diff(*books), "en")
        assert 9 == len(text.splitlines())
        for words in ("国際捜査課長", "Director, International Investigation Division",
                      "組織犯罪対策第二課長", "Director, Organized Crime Control Division II",
                      "サイバー戦略統括官", "Director General for Cyber Strategy",
                      "サイバー統括官", "Director General for Cyber Affairs",
                      "implementation manager (実施責任者)", "staff officer (幕僚)"):
            assert words in text
        for section in ("meetings", "transitions", "reminders", "states", "roles.", "teams"):
            assert section not in text
        assert ("+ positions.soshiki2_kacho: 組織犯罪対策第二課長 / Director, Organized Crime Control Division II"
                " → implementation manager (実施責任者), succeeds kokusai_sosa_kacho (国際捜査課長)") in text.splitlines()
        assert ("- positions.kokusai_sosa_kacho: 国際捜査課長 / Director, International Investigation Division"
                " → implementation manager (実施責任者)") in text.splitlines()
        assert "~ rulebook.effective_from: 2023-07-03 → 2024-10-01" in text.splitlines()

    def test_diff_of_a_book_with_itself_is_empty(self, books):
        for book in books:
            assert [] == diff(book, book)
        assert "no differences" == render_diff([], "en")
        assert "差異なし" == render_diff([], "ja")

    def test_field_changes_name_their_path(self, books):
        _, v2024 = books
        text = (v2024.text
                .replace('members = ["general_manager", "implementation_manager", "team_leader"]',
                         'members = ["general_manager", "team_leader"]', 1)
                .replace("due = 14", "due = 21", 1)
                .replace('en = "HQ chief"', 'en = "head of the promotion HQ"', 1)
                .replace('trigger = "defer"', 'trigger = "postpone"', 1)
                .replace('[triggers.defer]', '[triggers.postpone]', 1))
        changed = {c.key: c for c in diff(v2024, parse_rulebook(text, "edited.toml"))}
        assert {"meetings.team_lead.members", "reminders.staff_meeting.due", "roles.chief.title",
                "transitions[defer from council (hq)]", "transitions[postpone from council (hq)]"} == set(changed)
        members = changed["meetings.team_lead.members"]
        assert ("changed", "general manager (総括責任者), team leader (班長)") == (members.kind, members.after)
        assert ("14", "21") == (changed["reminders.staff_meeting.due"].before, changed["reminders.staff_meeting.due"].after)
        assert "本部長 / head of the promotion HQ" == changed["roles.chief.title"].after
        assert "removed" == changed["transitions[defer from council (hq)]"].kind
        assert "推進本部対策会議" in changed["transitions[postpone from council (hq)]"].after

    def test_render_diff_line_forms(self):
        changes = [Change("a.b", "added", None, "x"), Change("c.d", "removed", "y", None),
                   Change("e.f", "changed", "1", "2")]
        assert "+ a.b: x\n- c.d: y\n~ e.f: 1 → 2" == render_diff(changes, "en")


class TestDiagrams:
    def test_mermaid_mentions_every_state_and_trigger(self, books):
        _, v2024 = books
        text = mermaid(v2024)
        assert text.startswith("stateDiagram-v2")
        for state in v2024.states:
            assert re.search(rf"\b{state}\b", text), state
        for trigger in v2024.triggers:
            assert re.search(rf": (.* \| )?{trigger} \[", text), trigger
        assert "council --> in_progress: decide [in a held HQ council]" in text
        assert "filed --> pre_review: refer [in a held staff meeting] | skip [implementation manager]" in text
        for state in ("closed", "rejected", "withdrawn", "escalated"):
            assert f"{state} --> [*]" in text
        assert "[*] --> filed" in text

    def test_mermaid_in_japanese(self, books):
        _, v2024 = books
        text = mermaid(v2024, "ja")
        assert text.startswith("stateDiagram-v2")
        assert "decide [開催された推進本部対策会議で]" in text and "skip [実施責任者]" in text
        assert 'state "班長会議事前検討" as pre_review' in text

    def test_text_diagram_lists_each_transition_once(self, books):
        _, v2024 = books
        groups = text_diagram(v2024, "en").split("\n\n")
        assert ["items of the promotion HQ (hq)", "items of the station HQ (station)"] == [
            g.splitlines()[0] for g in groups]
        for group, kind in zip(groups, ("hq", "station"), strict=True):
            lines = group.splitlines()[1:]
            expected = [t for t in v2024.transitions if t.items == kind]
            assert len(expected) == len(lines)
            for t in expected:
                prefix = f"  {t.source} --{t.trigger}--> {t.dest}  (needs "
                assert 1 == sum(line.startswith(prefix) for line in lines), prefix
        text = text_diagram(v2024, "en")
        assert "  filed --skip--> pre_review  (needs implementation manager)" in text
        assert "  council --decide--> in_progress  (needs a held HQ council)" in text
        assert "  filed --refer--> pre_review  (要: 開催された担当者会議)" in text_diagram(v2024, "ja")
