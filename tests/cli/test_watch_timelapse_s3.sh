#!/usr/bin/env bash
# Upload while driving, timelapse (#17): `nexsync --watch --drives timelapse`
# (the default of most models) grows a drive's timelapse one part per closed
# segment while nexsim records it at --pace 10x, to radosgw and to a folder
# (--drives both, parts and segments: the unit test "sync: a drive recorded
# while backed up keeps its timelapse in parts").
# - After segments close, the camera is paused (SIGSTOP) and the test waits
#   for both backups to hold exactly one part per closed segment, with the
#   drive "open" (nothing depends on how fast the machine is).
# - Each part holds the segment's frames 0, 30, 60, ... (read back by the
#   pixel timecode nexsim burns in, with tests/harness/timecode.py): parts
#   join up without a gap or an overlap at the seams.
# - Once the drive ends, it is final with its parts; no part was made or sent
#   twice, also by watchers killed with -9 mid-drive and restarted.
# (A segment a power cut left without its index gets no part: a unit test,
# "sync: a drive recorded while backed up keeps its timelapse in parts".)
. "$(dirname "$0")/lib.sh"
cd "$WORK"
s3_test ffprobe ffmpeg python3
SER=PRO-TL
HARNESS="$NEX_SOURCE_DIR/tests/harness"

nexsim init card --model pro --capacity 8G --serial $SER -q
cam=
trap 'kill -CONT $cam 2>/dev/null || true; kill $(jobs -p) 2>/dev/null || true; rm -rf "$WORK"' EXIT

start_watchers() {
  nexsync card "$S3/t" --watch --drives timelapse --format ndjson -vv >>s3.out 2>>s3.err & s3w=$!
  nexsync card bk --watch --drives timelapse --format ndjson -v >>local.out 2>>local.err & lw=$!
}
alive() { kill -0 "$s3w" 2>/dev/null && kill -0 "$lw" 2>/dev/null; }
# the folder backup's drive: "open", then its timelapse parts
local_state() {
  jq -r '"\(.open // false) \([.files[].name | select(startswith("road-timelapse_"))] | length)"' \
    "bk/$SER/drives/$1/drive.json" 2>/dev/null || echo "none 0"
}
# the cloud's drive, as nexls lists it: open, complete, files
s3_state() {
  nexls "$S3/t" --drives --format ndjson 2>/dev/null |
    jq -r --arg id "$1" 'select(.id == $id) | "\(.open) \(.complete) \(.segments)"'
}
# check_parts DIR DAY_HHMM: every part in DIR is the timelapse of its segment:
# 60 frames, the segment's frames 0, 30, 60, ... (timecodes 0, 1000, ... ms)
check_parts() {
  local p n=0
  python3 -c 'print("\n".join(str(k * 1000) for k in range(60)))' > tc.want
  for p in "$1"/road-timelapse_*.mp4; do
    [ -e "$p" ] || fail "no parts in $1"
    ffmpeg -v error -i "$p" -vf scale=960:540 -f rawvideo -pix_fmt gray -y tc.raw
    python3 "$HARNESS/timecode.py" 960 540 tc.raw > tc.got || fail "$p: no timecode reads"
    cmp -s tc.got tc.want || { diff tc.got tc.want | head; fail "$p does not hold its segment's frames 0, 30, 60, ..."; }
    [ -z "$(ffmpeg -v error -i "$p" -f null - 2>&1)" ] || fail "$p does not decode cleanly"
    n=$((n + 1))
  done
  echo "$n"
}

# --- a drive followed segment by segment --------------------------------------------
start_watchers
nexsim drive card --start 2026-11-20T08:12:00 --duration 3m --pace 10x --event hard-brake@100s -q >/dev/null & cam=$!
for k in 1 2; do
  pause_camera 081 "$k" 3
  local_has() { [ "$(local_state 20261120_081200)" == "true $m" ] || ! alive; }
  s3_has() { [ "$(s3_state 20261120_081200)" == "true false $m" ] || ! alive; }
  wait_for 120 "the folder backup to hold $m part(s)" local_has
  wait_for 120 "the cloud to hold the open drive with $m segment(s)" s3_has
  alive || { tail -n 60 s3.err local.err; fail "a watcher died"; }
  assert_eq "$(check_parts "bk/$SER/drives/20261120_081200")" "$m" "(parts in the folder backup)"
  kill -CONT "$cam"
done
wait "$cam"
final_local() { [ "$(local_state 20261120_081200)" == "false 3" ] || ! alive; }
final_s3() { [ "$(s3_state 20261120_081200)" == "false true 3" ] || ! alive; }
wait_for 120 "the folder backup's drive to be final" final_local
wait_for 120 "the cloud's drive to be final" final_s3
# The cloud's drive: exactly the three parts and its manifest, pulled back
# verified; no single timelapse besides them.
expect_exit 0 nexsync pull "$S3/t/$SER/drives/20261120_081200" --to got
assert_eq "$(cd "got/$SER/drives/20261120_081200" && ls | tr '\n' ' ')" \
  "drive.json road-timelapse_20261120_081200.mp4 road-timelapse_20261120_081300.mp4 road-timelapse_20261120_081400.mp4 "
assert_eq "$(check_parts "got/$SER/drives/20261120_081200")" 3 "(parts in the cloud)"
# The parts join into the drive's timelapse by a plain stream copy.
for p in got/$SER/drives/20261120_081200/road-timelapse_*; do echo "file '$PWD/$p'"; done > parts.txt
ffmpeg -v error -f concat -safe 0 -i parts.txt -c copy -y joined.mp4
[ -z "$(ffmpeg -v error -i joined.mp4 -f null - 2>&1)" ] || fail "the joined parts do not decode cleanly"
assert_eq "$(ffprobe -v error -count_frames -select_streams v:0 -show_entries stream=nb_read_frames -of csv=p=0 joined.mp4)" 180
for p in got/$SER/drives/20261120_081200/road-timelapse_*; do
  cmp "$p" "bk/$SER/drives/20261120_081200/$(basename "$p")" || fail "$p differs between the two backups"
done
# Each part made once, and sent once; the drive in progress, then uploaded once.
for seg in 081200 081300 081400; do
  assert_eq "$(grep -c "making road-timelapse_20261120_$seg.mp4" s3.err)" 1 "(makes of the $seg part for the cloud)"
  assert_eq "$(grep -c "making road-timelapse_20261120_$seg.mp4" local.err)" 1 "(makes of the $seg part for the folder)"
  assert_eq "$(grep -c "verified s3://$NEX_S3_BUCKET/$run/t/$SER/drives/20261120_081200/road-timelapse_20261120_$seg.mp4:" s3.err)" 1 \
    "(uploads of the $seg part)"
done
for o in s3.out local.out; do
  assert_contains $o '"action":"in progress"'
  assert_eq "$(jq -r 'select(.id == "20261120_081200") | .action' $o | grep -v 'in progress' | tr '\n' ' ')" "uploaded " \
    "($o: the drive's actions after 'in progress')"
done
grep -q '"hard-brake".*"uploaded"\|hard-brake","action":"uploaded"' s3.out || { cat s3.out; fail "no hard-brake upload"; }

# (A run after the fact makes one road-timelapse.mp4 instead: the unit test.)

# --- watchers killed mid-drive, and restarted ------------------------------------------
nexsim drive card --start 2026-11-20T09:00:00 --duration 4m --pace 10x -q >/dev/null & cam=$!
pause_camera 090 2 4
local_has() { [ "$(local_state 20261120_090000)" == "true $m" ] || ! alive; }
s3_has() { [ "$(s3_state 20261120_090000)" == "true false $m" ] || ! alive; }
wait_for 120 "the folder backup to hold $m part(s) of the second drive" local_has
wait_for 120 "the cloud to hold $m segment(s) of the second drive" s3_has
kill -9 "$s3w" "$lw"
wait "$s3w" "$lw" 2>/dev/null || true
jq -r '.files[] | select(.name | startswith("road-timelapse_")) | .key' \
  "bk/$SER/drives/20261120_090000/drive.json" | sort > parts.before
[ "$(wc -l < parts.before)" -eq "$m" ] || fail "expected $m parts listed, got $(wc -l < parts.before)"
while read -r k; do stat -c '%i %s' "bk/$SER/$k"; done < parts.before > inodes.before
kill -CONT "$cam"
: > s3.err
: > local.err
start_watchers
wait "$cam"
final2_local() { [ "$(local_state 20261120_090000)" == "false 4" ] || ! alive; }
final2_s3() { [ "$(s3_state 20261120_090000)" == "false true 4" ] || ! alive; }
wait_for 120 "the folder backup's second drive to be final" final2_local
wait_for 120 "the cloud's second drive to be final" final2_s3
while read -r k; do stat -c '%i %s' "bk/$SER/$k"; done < parts.before > inodes.after
cmp inodes.before inodes.after || fail "the restarted watcher wrote listed parts again"
while read -r k; do
  name=$(basename "$k")
  ! grep -q "making $name" s3.err local.err || fail "the restarted watcher made $name again"
  ! grep -q "verified s3://$NEX_S3_BUCKET/$run/t/$SER/$k:" s3.err || fail "the restarted watcher sent $k again"
done < parts.before
assert_eq "$(check_parts "bk/$SER/drives/20261120_090000")" 4 "(parts of the second drive)"

alive || { tail -n 60 s3.err local.err; fail "a watcher died"; }
kill -INT "$s3w" "$lw"
set +e; wait "$s3w"; a=$?; wait "$lw"; b=$?; set -e
assert_eq "$a $b" "130 130" "(the watchers after Ctrl-C)"
echo "PASS"
