#!/usr/bin/env bash
# Upload while driving (#17): `nexsync --watch --drives full` follows a card
# while nexsim records a drive in accelerated real time (--pace 10x), to
# radosgw and to a folder at once.
# - Each closed segment reaches both backups, verified, while the drive is
#   still being recorded: the camera is paused (SIGSTOP) after segments
#   close, and the test waits for the backups to hold exactly what the card
#   has closed, with a drive.json that says "open" (so nothing here depends
#   on how fast the machine is).
# - Once the drive ends, the drive is final, and `nexls` shows it as a
#   one-shot run after the fact does.
# - Watchers killed with -9 mid-drive lose nothing reported uploaded and,
#   restarted, do not send again what their manifest already lists; a camera
#   killed mid-drive leaves what was uploaded valid, and its drive is closed
#   once the card says nobody is writing it.
# - A power cut: the video left without its index is sent as it is and, once
#   the camera records again, salvaged beside it in both backups.
. "$(dirname "$0")/lib.sh"
cd "$WORK"
s3_test ffmpeg
SER=PRO-W1

nexsim init card --model pro --capacity 8G --serial $SER -q
# A camera paused by the test must not outlive it (a stopped process ignores
# the TERM of lib.sh's trap until it is continued).
cam=
trap 'kill -CONT $cam 2>/dev/null || true; kill $(jobs -p) 2>/dev/null || true; rm -rf "$WORK"' EXIT

start_watchers() {
  nexsync card "$S3/w" --watch --drives full --format ndjson -vv >>s3.out 2>>s3.err & s3w=$!
  nexsync card bk --watch --drives full --format ndjson >>local.out 2>>local.err & lw=$!
}
stop_watchers() {
  kill -INT "$s3w" "$lw" 2>/dev/null || true
  set +e; wait "$s3w"; local a=$?; wait "$lw"; local b=$?; set -e
  assert_eq "$a" 130 "(the S3 watcher after Ctrl-C)"
  assert_eq "$b" 130 "(the folder watcher after Ctrl-C)"
}
alive() { kill -0 "$s3w" 2>/dev/null && kill -0 "$lw" 2>/dev/null; }
# the folder backup's drive.json: "open" and its segment count
local_state() { jq -r '"\(.open // false) \(.records.segments | length)"' "bk/$SER/drives/$1/drive.json" 2>/dev/null || echo "none 0"; }
# the cloud's drive as nexls lists it: open, complete, segments
s3_state() {
  nexls "$S3/w" --drives --format ndjson 2>/dev/null | jq -r --arg id "$1" 'select(.id == $id) | "\(.open) \(.complete) \(.segments)"'
}
# every closed file of the drive is in the folder backup, byte for byte
same_files() {
  local f
  for f in card/drive/20261120_$1*; do
    cmp -s "$f" "bk/$SER/footage/20261120/$(basename "$f")" || fail "$f differs in the folder backup"
  done
}

# --- a drive followed segment by segment ----------------------------------------
start_watchers
nexsim drive card --start 2026-11-20T08:12:00 --duration 3m --pace 10x --event hard-brake@100s -q >/dev/null & cam=$!
for k in 1 2; do
  pause_camera 081 "$k" 3
  local_has() { [ "$(local_state 20261120_081200)" == "true $m" ] || ! alive; }
  s3_has() { [ "$(s3_state 20261120_081200)" == "true false $m" ] || ! alive; }
  wait_for 120 "the folder backup to hold $m open segment(s)" local_has
  wait_for 120 "the cloud to hold $m open segment(s)" s3_has
  alive || { tail -n 60 s3.err local.err; fail "a watcher died"; }
  same_files 081
  if [ "$k" = 1 ]; then
    # Paused past the watcher's 3 s grace after a close, the drive stays
    # open: the camera's temporary names say it is still being recorded.
    sleep 6
    assert_eq "$(local_state 20261120_081200)" "true $m" "(the paused drive in the folder backup)"
    assert_eq "$(s3_state 20261120_081200)" "true false $m" "(the paused drive in the cloud)"
  fi
  kill -CONT "$cam"
done
wait "$cam"
final_local() { [ "$(local_state 20261120_081200)" == "false 3" ] || ! alive; }
final_s3() { [ "$(s3_state 20261120_081200)" == "false true 3" ] || ! alive; }
wait_for 120 "the folder backup's drive to be final" final_local
wait_for 120 "the cloud's drive to be final" final_s3
same_files 081
# The event was backed up while the drive went on; the drive was reported in
# progress, then uploaded once, never "up to date" or done while open.
grep -q '"hard-brake".*"uploaded"\|hard-brake","action":"uploaded"' s3.out || { cat s3.out; fail "no hard-brake upload"; }
for o in s3.out local.out; do
  assert_contains $o '"action":"in progress"'
  assert_eq "$(jq -r 'select(.id == "20261120_081200") | .action' $o | grep -v 'in progress' | tr '\n' ' ')" "uploaded " "($o: the drive's actions after 'in progress')"
done
# In the cloud, what the segments were: pulled back and compared with the card.
expect_exit 0 nexsync pull "$S3/w/$SER/drives/20261120_081200" --to got
for f in card/drive/20261120_081*; do cmp "$f" "got/$SER/footage/20261120/$(basename "$f")"; done

# nexls shows the drive as a one-shot run after the fact does.
expect_exit 0 nexsync card "$S3/after" --drives full --format json
strip='del(.location, .item, .backed_up)'
for view in drives segments; do
  nexls "$S3/w" --$view --format ndjson | jq -c "$strip" > w.$view
  nexls "$S3/after" --$view --format ndjson | jq -c "$strip" > a.$view
  cmp w.$view a.$view || { diff w.$view a.$view; fail "nexls --$view differs from a run after the fact"; }
  [ -s w.$view ] || fail "nexls --$view lists nothing"
done

# --- watchers killed mid-drive, and restarted ---------------------------------------
nexsim drive card --start 2026-11-20T09:00:00 --duration 4m --pace 10x -q >/dev/null & cam=$!
pause_camera 090 2 4
local_has() { [ "$(local_state 20261120_090000)" == "true $m" ] || ! alive; }
s3_has() { [ "$(s3_state 20261120_090000)" == "true false $m" ] || ! alive; }
wait_for 120 "the folder backup to hold $m segment(s) of the second drive" local_has
wait_for 120 "the cloud to hold $m segment(s) of the second drive" s3_has
kill -9 "$s3w" "$lw"
wait "$s3w" "$lw" 2>/dev/null || true
# What the manifests said was backed up when the watchers died.
jq -r '.files[].key' "bk/$SER/drives/20261120_090000/drive.json" | sort > listed.before
[ "$(wc -l < listed.before)" -eq $((m * 4)) ] || fail "expected $((m * 4)) files listed, got $(wc -l < listed.before)"
while read -r k; do stat -c '%i %s' "bk/$SER/$k"; done < listed.before > inodes.before
kill -CONT "$cam"
: > s3.err
start_watchers
wait "$cam"
final2_local() { [ "$(local_state 20261120_090000)" == "false 4" ] || ! alive; }
final2_s3() { [ "$(s3_state 20261120_090000)" == "false true 4" ] || ! alive; }
wait_for 120 "the folder backup's second drive to be final" final2_local
wait_for 120 "the cloud's second drive to be final" final2_s3
same_files 090
# Nothing the manifests listed was copied or sent again.
while read -r k; do stat -c '%i %s' "bk/$SER/$k"; done < listed.before > inodes.after
cmp inodes.before inodes.after || fail "the restarted watcher copied listed segments again"
while read -r k; do
  ! grep -q "verified s3://$NEX_S3_BUCKET/$run/w/$SER/$k:" s3.err || fail "the restarted watcher sent $k again"
done < listed.before
# (unless the camera had closed its last segment before the test paused it)
[ "$m" -eq 4 ] || grep -q "verified s3://$NEX_S3_BUCKET/$run/w/$SER/footage/" s3.err ||
  { cat s3.err; fail "the restarted watcher sent nothing new"; }

# --- the camera killed mid-drive -----------------------------------------------------
nexsim drive card --start 2026-11-20T10:00:00 --duration 3m --pace 10x -q >/dev/null & cam=$!
at_least() { [ "$(closed 100)" -ge 2 ] || ! kill -0 "$cam" 2>/dev/null; }
wait_for 120 "two segments of the third drive to close" at_least
kill -9 "$cam"
wait "$cam" 2>/dev/null || true
m=$(closed 100)
local_has() { [ "$(local_state 20261120_100000)" == "true $m" ] || ! alive; }
wait_for 120 "the folder backup to hold $m segment(s) of the third drive" local_has
same_files 100
# The camera comes back: its next recording finishes what the dead one left
# (its temporaries), and the interrupted drive is final with what was closed.
nexsim drive card --start 2026-11-20T11:00:00 --duration 1m -q >/dev/null
m=$(closed 100)  # one more when the kill came between its sidecars' and its video's names
final3() { [ "$(local_state 20261120_100000)" == "false $m" ] || ! alive; }
final3_s3() { [ "$(s3_state 20261120_100000)" == "false true $m" ] || ! alive; }
wait_for 120 "the third drive to be final in the folder backup" final3
wait_for 120 "the third drive to be final in the cloud" final3_s3
same_files 100
alive || { tail -n 60 s3.err local.err; fail "a watcher died"; }

# --- a power cut, and the camera back ------------------------------------------------
# The last segment of the 12:00 drive loses power before its index. Once the
# camera records again, the drive is final: the cut-short video is sent as the
# camera left it, and salvaged beside it (the bytes `nexcut salvage` makes).
nexsim drive card --start 2026-11-20T12:00:00 --duration 2m30s --power-cut -q >/dev/null
nexsim drive card --start 2026-11-20T13:00:00 --duration 1m -q >/dev/null
cut=20261120_120200_1
salvaged() {
  jq -e --arg n "$cut.salvaged.mp4" '(.open // false) == false and any(.files[]; .name == $n)' \
    "bk/$SER/drives/20261120_120000/drive.json" >/dev/null 2>&1 || ! alive
}
final4_s3() { [ "$(s3_state 20261120_120000)" == "false true 3" ] || ! alive; }
wait_for 120 "the power-cut drive to be final and salvaged in the folder backup" salvaged
wait_for 120 "the power-cut drive to be final in the cloud" final4_s3
alive || { tail -n 60 s3.err local.err; fail "a watcher died"; }
expect_exit 0 nexcut salvage "card/drive/$cut.mp4" -o want.mp4
expect_exit 0 nexsync pull "$S3/w/$SER/drives/20261120_120000" --to got4
for d in "bk/$SER" "got4/$SER"; do
  cmp "card/drive/$cut.mp4" "$d/footage/20261120/$cut.mp4" || fail "$d: the cut-short video is not the camera's"
  cmp want.mp4 "$d/footage/20261120/$cut.salvaged.mp4" || fail "$d: the salvaged video differs from nexcut salvage's"
done
[ -z "$(ffmpeg -v error -i want.mp4 -f null - 2>&1)" ] || fail "the salvaged video does not decode cleanly"
for o in s3.out local.out; do
  jq -r 'select(.id == "20261120_120000" and .action == "uploaded") | .note' $o | grep -q "cut short by a power loss" ||
    { cat $o; fail "$o: the power-cut drive's note does not say it was salvaged"; }
done
stop_watchers
echo "PASS"
