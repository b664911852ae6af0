#!/usr/bin/env bash
# A camera that keeps recording while it is pulled (nexsim serve --record,
# docs/camera-api.md "Recording while serving"): segments open (listed
# incomplete, with the file being recorded named in /api/info) and close,
# the loop overwrites the oldest, an event is logged. nexsync runs against
# it again and again: whatever it reports saved is byte-identical to the
# camera's file while the camera still has it, nothing partial stands under
# a final name, the file being recorded is never saved, a file the loop took
# is reported gone (never counted as saved), and once the drive is over a
# last run leaves a mirror equal to the card and the event backed up (drives
# go as full segments: copies, no timelapse encode, to keep the test quick). A
# --watch run alongside backs the event up while the camera drives.
. "$(dirname "$0")/lib.sh"
cd "$WORK"
command -v jq >/dev/null && command -v curl >/dev/null || { echo "jq or curl missing" >&2; exit 125; }

# A Nexar Pro whose card holds about five recordings: the 6-minute drive
# below makes the loop overwrite the oldest while the camera is served.
nexsim init card --model pro --capacity 450M --utc-offset +01:00 -q
nexsim drive card --start 2026-11-20T07:00:00 --duration 2m -q >/dev/null
# The camera's listing also lies about sizes (stale-size: a growing file keeps
# the size it was first listed with): nothing of the checks below may depend
# on the listing telling the truth.
nexsim serve card --listen 127.0.0.1:0 --ready-file ready --record 6m --speed 10x --event hard-brake@3m30s -v \
  --fault stale-size >serve.out 2>serve.err &
SERVER_PID=$!
wait_for 60 "nexsim serve to be ready" test -s ready
CAM=$(cat ready)

# While it records: the info names the open file, and it is listed incomplete.
recording_seen() {
  curl -sf "$CAM/api/info" >info.json || return 1
  [ "$(jq -r .recording info.json)" = true ] || return 1
  curl -sf "$CAM/api/files" >files.json || return 1
  jq -e --arg a "$(jq -r .active info.json)" '.files[] | select(.path == $a) | .complete == false' files.json >/dev/null
}
wait_for 120 "the camera to be recording a segment" recording_seen

# A watcher follows the camera all along (its own mirror and backup): the
# event the camera logs while driving reaches its backup.
nexsync "$CAM" wbackup --mirror wmirror --work-dir wwork --drives full --watch --format ndjson >watch.out 2>watch.err &
WATCH_PID=$!

# Pull until the drive is over (the server logs its end), then once more.
ended() { grep -q "recording ended" serve.err; }
runs=0 gone_total=0
mkdir backup
while :; do
  was_over=0; ended && was_over=1
  set +e; nexsync "$CAM" backup --mirror mirror --work-dir work --drives full --format json >run.json 2>run.err; rc=$?; set -e
  runs=$((runs + 1))
  case $rc in 0 | 3) ;; *) cat run.err; fail "nexsync run $runs exited $rc" ;; esac
  [ "$(jq '.camera.camera_lost' run.json)" = false ] || { cat run.err; fail "run $runs lost a camera that was there"; }
  # nothing partial or temporary under a final name in the mirror
  if find mirror \( -name '*.part' -o -name '.*.tmp-*' -o -name '*.tmp-*' \) | grep -q .; then
    fail "partial or temporary file in the mirror after run $runs"
  fi
  # every saved file still on the camera is the camera's, byte for byte
  for f in $(cd mirror && find drive sos -type f 2>/dev/null); do
    # (the loop may take the camera's file while it is compared: only a
    # file the camera still has after the comparison can differ)
    cmp -s "card/$f" "mirror/$f" || [ ! -e "card/$f" ] || fail "mirror/$f differs from the camera's (run $runs)"
  done
  # a file reported gone is not on the card and was not saved
  for g in $(jq -r '.camera.gone[]' run.json); do
    [ ! -e "card/$g" ] || fail "$g reported gone but the camera has it"
    [ ! -e "mirror/$g" ] || fail "$g reported gone but it is in the mirror"
    gone_total=$((gone_total + 1))
  done
  [ "$rc" = 0 ] || [ "$(jq ".camera.gone + .camera.failed | length" run.json)" -gt 0 ] || [ "$(jq '.summary.items_failed // 0' run.json)" -gt 0 ] ||
    { cat run.err; fail "run $runs exited 3 with nothing gone or failed"; }
  [ "$was_over" = 1 ] && break
  [ "$runs" -lt 200 ] || fail "the recording never ended"
done

# The drive is over: the last run saw a still card.
assert_eq "$rc" 0 "(the run after the drive ended)"
assert_eq "$(jq '.camera.deferred' run.json)" 0
curl -sf "$CAM/api/info" | jq -e '.recording == false and .active == null' >/dev/null || fail "still recording after the drive"
for f in $(cd card && find drive sos -type f | sort); do
  cmp -s "card/$f" "mirror/$f" || fail "mirror/$f is not the card's after the drive"
done
grep -q "overwritten by the loop" serve.err
deleted=$(grep -o '[0-9]* overwritten by the loop' serve.err | awk '{ print $1 }')
[ "${deleted:-0}" -gt 0 ] || fail "the loop overwrote nothing: the card is too large for this test"
# the event the camera logged while it was being pulled is backed up
ev=$(jq -r 'select(.kind == "hard-brake") | .id' <(nexls card --events --format ndjson) | head -1)
[ -n "$ev" ] || fail "the recording logged no hard-brake"
find backup -path "*events/*hard-brake*" -name event.json | grep -q . || fail "the hard-brake event is not in the backup"
# the watcher backed the event up while it ran; Ctrl-C ends it (130)
watched() { find wbackup -path "*events/*hard-brake*" -name event.json 2>/dev/null | grep -q . || ! kill -0 "$WATCH_PID" 2>/dev/null; }
wait_for 120 "the --watch run to back the hard-brake up" watched
kill -0 "$WATCH_PID" 2>/dev/null || { cat watch.err; fail "the --watch run ended by itself"; }
kill -INT "$WATCH_PID"
set +e; wait "$WATCH_PID"; wrc=$?; set -e
assert_eq "$wrc" 130 "(nexsync --watch after Ctrl-C)"
for f in $(cd wmirror && find drive sos -type f 2>/dev/null); do
  if [ -e "card/$f" ]; then cmp -s "card/$f" "wmirror/$f" || fail "wmirror/$f differs from the camera's"; fi
done
echo "ok: $runs pulls while recording, $deleted recordings overwritten by the loop, $gone_total reported gone"
