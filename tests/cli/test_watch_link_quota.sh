#!/usr/bin/env bash
# Upload while driving on a constrained link and under a quota (#17): two
# watchers follow a drive recorded at --pace 10x into folders.
# - --link mobile: the drive's event goes while the camera drives; its
#   continuous footage waits for wifi (never "in progress", never sent).
# - --quota: the growing drive rolls the oldest drive over, as a run after
#   the fact does; events stay.
. "$(dirname "$0")/lib.sh"
cd "$WORK"
command -v jq >/dev/null || { echo "jq missing" >&2; exit 125; }
export NEX_SYNC_WORK_DIR="$WORK/state" NEX_CONFIG="$WORK/config.yaml"
: > "$NEX_CONFIG"
SER=PRO-LQ

nexsim init card --model pro --capacity 8G --serial $SER -q
nexsim drive card --start 2026-11-20T07:00:00 --duration 1m -q >/dev/null
# The quota's backup already holds the 07:00 drive (about 62 MB).
expect_exit 0 nexsync card bq --drives full --format json
[ -f "bq/$SER/drives/20261120_070000/drive.json" ] || fail "the first drive was not backed up"

nexsync card bm --watch --link mobile --drives full --format ndjson >m.out 2>m.err & mw=$!
nexsync card bq --watch --drives full --quota 150M --format ndjson >q.out 2>q.err & qw=$!
alive() { kill -0 "$mw" 2>/dev/null && kill -0 "$qw" 2>/dev/null; }
nexsim drive card --start 2026-11-20T08:00:00 --duration 2m --pace 10x --event hard-brake@70s -q >/dev/null

# The quota: once the new drive is final, the 07:00 drive has rolled over.
final_q() { [ "$(jq -r '.open // false' "bq/$SER/drives/20261120_080000/drive.json" 2>/dev/null)" = false ] || ! alive; }
wait_for 120 "the new drive to be final under the quota" final_q
gone_q() { [ ! -e "bq/$SER/drives/20261120_070000" ] || ! alive; }
wait_for 120 "the oldest drive to roll over" gone_q
alive || { tail -n 40 m.err q.err; fail "a watcher died"; }
jq -s -e 'any(.[]; .id == "20261120_070000" and .action == "deleted")' q.out >/dev/null || { cat q.out; fail "no rollover reported"; }
[ -z "$(ls "bq/$SER/footage/20261120" | grep '^20261120_0700')" ] || fail "the rolled-over drive's footage is still there"
[ "$(du -sb "bq/$SER" | cut -f1)" -le $((150 * 1024 * 1024)) ] || fail "the backup exceeds its quota"
find bq -path "*events/*hard-brake*" -name event.json | grep -q . || fail "the event is not in the quota's backup"

# The mobile link: the event went while the drive was recorded; no footage did.
ev_m() { find bm -path "*events/*hard-brake*" -name event.json 2>/dev/null | grep -q . || ! alive; }
wait_for 120 "the event over the mobile link" ev_m
sleep 4  # (two more passes: still nothing continuous)
alive || { tail -n 40 m.err q.err; fail "a watcher died"; }
[ ! -e "bm/$SER/footage" ] && [ ! -e "bm/$SER/drives" ] || fail "continuous footage went over the mobile link"
! jq -s -e 'any(.[]; .type == "drive" and (.action == "in progress" or .action == "uploaded"))' m.out >/dev/null ||
  fail "a drive was sent over the mobile link"
jq -s -e 'any(.[]; .type == "drive" and (.action | startswith("waits for")))' m.out >/dev/null ||
  { cat m.out; fail "the drive was not reported waiting for another link"; }
kill -INT "$mw" "$qw"
set +e; wait "$mw"; a=$?; wait "$qw"; b=$?; set -e
assert_eq "$a $b" "130 130" "(the watchers after Ctrl-C)"
echo "PASS"
