#!/usr/bin/env bash
# nexsync into a local folder: layout, manifests and SHA-256, order, no-op
# re-run, --items, links, quota rollover (events and starred items stay),
# star/unstar/rm, pull (verified, never outside the target), crash safety,
# the lock, --watch, and nexls listing the backup like a card.
. "$(dirname "$0")/lib.sh"
cd "$WORK"
command -v jq >/dev/null || { echo "jq missing" >&2; exit 125; }
export NEX_SYNC_WORK_DIR="$WORK/state" NEX_CONFIG="$WORK/config.yaml"
: > "$NEX_CONFIG"
summary() { tail -1 "$WORK/out" | jq -r ".$1"; }
sha() { sha256sum "$1" | cut -d' ' -f1; }
# every file a manifest lists is there with its size and SHA-256
verify_manifest() {
  local root=$1 m=$2 serial
  serial=$(jq -r .serial "$m")
  jq -r '.files[] | "\(.key) \(.size) \(.sha256)"' "$m" | while read -r key size want; do
    [ -f "$root/$serial/$key" ] || fail "$m: $key missing"
    assert_eq "$(stat -c %s "$root/$serial/$key")" "$size" "($key size)"
    assert_eq "$(sha "$root/$serial/$key")" "$want" "($key sha256)"
  done
}

# A Nexar Pro: a 2-minute drive with both cameras and a hard brake, a parking
# incident, a 1-minute road-only drive.
nexsim init card --model pro --capacity 8G --serial PRO-L1 -q
nexsim drive card --start 2026-11-20T08:12:00 --duration 2m --interior --event hard-brake@1m -q >/dev/null
nexsim park card --duration 2h --incident impact@1h -q >/dev/null
nexsim drive card --start 2026-11-20T12:00:00 --duration 1m -q >/dev/null
ev=$(nexls card --events --kind hard-brake --format ndjson | jq -r .id)
pk=$(nexls card --events --kind parking-impact --format ndjson | jq -r .id)

# --- the plan: events newest first, then drives oldest first; nothing written
expect_exit 0 nexsync card bk --dry-run --format json
assert_eq "$(jq -r '[.items[].item]|join(" ")' "$WORK/out")" \
  "PRO-L1/events/$pk PRO-L1/events/$ev PRO-L1/drives/20261120_081200 PRO-L1/drives/20261120_120000"
assert_eq "$(jq -r '[.items[].action]|unique|join(",")' "$WORK/out")" "would upload"
assert_eq "$(jq -r '.items[1].estimated' "$WORK/out")" true
[ "$(jq -r '.items[1].bytes' "$WORK/out")" -gt 1000000 ] || fail "no size in the plan"
[ ! -e bk ] || fail "--dry-run wrote the destination"

# --- the backup; --drives full: original segments under footage/<day>/
expect_exit 0 nexsync card bk --drives full --format ndjson
assert_eq "$(summary items_uploaded)" 4
assert_eq "$(jq -r 'select(.action)|.item' "$WORK/out" | head -1)" "PRO-L1/events/$pk"
for f in road.mp4 interior.mp4 event.json; do [ -f "bk/PRO-L1/events/$ev/$f" ] || fail "events/$ev/$f missing"; done
[ -f "bk/PRO-L1/events/$pk/road.mp4" ] && [ ! -e "bk/PRO-L1/events/$pk/interior.mp4" ] || fail "parking clip layout"
[ -f bk/PRO-L1/drives/20261120_081200/drive.json ] || fail "drive manifest missing"
[ -f bk/PRO-L1/footage/20261120/20261120_081200_1.mp4 ] || fail "footage missing"
cmp card/drive/20261120_081200_2.mp4 bk/PRO-L1/footage/20261120/20261120_081200_2.mp4 || fail "footage differs"
cmp "card/drive/$(jq -r '.records.parking.id' "bk/PRO-L1/events/$pk/event.json")_U.mp4" "bk/PRO-L1/events/$pk/road.mp4" ||
  fail "parking clip differs"
for m in bk/PRO-L1/*/*/*.json; do verify_manifest bk "$m"; done
assert_eq "$(jq -r '.files|length' bk/PRO-L1/drives/20261120_081200/drive.json)" 10   # 2 x (road, interior, jpg, gps, acc)
assert_eq "$(jq -r '.records.events.kind' "bk/PRO-L1/events/$ev/event.json")" hard-brake
[ -z "$(find bk -name '.*')" ] || fail "temporary files left behind"
# the event clip: 20 s before to 10 s after
d=$(ffprobe -v error -show_entries format=duration -of csv=p=0 "bk/PRO-L1/events/$ev/road.mp4")
awk -v d="$d" 'BEGIN{exit !(d>29.8 && d<30.2)}' || fail "event clip lasts $d s"

# --- a re-run sends nothing
expect_exit 0 nexsync card bk --drives full --format ndjson
assert_eq "$(summary items_up_to_date)" 4
assert_eq "$(summary bytes_sent)" 0
assert_eq "$(wc -l < "$WORK/out")" 1   # only the summary: nothing happened

# --- nexls lists the backup with the card's keys
nexls card --events --format ndjson | jq -c '{type,id,kind,time,peak_g}' > card_events
nexls bk --events --format ndjson | jq -c '{type,id,kind,time,peak_g}' > bk_events
cmp card_events bk_events || fail "nexls of the backup differs from the card"
nexls card --format ndjson | jq -c '{type,id,start,"end":.end,distance_km,score}' > card_drives
nexls bk --format ndjson | jq -c '{type,id,start,"end":.end,distance_km,score}' > bk_drives
cmp card_drives bk_drives || fail "drives differ"
assert_eq "$(nexls bk --segments --format ndjson | wc -l)" 3
assert_eq "$(nexls bk/PRO-L1 --parking --format ndjson | jq -r .event)" "$pk"
expect_exit 2 nexls bk --check

# --- --items: just the hard brake, into another folder
nexls card --events --kind hard-brake --format ndjson | nexsync card bk2 --items - --format ndjson > items.out
assert_eq "$(jq -r 'select(.action)|.item' items.out)" "PRO-L1/events/$ev"
assert_eq "$(ls bk2/PRO-L1)" events

# --- --clip: a saved clip of both cameras
expect_exit 0 nexsync card bk2 --clip "08:12:30/+10s=Near miss" --drives none --format ndjson
c=bk2/PRO-L1/clips/20261120_081230_near-miss
for f in road.mp4 interior.mp4 clip.json; do [ -f "$c/$f" ] || fail "$c/$f missing"; done
d=$(ffprobe -v error -show_entries format=duration -of csv=p=0 "$c/interior.mp4")
awk -v d="$d" 'BEGIN{exit !(d>9.9 && d<10.1)}' || fail "the clip lasts $d s"
assert_eq "$(nexls bk2 --clips --format ndjson | jq -r .id)" 20261120_081230_near-miss
expect_exit 2 nexls card --clips

# --- links: mobile carries events only (default); the config may say more
expect_exit 0 nexsync card bk3 --link mobile --format ndjson
assert_eq "$(jq -r 'select(.action=="uploaded")|.type' "$WORK/out" | sort -u | tr '\n' ' ')" "event parking "
assert_eq "$(jq -r 'select(.action=="waits for wifi")|.type' "$WORK/out" | sort -u)" drive
printf 'nexsync:\n  links:\n    mobile: {carry: all}\n' > "$NEX_CONFIG"
expect_exit 0 nexsync card bk3 --link mobile --drives none --dry-run --format ndjson
assert_eq "$(jq -r 'select(.action=="would upload")|.type' "$WORK/out" | wc -l)" 0
: > "$NEX_CONFIG"

# --- star, quota rollover (events and starred drives stay), exit 3
expect_exit 0 nexsync star bk/PRO-L1/drives/20261120_081200
assert_eq "$(jq -r .starred bk/PRO-L1/drives/20261120_081200/drive.json)" true
verify_manifest bk bk/PRO-L1/drives/20261120_081200/drive.json
nexsim drive card --start 2026-11-20T14:00:00 --duration 1m -q >/dev/null
# room for the events, the starred drive and one more minute of footage
q=$(( $(du -sb bk | cut -f1) + 10000000 ))
expect_exit 0 nexsync card bk --drives full --max-size "$q" --format ndjson
assert_eq "$(jq -r 'select(.action=="deleted")|.item' "$WORK/out")" "PRO-L1/drives/20261120_120000"
assert_eq "$(jq -r 'select(.action=="uploaded")|.item' "$WORK/out")" "PRO-L1/drives/20261120_140000"
[ -d "bk/PRO-L1/events/$ev" ] && [ -d "bk/PRO-L1/events/$pk" ] || fail "rollover took an event"
[ -f bk/PRO-L1/drives/20261120_081200/drive.json ] || fail "rollover took the starred drive"
[ ! -e bk/PRO-L1/footage/20261120/20261120_120000_1.mp4 ] || fail "the rolled-over drive's footage is still there"
[ "$(du -sb bk | cut -f1)" -le "$q" ] || fail "over the cap"
# a cap the events alone fill: continuous footage waits, exit 3
expect_exit 3 nexsync card bk --drives full --max-size 60M --format ndjson
assert_contains "$WORK/out" '"action":"left out"'
[ -d "bk/PRO-L1/events/$ev" ] || fail "an event was rolled over"
expect_exit 0 nexsync unstar bk/PRO-L1/drives/20261120_081200
assert_eq "$(jq -r .starred bk/PRO-L1/drives/20261120_081200/drive.json)" false

# --- pull: verified against the manifest, into a folder that is a backup itself
nexls bk --events --format ndjson | nexsync pull --items - --to got --format ndjson > pull.out
assert_eq "$(jq -r .action pull.out | sort -u)" downloaded
for m in got/PRO-L1/events/*/event.json; do verify_manifest got "$m"; done
cmp "bk/PRO-L1/events/$ev/road.mp4" "got/PRO-L1/events/$ev/road.mp4" || fail "pulled file differs"
assert_eq "$(nexls got --events --format ndjson | wc -l)" 2
expect_exit 0 nexsync pull --from bk "$ev" --to got --format ndjson
assert_eq "$(jq -r .action "$WORK/out")" present
# a damaged backup file is refused and kept aside
cp -r bk bad && printf 'X' | dd of="bad/PRO-L1/events/$ev/road.mp4" bs=1 seek=1000 conv=notrunc 2>/dev/null
expect_exit 3 nexsync pull "bad/PRO-L1/events/$ev" --to got2
assert_contains "$WORK/err" "does not match the manifest"
[ ! -e "got2/PRO-L1/events/$ev/road.mp4" ] || fail "a damaged file was accepted"
# hostile manifests: keys leaving the target folder, a planted symlink
mkdir -p "evil/PRO-L1/events/$ev" outside
jq '.files[0].key="../../../../outside/pwned"' "bk/PRO-L1/events/$ev/event.json" > "evil/PRO-L1/events/$ev/event.json"
expect_exit 3 nexsync pull "evil/PRO-L1/events/$ev" --to got3
assert_contains "$WORK/err" "unsafe file key"
jq '.files[0].key="/tmp/pwned"' "bk/PRO-L1/events/$ev/event.json" > "evil/PRO-L1/events/$ev/event.json"
expect_exit 3 nexsync pull "evil/PRO-L1/events/$ev" --to got3
mkdir -p got4 && ln -s "$WORK/outside" got4/PRO-L1
expect_exit 3 nexsync pull "bk/PRO-L1/events/$ev" --to got4
assert_contains "$WORK/err" "symbolic link"
[ -z "$(ls outside)" ] || fail "pull wrote outside its folder"
# a partial download resumes
mkdir -p got5/PRO-L1/events/"$ev"
head -c 5000000 "bk/PRO-L1/events/$ev/road.mp4" > "got5/PRO-L1/events/$ev/.road.mp4.part"
expect_exit 0 nexsync pull "bk/PRO-L1/events/$ev" --to got5 -v
assert_contains "$WORK/err" "resuming"
cmp "bk/PRO-L1/events/$ev/road.mp4" "got5/PRO-L1/events/$ev/road.mp4" || fail "resumed download differs"

# --- rm: explicit and final (no terminal here: no question)
expect_exit 0 nexsync rm --from bk "events/$pk" --format ndjson
assert_eq "$(jq -r .action "$WORK/out")" deleted
[ ! -e "bk/PRO-L1/events/$pk" ] || fail "rm left the item"
expect_exit 1 nexsync rm --from bk "events/$pk"
assert_contains "$WORK/err" "no item"

# --- crash safety: kill -9 after a copy, before the manifest; the re-run finishes
NEX_SYNC_FAULT=after-copy:2 nexsync card bk6 --drives full -q >/dev/null 2>&1 && fail "the fault did not fire"
[ -n "$(find bk6 -name '.*.tmp-*')" ] || fail "expected a temporary file from the killed run"
NEX_SYNC_FAULT=before-manifest:1 nexsync card bk6 --drives full -q >/dev/null 2>&1 && fail "the fault did not fire"
expect_exit 0 nexsync card bk6 --drives full --format ndjson -v
assert_eq "$(summary items_failed)" 0
assert_not_contains "$WORK/err" "making"   # the clips cut before the crash are reused
[ "$(summary files_present)" -gt 0 ] || fail "files already copied were copied again"
[ -z "$(find bk6 -name '.*')" ] || fail "stale temporary files left"
for m in bk6/PRO-L1/*/*/*.json; do verify_manifest bk6 "$m"; done

# --- one nexsync per card and destination; a dead holder leaves no lock
# A --watch run holds the lock (its pid in the lock file once it has it); a
# second run is refused; kill -9 frees it.
lock="$NEX_SYNC_WORK_DIR/PRO-L1-$(printf '%s' "$WORK/bk6" | sha256sum | cut -c1-12)/lock"
[ -f "$lock" ] || fail "no lock file at $lock"
nexsync card bk6 --drives full --watch -q >/dev/null 2>&1 & holder=$!
holds_lock() { [ "$(cat "$lock")" = "$holder" ]; }
wait_for 300 "the --watch run (pid $holder) to take the lock" holds_lock
expect_exit 1 nexsync card bk6 --drives full
assert_contains "$WORK/err" "another nexsync is syncing"
assert_contains "$WORK/err" "pid $holder"
kill -9 "$holder"; wait "$holder" 2>/dev/null || true
expect_exit 0 nexsync card bk6 --drives full -q

# --- Nexar One: clips only (no drives by default)
nexsim init one --model one --capacity 8G --serial ONE-1 -q
nexsim drive one --start 2026-11-21T09:00:00 --duration 1m --event hard-brake@30s -q >/dev/null
expect_exit 0 nexsync one bk7 --dry-run --format ndjson
assert_eq "$(jq -r 'select(.action)|.type' "$WORK/out" | sort -u)" event

# --- bad input
expect_exit 2 nexsync card
expect_exit 2 nexsync card bk --part-size 1M
expect_exit 2 nexsync card card/drive
expect_exit 1 nexsync nocard bk
expect_exit 2 nexsync card bk --clip 08:13:00

# --- --watch: a new parking incident is backed up within seconds
nexsync card bk8 --watch --drives none --format ndjson > watch.out 2> watch.err & w=$!
# (each wait also ends if the --watch run died; the checks below then say so)
watch_wrote() { grep -q "$1" watch.out 2>/dev/null || ! kill -0 $w 2>/dev/null; }
wait_for 300 "--watch to back up what the card had ($pk)" watch_wrote "$pk"
nexsim park card --duration 1h --incident impact@5m -q >/dev/null
new=$(nexls card --events --kind parking-impact --format ndjson | jq -r .id | sort | tail -1)
backed_up() { [ -f "bk8/PRO-L1/events/$new/event.json" ] || ! kill -0 $w 2>/dev/null; }
wait_for 300 "--watch to back up the new incident $new" backed_up
kill -INT $w; set +e; wait $w; rc=$?; set -e
[ -f "bk8/PRO-L1/events/$new/event.json" ] || { cat watch.err; fail "--watch did not back up $new"; }
assert_eq "$rc" 130
verify_manifest bk8 "bk8/PRO-L1/events/$new/event.json"
echo "nexsync local: ok"
