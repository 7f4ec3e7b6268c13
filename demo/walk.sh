#!/usr/bin/env bash
# Walk item 1 of the demo from `filed` to `closed`, each act by the member who holds the
# role for it, printing every command before it runs. Needs `kaigi init --demo` first.
set -euo pipefail
KAIGI=${KAIGI:-kaigi}
DB=${KAIGI_DB:-sqlite:///kaigi.db}

run() {
  echo "\$ kaigi $*"
  "$KAIGI" --db "$DB" "$@"
  echo
}

meeting_id() { "$KAIGI" --db "$DB" --json meeting list | python3 -c 'import json,sys; print(json.load(sys.stdin)[-1]["id"])'; }

run --as yamamoto item show 1

# 担当者会議: the implementation manager calls the team members she needs (R-S1, R-S2)
run --as yamamoto meeting convene staff --at now --item 1 --attendee nakamura --attendee yoshida
M=$(meeting_id)
run --as yamamoto meeting hold "$M"
run --as yamamoto item advance 1 refer --meeting "$M" --note "合同パトロールの実施計画案を作成"

# 班長会議: the general manager convenes and presides (R-T1..R-T3)
run --as watanabe meeting convene team_lead --at now --item 1
M=$(meeting_id)
run --as watanabe meeting hold "$M"
run --as watanabe item advance 1 refer --meeting "$M"

# 推進本部対策会議: the chief convenes and presides; the general manager records (R-C1..R-C5)
run --as sato meeting convene council --at now --item 1
M=$(meeting_id)
run --as sato meeting hold "$M"
run --as watanabe item advance 1 decide --meeting "$M" --note "実施を決定、進捗確認は90日ごと"

# two progress checks in later councils: the first confirms progress, the second closes it
run --as sato meeting convene council --at now --item 1
M=$(meeting_id)
run --as sato meeting hold "$M"
run --as watanabe item advance 1 check --meeting "$M"

run --as sato meeting convene council --at now --item 1
M=$(meeting_id)
run --as sato meeting hold "$M"
run --as watanabe item advance 1 close --meeting "$M" --note "実施完了"

# a step the rules do not allow is refused, and changes nothing
echo "\$ kaigi --as nakamura meeting convene council --at now   (a team leader may not call the council)"
"$KAIGI" --db "$DB" --as nakamura meeting convene council --at now || echo "(refused with exit $?)"
echo

run --as yamamoto item history 1
run audit verify
