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

meeting_id() { "$KAIGI" --db "$DB" --json --as sato meeting list | python3 -c 'import json,sys; print(json.load(sys.stdin)[-1]["id"])'; }

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

# --- A station's council result climbs to the chief and becomes an HQ item (R-P1..R-P3)
item_id() { "$KAIGI" --db "$DB" --json --as sato item list | python3 -c 'import json,sys; print(json.load(sys.stdin)[-1]["id"])'; }
run --as matsumoto item file "水戸署管内の外国人集住地域における実態把握の結果について" --station mito
S=$(item_id)
# the station chief convenes the station council; convening puts the item before it (R-P2)
run --as matsumoto meeting convene station_council --at now --item "$S"
M=$(meeting_id)
run --as matsumoto meeting hold "$M"
run --as matsumoto item advance "$S" report --meeting "$M"
# through the general manager to the chief (R-P3)
run --as watanabe item advance "$S" relay
run --as sato item advance "$S" receive
run --as sato item advance "$S" escalate
H=$(item_id)
# the general manager has the secretariat record for him (R-A1), and orders a study (R-T5)
run --as watanabe roster delegate yamaguchi --until "$(date -d '+30 days' +%F)"
run --as watanabe order issue "$H" --to nakamura --note "集住地域の現地確認"
run --as nakamura order complete 1 --finding "3地区で通訳同行の巡回連絡が必要"
run --as yamaguchi meeting convene team_lead --at now --item "$H" --on-behalf-of watanabe
M=$(meeting_id)
run --as yamaguchi meeting hold "$M" --on-behalf-of watanabe
run --as yamaguchi item advance "$H" refer --meeting "$M" --on-behalf-of watanabe
run --as sato meeting convene council --at now --item "$H"
M=$(meeting_id)
run --as sato meeting hold "$M"
run --as watanabe item advance "$H" decide --meeting "$M"
# the station sees the HQ's decision on its own item
run --as matsumoto item show "$S"
run --as matsumoto item history "$S"

run audit verify
