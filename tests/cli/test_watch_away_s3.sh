#!/usr/bin/env bash
# Bad input under --watch (#17): a card unmounted mid-watch, a destination
# that goes away and comes back (a server behind a proxy that stops, a folder
# on a disk that is unmounted), and a camera clock that jumps mid-drive. Two
# watchers (--drives full) follow the card: to radosgw through
# tests/harness/faultproxy.py, and to a folder.
# - Each says once, in a clear log line, what went away; neither exits; both
#   go on when it is back, and then hold every closed file of the card.
# - Nothing is reported uploaded while the destination is away, and a folder
#   destination that went away is not made again where it was.
. "$(dirname "$0")/lib.sh"
cd "$WORK"
s3_test python3
SER=PRO-AW
proxy_py="$NEX_SOURCE_DIR/tests/harness/faultproxy.py"
upstream=${AWS_ENDPOINT_URL#http://}

nexsim init card --model pro --capacity 8G --serial $SER -q
mkdir disk  # the folder destination's disk: disk/bk, "unmounted" by moving it away
cam=
trap 'kill -CONT $cam 2>/dev/null || true; kill $(jobs -p) 2>/dev/null || true; rm -rf "$WORK"' EXIT

start_proxy() {  # [PORT]: a fault-free proxy in front of radosgw
  rm -f port
  python3 "$proxy_py" --upstream "$upstream" --rate 0 --port "${1:-0}" --port-file port 2>>proxy.err & proxy=$!
  proxy_up() { [ -s port ] || ! kill -0 "$proxy" 2>/dev/null; }
  wait_for 60 "the proxy to listen" proxy_up
  [ -s port ] || { cat proxy.err; fail "the proxy did not start"; }
  pport=$(cat port)
}
start_proxy
AWS_ENDPOINT_URL="http://127.0.0.1:$pport" \
  nexsync card "$S3/a" --watch --drives full --retries 2 --format ndjson -v >s3.out 2>s3.err & s3w=$!
nexsync card disk/bk --watch --drives full --format ndjson -v >local.out 2>local.err & lw=$!
alive() { kill -0 "$s3w" 2>/dev/null && kill -0 "$lw" 2>/dev/null; }
# a drive, final in both backups: "DRIVE-ID SEGMENTS"
local_final() { [ "$(jq -r '"\(.open // false) \(.records.segments | length)"' "disk/bk/$SER/drives/$1/drive.json" 2>/dev/null)" == "false $2" ] || ! alive; }
s3_final() {
  [ "$(AWS_ENDPOINT_URL="http://127.0.0.1:$pport" nexls "$S3/a" --drives --format ndjson 2>/dev/null |
    jq -r --arg id "$1" 'select(.id == $id) | "\(.open) \(.complete) \(.segments)"')" == "false true $2" ] || ! alive
}
both_final() {
  wait_for 120 "drive $1 to be final in the folder backup" local_final "$1" "$2"
  wait_for 120 "drive $1 to be final in the cloud" s3_final "$1" "$2"
  alive || { tail -n 40 s3.err local.err; fail "a watcher died"; }
}
# every file of the card is in the folder backup, byte for byte
same_files() {
  local f
  for f in card/drive/*; do
    [ -f "$f" ] || continue
    cmp -s "$f" "disk/bk/$SER/footage/$(basename "$f" | cut -c1-8)/$(basename "$f")" || fail "$f differs in the folder backup"
  done
}
logged() { grep -q -- "$2" "$1" || ! alive; }

# --- a first drive, backed up as usual --------------------------------------------------
nexsim drive card --start 2026-11-20T08:00:00 --duration 1m -q >/dev/null
both_final 20261120_080000 1

# --- the card unmounted mid-watch, then back ---------------------------------------------
mv card card.away
mkdir card  # the empty mount point
wait_for 60 "the folder watcher to say the card is gone" logged local.err "waiting for the card to come back"
wait_for 60 "the cloud watcher to say the card is gone" logged s3.err "waiting for the card to come back"
# meanwhile, in the camera
nexsim drive card.away --start 2026-11-20T09:00:00 --duration 1m -q >/dev/null
sleep 3
alive || { tail -n 40 s3.err local.err; fail "a watcher ended when the card went away"; }
assert_eq "$(grep -c "waiting for the card to come back" local.err)" 1 "(the folder watcher says it once)"
rmdir card
mv card.away card
wait_for 60 "the folder watcher to see the card again" logged local.err "the card is back"
both_final 20261120_090000 1
same_files

# --- the destination away: the server stops, the disk is unmounted; then both back --------
kill "$proxy"
wait "$proxy" 2>/dev/null || true
mv disk/bk disk/bk.away
nexsim drive card --start 2026-11-20T10:00:00 --duration 1m -q >/dev/null
wait_for 120 "the folder watcher to say the destination is gone" logged local.err "trying again in"
wait_for 300 "the cloud watcher to say the server is gone" logged s3.err "trying again in"
sleep 3
alive || { tail -n 40 s3.err local.err; fail "a watcher ended when its destination went away"; }
[ ! -e disk/bk ] || fail "the folder destination was made again under the mount point"
for o in s3.out local.out; do
  ! jq -s -e 'any(.[]; .id == "20261120_100000" and .action == "uploaded")' $o >/dev/null ||
    fail "$o: the 10:00 drive was reported uploaded while its destination was away"
done
mv disk/bk.away disk/bk
start_proxy "$pport"
both_final 20261120_100000 1
grep -q "the destination is back" local.err || fail "the folder watcher did not say the destination is back"
grep -q "the destination is back" s3.err || fail "the cloud watcher did not say the destination is back"
same_files

# --- the camera's clock jumps mid-drive --------------------------------------------------
# A dead clock (2000-01-01) that the camera sets from GPS after two segments:
# the footage of one drive carries two times. Both parts are backed up whole.
nexsim drive card --clock-reset --duration 2m --pace 10x -q >/dev/null
nexsim drive card --start 2026-11-20T11:00:00 --duration 1m --pace 10x -q >/dev/null
reset_id=$(basename "$(ls card/drive/2000*_1.mp4 | head -1)" _1.mp4)
both_final "$reset_id" 2
both_final 20261120_110000 1
same_files
alive || { tail -n 40 s3.err local.err; fail "a watcher died"; }
kill -INT "$s3w" "$lw"
set +e; wait "$s3w"; a=$?; wait "$lw"; b=$?; set -e
assert_eq "$a $b" "130 130" "(the watchers after Ctrl-C)"
echo "PASS"
