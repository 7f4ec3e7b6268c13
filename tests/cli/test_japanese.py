"""The command line in Japanese reads as an HQ officer writes (issue 16, item 3): click's own
words (`Usage:`, `Options:`, `Show this message and exit.`, its errors) in Japanese; an act's
confirmation one sentence in words, people by name (not `filed → pre_review`, not
`RecordingDelegated を記録しました: id=1, clerk=…`); the history, `audit replay`,
`rulebook diff` and `rulebook cutover` in words. English stays English.
"""

import re
from typing import Any

from engine.core import events as ev

CLICK_ENGLISH = ("Usage:", "Options:", "Commands:", "Show this message and exit.", "Error:", "No such option",
                 "No such command", "Missing argument", "Try '", "for help", "Invalid value", "is not a valid",
                 "Got unexpected extra", "is not one of", "[OPTIONS]", "COMMAND [ARGS]")
LOGINS = ("sato", "watanabe", "yamamoto", "nakamura", "yoshida", "kobayashi", "yamaguchi", "kato", "matsumoto")


def ja(kaigi: Any, *args: str) -> Any:
    return kaigi("--lang", "ja", *args)


def keys_shown(text: str) -> list[str]:
    """State and trigger keys, event class names and logins a Japanese line shows bare: a key
    in brackets right after its word (`付議(refer)`, `推進中(in_progress)`) is allowed."""
    from engine.app import rulebooks

    keys: set[str] = set(ev.REGISTRY) | set(LOGINS)
    for b in rulebooks.bundled().books:
        keys |= set(b.states) | {t.trigger for t in b.transitions}
    text = re.sub(r"(?<=[^\s(、,])\([a-z_]+\)", "", text)
    return sorted({w for w in re.findall(r"[A-Za-z][A-Za-z0-9_]*", text) if w in keys})


def test_click_speaks_japanese_in_help_and_usage_errors(kaigi):
    """`--lang ja` (and KAIGI_LANG=ja): click's help and its usage errors in Japanese; the
    next English command in the same process is English again."""
    runs = [ja(kaigi, "--help"), ja(kaigi, "item", "--help"), ja(kaigi, "item", "advance", "--help"),
            ja(kaigi, "item", "advance"), ja(kaigi, "item", "show", "--nope"), ja(kaigi, "nope"),
            ja(kaigi, "item", "show", "abc"), ja(kaigi, "meeting", "list", "--status", "x"),
            ja(kaigi, "item", "show", "1", "2"), kaigi("item", "show", env={"KAIGI_LANG": "ja"})]
    for r in runs:
        shown = [s for s in CLICK_ENGLISH if s in r.output]
        assert not shown, (shown, r.output)
    assert re.search(r"使い方: (kaigi|cli) \[オプション\] コマンド \[引数\]\.\.\.", runs[0].output), runs[0].output
    assert "kaigi: 案件は組織の会議体を" in runs[0].output  # kaigi's own help follows --lang too
    assert "オプション:" in runs[0].output and "コマンド:" in runs[0].output
    assert "この説明を表示して終了します。" in runs[2].output
    assert runs[3].exit_code == 2 and "エラー: 次の引数がありません: 'ITEM_ID'." in runs[3].output
    assert re.search(r"説明は '(kaigi|cli) item show --help' で表示できます。", runs[4].output)
    assert "オプション '--nope' はありません。" in runs[4].output
    english = kaigi("item", "show", "--nope")
    assert "Error: No such option '--nope'." in english.output and "item show [OPTIONS] ITEM_ID" in english.output


def test_confirmations_are_one_sentence_in_words(demo_cli):
    """An act says what it did to which item, where, and the state it is in now, by title;
    a roster change as a sentence with names; never `filed → pre_review` or an event class."""
    m = ja(demo_cli, "--as", "yamamoto", "meeting", "convene", "staff", "--at", "2026-12-01 10:00", "--item", "1",
           "--attendee", "nakamura")
    assert m.exit_code == 0, m.output
    assert "担当者会議(会議1)を招集しました。出席者: 中村 八郎、山本 七子" in m.output
    ja(demo_cli, "--as", "yamamoto", "meeting", "hold", "1")
    r = ja(demo_cli, "--as", "yamamoto", "item", "advance", "1", "refer", "--meeting", "1")
    assert r.exit_code == 0, r.output
    line = r.output.strip().splitlines()[-1]
    assert re.fullmatch(r"案件1「外国人防犯ボランティア団体等との合同パトロールの実施について」を付議しました"
                        r"\(会議1「担当者会議」にて\)。「班長会議事前検討」になりました\(事象\d+\)", line), line
    would = ja(demo_cli, "--as", "yamamoto", "item", "advance", "2", "skip", "--dry-run")
    assert "について「担当者会議省略」を行うと「班長会議事前検討」になります(記録はしていません)" in would.output
    d = ja(demo_cli, "--as", "yamamoto", "roster", "delegate", "yamaguchi", "--until", "2026-12-31")
    assert d.exit_code == 0, d.output
    assert "山本 七子から山口 誠への記録事務の委任(委任1、" in d.output and "を記録しました(事象" in d.output
    a = ja(demo_cli, "--as", "sato", "roster", "assign", "kato", "team_leader", "--team", "chiiki")
    assert "加藤 十郎の推進本部班長・地域班への配置(配置" in a.output, a.output
    for out in (m, r, would, d, a):
        for line in out.output.splitlines():
            if "訓練用データベース" in line or line.startswith("  "):
                continue  # the training header; `meeting show`'s lines after a meeting act
            assert "→" not in line and "=" not in line, line
            assert not keys_shown(line), (keys_shown(line), line)
    english = demo_cli("--as", "yamamoto", "item", "advance", "3", "skip")
    assert re.search(r"item 3: filed -> pre_review by skip \(event \d+\)", english.output), english.output


def test_history_replay_diff_and_cutover_in_words(demo_cli):
    """The item's history and its replay say who did what by name, under which version,
    allowed or refused and why; the rulebook's diff and cutover in Japanese."""
    ja(demo_cli, "--as", "yamamoto", "item", "advance", "1", "skip")
    refused = ja(demo_cli, "--as", "yoshida", "item", "advance", "1", "withdraw")
    assert refused.exit_code == 3
    history = ja(demo_cli, "--as", "sato", "item", "history", "1")
    replay = ja(demo_cli, "--as", "sato", "audit", "replay", "1")
    for out in (history, replay):
        assert out.exit_code == 0, out.output
        body = "\n".join(x for x in out.output.splitlines() if "訓練用データベース" not in x)
        body = body.replace("Joint patrols with foreign volunteer crime-prevention groups (e.g. 「太陽」, 常総).", "")
        assert not keys_shown(body), (keys_shown(body), body)
        assert "山本 七子" in body and "担当者会議省略(skip): 起案 → 班長会議事前検討" in body
    assert "要綱 2024-10-01 に照らして許可" in replay.output
    assert re.search(r"案件の進行の試みを要綱 2024-10-01 により拒否。理由: .*総括責任者", replay.output), replay.output
    assert "許可: 許可" not in replay.output and "refused then" not in replay.output
    diff = ja(demo_cli, "--as", "sato", "rulebook", "diff", "2023-07-03", "2024-10-01")
    lines = [x for x in diff.output.splitlines() if "訓練用データベース" not in x]
    assert lines and all(re.match(r"(追加|削除|変更) \[(要綱|組織の種類|役割|班|職|会議|状態|遷移|督促)\] ", x)
                         for x in lines), lines
    cut = ja(demo_cli, "--as", "sato", "rulebook", "cutover", "2024-10-01")
    moves = [x for x in cut.output.splitlines() if x.startswith("  ")]
    assert moves, cut.output
    for x in moves:
        assert " から " in x and x.endswith(" へ") and "->" not in x and "nobody" not in x, x
        assert not keys_shown(x), (keys_shown(x), x)



def test_a_meeting_that_cannot_take_an_item_names_the_ones_that_can_in_japanese(demo_cli):
    """R-C1: a council cannot take a filed item; the Japanese refusal names the meeting that
    can (担当者会議), in Japanese, and no meeting of another body's path (the station council)."""
    r = ja(demo_cli, "--as", "sato", "meeting", "convene", "council", "--at", "now", "--item", "1")
    assert r.exit_code == 4, r.output
    assert "(必要な会議: 担当者会議)" in r.output, r.output
    assert "staff meeting" not in r.output and "署推進本部対策会議" not in r.output, r.output
    en = demo_cli("--lang", "en", "--as", "sato", "meeting", "convene", "council", "--at", "now", "--item", "1")
    assert "(it needs: staff meeting (担当者会議))" in en.output, en.output
