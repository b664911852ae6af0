#!/usr/bin/env bash
# Upload while driving from a camera over Wi-Fi (#17): `nexsync http://CAM
# --watch --drives full` follows `nexsim serve --record` (a real HTTP camera
# recording in real time). The camera lists the segment it is writing as
# incomplete: the watcher backs each closed segment up while the drive goes
# on ("in progress", drive.json "open"), never the one being written, and
# makes the drive final once the camera stops recording.
# The camera records at 1x (a segment a minute): the watcher has a minute
# after each close to back it up, twice, so a busy machine is slow, not
# wrong.
. "$(dirname "$0")/lib.sh"
cd "$WORK"
command -v jq >/dev/null && command -v curl >/dev/null || { echo "jq or curl missing" >&2; exit 125; }
export NEX_CONFIG="$WORK/config.yaml"
: > "$NEX_CONFIG"

nexsim init card --model pro --capacity 8G --serial PRO-CW -q
nexsim serve card --listen 127.0.0.1:0 --ready-file ready --record 2m30s --speed 1x -v >serve.out 2>serve.err &
server=$!
wait_for 60 "nexsim serve to be ready" test -s ready
CAM=$(cat ready)
nexsync "$CAM" bk --mirror mirror --work-dir work --drives full --watch --format ndjson -v >watch.out 2>watch.err &
w=$!
ended() { grep -q "recording ended" serve.err; }
drive_json() { ls bk/PRO-CW/drives/*/drive.json 2>/dev/null | head -1; }

# While the camera records: the drive is backed up open, with its closed segments.
open_seen() {
  local m; m=$(drive_json)
  { [ -n "$m" ] && [ "$(jq -r '.open // false' "$m")" = true ]; } || ended || ! kill -0 $w 2>/dev/null
}
wait_for 200 "the watcher to back the drive up open" open_seen
kill -0 $w 2>/dev/null || { cat watch.err; fail "the watcher died"; }
! ended || fail "the drive was never backed up open while the camera recorded (or this machine is over a minute behind)"
m=$(drive_json)
# every file it lists is the camera's, byte for byte, and none is the one being written
active=$(curl -sf "$CAM/api/info" | jq -r '.active // ""')
for k in $(jq -r '.files[].source' "$m"); do
  [ "$k" != "$active" ] || fail "the file being recorded ($k) was backed up"
  cmp -s "card/$k" "bk/PRO-CW/footage/$(basename "$k" | cut -c1-8)/$(basename "$k")" || fail "$k differs in the backup"
done
jq -e '.open == true and (.records.segments | length) >= 1' "$m" >/dev/null || fail "the open drive lists no segment"

# The camera stops: the drive is final with all its segments.
wait_for 300 "the recording to end" ended
final() { [ "$(jq -r '"\(.open // false) \(.records.segments | length)"' "$(drive_json)")" = "false 3" ] || ! kill -0 $w 2>/dev/null; }
wait_for 120 "the drive to be final with its 3 segments" final
kill -0 $w 2>/dev/null || { cat watch.err; fail "the watcher died"; }
for f in card/drive/*; do
  cmp -s "$f" "bk/PRO-CW/footage/$(basename "$f" | cut -c1-8)/$(basename "$f")" || fail "$f differs in the backup"
done
id=$(basename "$(dirname "$(drive_json)")")
assert_contains watch.out '"action":"in progress"'
assert_eq "$(jq -r --arg id "$id" 'select(.id == $id) | .action' watch.out | grep -v 'in progress' | tr '\n' ' ')" "uploaded " \
  "(the drive's actions after 'in progress')"
kill -INT $w
set +e; wait $w; rc=$?; set -e
assert_eq "$rc" 130 "(the watcher after Ctrl-C)"
echo "PASS"
