#!/usr/bin/env bash
# Read faults on the card, through an LD_PRELOAD shim (tests/harness/readfault.c):
# a file whose reads fail with EIO, a file that cannot be opened (EACCES: what
# chmod 000 does to a normal user; the tests run as root in CI, where
# permissions do not stop reads, so the shim stands in for them) and a file
# that shrank after it was looked at (reads end early, fstat tells the old
# size). nexls --check, nexcut and nexsync (into a folder) must name the bad
# file in one line, finish the rest of the work, exit with the documented
# code (3: partly done) and leave nothing half-written under a final name.
. "$(dirname "$0")/lib.sh"
cd "$WORK"
command -v jq >/dev/null || { echo "jq missing" >&2; exit 125; }
shim=${NEX_READFAULT:-}
[ -f "$shim" ] || { echo "no read-fault shim (NEX_READFAULT)" >&2; exit 125; }
# With ASan the tools need libasan first in the preload list (ASan -> shim -> libc).
asan=$(ldd "$NEX_BIN/nexsync" | awk '/libasan/ {print $3}')
preload="${asan:+$asan:}$shim"
export NEX_SYNC_WORK_DIR="$WORK/state" NEX_CONFIG="$WORK/config.yaml" NEX_RF_LOG="$WORK/rf.log"
: > "$NEX_CONFIG"
sha() { sha256sum "$1" | cut -d' ' -f1; }
# faulty VARS... -- cmd...: run cmd under the shim with these NEX_RF_* settings
faulty() {
  local vars=()
  while [ "$1" != -- ]; do vars+=("$1"); shift; done
  shift
  env LD_PRELOAD="$preload" "${vars[@]}" "$@"
}

# A Pro with a 3-minute drive (three 1-minute segments) and four parking clips.
nexsim init card --model pro --capacity 8G --serial RDF-1 -q
nexsim drive card --start 2026-11-20T08:00:00 --duration 3m -q >/dev/null
nexsim park card --duration 2h --clip-length 5s \
  --incident impact@10m --incident impact@20m --incident impact@30m --incident impact@40m -q >/dev/null
mapfile -t clips < <(cd card && find . -name '*_U.mp4' -printf '%P\n' | sort)
[ "${#clips[@]}" -eq 4 ] || fail "expected 4 parking clips, got ${#clips[@]}"
seg2=drive/20261120_080100_1.mp4
[ -f "card/$seg2" ] || fail "no $seg2 on the card"
(cd card && find . -type f -print0 | sort -z | xargs -0 sha256sum) > card.sha
eio="NEX_RF_EIO=*/${clips[0]##*/}=100000:*/${seg2##*/}=300000"
acc="NEX_RF_EACCES=*/${clips[1]##*/}"
short="NEX_RF_SHORT=*/${clips[2]##*/}=50000"

# --- the shim works through the tools (and with ASan in front of it)
faulty "$eio" -- nexsync card probe --drives none -q >/dev/null 2>&1 || true
grep -q "^EIO " rf.log || fail "the shim injected nothing (LD_PRELOAD=$preload)"
rm -rf probe state; : > rf.log

# --- nexls --check: the unreadable files are findings, the rest is listed
expect_exit 0 nexls card --check
faulty "$eio" "$acc" "$short" -- nexls card --check --format json > check.out 2> check.err && rc=0 || rc=$?
assert_eq "$rc" 3 "(nexls --check with unreadable files)"
jq -r '.findings[] | "\(.code) \(.path)"' check.out | sort > got
cat > want <<WANT
event-unreadable events.ndjson
event-unreadable events.ndjson
event-unreadable events.ndjson
truncated ${clips[2]}
unreadable ${clips[0]}
unreadable ${clips[1]}
unreadable $seg2
WANT
sort -o want want
diff want got || fail "nexls --check findings differ"
jq -r '.findings[] | select(.code=="unreadable") | .message' check.out | grep -q "Input/output error" ||
  fail "the EIO is not named"
jq -r '.findings[] | select(.code=="unreadable") | .message' check.out | grep -q "Permission denied" ||
  fail "the EACCES is not named"
faulty "$eio" "$acc" "$short" -- nexls card --format ndjson > list.out 2> list.err ||
  { cat list.err; fail "nexls (listing) gave up on unreadable files"; }
assert_eq "$(jq -r .id list.out)" 20261120_080000
faulty "$eio" "$acc" "$short" -- nexls card --events --format ndjson > ev.out 2> ev.err ||
  { cat ev.err; fail "nexls --events gave up on unreadable files"; }
assert_eq "$(wc -l < ev.out)" 4

# --- nexcut: a window in readable footage is cut; one in the unreadable segment fails cleanly
mkdir -p cuts
faulty "$eio" -- nexcut card --from 2026-11-20T08:00:10 --to +20s -o cuts/good.mp4 -q >/dev/null ||
  fail "nexcut failed on readable footage next to an unreadable segment"
[ -s cuts/good.mp4 ] || fail "no clip"
faulty "$eio" -- nexcut card --from 2026-11-20T08:01:20 --to +20s -o cuts/bad.mp4 > cut.out 2> cut.err && rc=0 || rc=$?
[ "$rc" = 1 ] || [ "$rc" = 3 ] || { cat cut.err; fail "nexcut over an unreadable segment exited $rc"; }
assert_eq "$(grep -c 'error:' cut.err)" 1 "(one error line)"
grep -q "${seg2##*/}" cut.err || { cat cut.err; fail "nexcut does not name the unreadable file"; }
grep -q "Input/output error\|I/O error\|EIO\|cannot read" cut.err || { cat cut.err; fail "nexcut does not say why"; }
[ ! -e cuts/bad.mp4 ] || fail "nexcut left a partial clip under its final name"
# several clips, one of them over the bad segment: the others are made
faulty "$eio" -- nexcut card --drive 20261120_080000 --timelapse 30x -o cuts/tl.mp4 > tl.out 2> tl.err && rc=0 || rc=$?
[ "$rc" = 1 ] || [ "$rc" = 3 ] || [ "$rc" = 0 ] || { cat tl.err; fail "nexcut --timelapse exited $rc"; }
[ "$rc" != 1 ] || [ ! -e cuts/tl.mp4 ] || fail "a failed timelapse left its file"

# --- nexsync into a folder: the three bad clips fail, everything else is backed up
faulty "$eio" "$acc" "$short" -- nexsync card bk --drives full --format ndjson > sync.out 2> sync.err && rc=0 || rc=$?
assert_eq "$rc" 3 "(nexsync with unreadable files: partly done)"
failed=$(jq -r 'select(.action=="failed")|.item' sync.out | sort)
uploaded=$(jq -r 'select(.action=="uploaded")|.item' sync.out | sort)
echo "failed: $(echo $failed); uploaded: $(echo $uploaded)"
assert_eq "$(echo "$failed" | grep -c events/)" 3 "(the three bad parking clips failed)"
echo "$uploaded" | grep -q events/ || fail "the readable parking clip was not backed up"
# the drive has an unreadable segment: it failed as a whole or it is not reported done
for f in "${clips[0]##*/}" "${clips[1]##*/}" "${clips[2]##*/}"; do
  grep -q "${f%_U.mp4}" sync.err sync.out || fail "nexsync does not name $f"
done
# nothing half-written: each manifest's files are whole; no file under a final
# name that differs from the card
for m in bk/RDF-1/*/*/*.json; do
  jq -r '.files[] | "\(.key) \(.size) \(.sha256)"' "$m" | while read -r key size want; do
    assert_eq "$(sha "bk/RDF-1/$key")" "$want" "($key)"
  done
done
while IFS= read -r f; do
  case $f in */event.json|*/drive.json|*/clip.json) continue ;; esac
  s=$(sha "$f")
  grep -q "^$s " card.sha || [ "${f##*/}" = road.mp4 ] || fail "$f is not a whole copy of a card file"
done < <(find bk -type f ! -name '.*')
[ -z "$(find bk -name '.*')" ] || fail "temporary files left: $(find bk -name '.*')"
# faults gone: the re-run completes
expect_exit 0 nexsync card bk --drives full --format ndjson
assert_eq "$(tail -1 "$WORK/out" | jq -r .items_failed)" 0
(cd card && sha256sum -c --quiet) < card.sha || fail "the card changed"
echo "injected: $(cut -d' ' -f1 rf.log | sort | uniq -c | awk '{printf "%s×%s ", $2, $1}')"
echo "read faults: ok"
