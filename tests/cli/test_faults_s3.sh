#!/usr/bin/env bash
# nexsync through a fault-injecting proxy (tests/harness/faultproxy.py) in
# front of the real radosgw: connection resets before/in requests and
# answers, stalls past the client's stall timeout, synthetic 500 / 503 /
# SlowDown answers, truncated answers, the server going away and coming back.
# Each run, under its seed, must end in one of:
#   0  every item uploaded and verified,
#   3  the items not done named on stdout ("failed"),
#   1  one error line naming the cause (only when the server stopped
#      answering: the fleet-profile runs below must end 0 or 3);
# and in no case may an item whose manifest is on the server (or that the run
# reported "uploaded") have a file missing or different from a fault-free
# backup of the same card. A re-run without faults then completes.
# NEX_FAULT_SEED=<n> picks another base seed (default 1; printed).
. "$(dirname "$0")/lib.sh"
cd "$WORK"
command -v jq >/dev/null || { echo "jq missing" >&2; exit 125; }
command -v python3 >/dev/null || { echo "python3 missing" >&2; exit 125; }
[ -s "${NEX_S3_ENV_FILE:-}" ] || { echo "no S3 server (NEX_S3_ENV_FILE)" >&2; exit 125; }
# shellcheck disable=SC1090
. "$NEX_S3_ENV_FILE"
export NEX_SYNC_WORK_DIR="$WORK/state" NEX_CONFIG="$WORK/config.yaml"
: > "$NEX_CONFIG"
proxy_py="${NEX_SOURCE_DIR:-$(dirname "$0")/../..}/tests/harness/faultproxy.py"
base=${NEX_FAULT_SEED:-1}
echo "fault seed base: $base (NEX_FAULT_SEED=$base reproduces this run)"
run="f$$-$RANDOM"   # a prefix of our own in the shared bucket
S3="s3://$NEX_S3_BUCKET/$run"
upstream=${AWS_ENDPOINT_URL#http://}
direct=$AWS_ENDPOINT_URL
sha() { sha256sum "$1" | cut -d' ' -f1; }

# A road-only Pro: one parking incident (a 6 s clip, 2 parts of 5 MiB) and a
# 10 s drive sent as original segments (video in 2 parts, thumbnail, .gps,
# .acc). Small on purpose: radosgw's memstore is shared by every S3 test of
# the run and frees deleted objects only later (garbage collection).
nexsim init card --model pro --capacity 8G --serial FLT-1 -q
nexsim park card --start 2026-11-21T20:00:00 --duration 1h --incident impact@10m --clip-length 6s -q >/dev/null
nexsim drive card --start 2026-11-22T08:00:00 --duration 10s -q >/dev/null
opts=(--drives full --part-size 5M -j 2)

# The reference: a fault-free backup into a folder; every file key, size and
# SHA-256 an item may have.
expect_exit 0 nexsync card ref "${opts[@]}" -q
for m in ref/FLT-1/*/*/*.json; do
  jq -r '.files[] | "\(.key) \(.size) \(.sha256)"' "$m"
done | sort > ref.files
nitems=$(find ref/FLT-1 -mindepth 3 -name '*.json' | wc -l)
[ "$nitems" -eq 2 ] || fail "the reference backup has $nitems items, expected 2"
[ "$(wc -l < ref.files)" -ge 5 ] || fail "the reference lists only $(wc -l < ref.files) files"
[ "$(awk '$2 > 5242880' ref.files | wc -l)" -ge 2 ] || fail "no file is large enough for a multipart upload"

# check_backup DEST TAG: every item whose manifest is on the server is there,
# byte for byte as in the reference; prints how many items there are.
check_backup() {
  local dest=$1 tag=$2 got="got-$2" n
  rm -rf "$got"
  { AWS_ENDPOINT_URL=$direct nexls "$dest" --events --format ndjson
    AWS_ENDPOINT_URL=$direct nexls "$dest" --format ndjson; } > "items-$tag" 2> "nexls-$tag.err" ||
    { cat "nexls-$tag.err"; fail "$tag: nexls of the backup failed"; }
  n=$(wc -l < "items-$tag")
  if [ "$n" -gt 0 ]; then
    AWS_ENDPOINT_URL=$direct nexsync pull --items - --to "$got" -q < "items-$tag" > /dev/null 2> "pull-$tag.err" ||
      { cat "pull-$tag.err"; fail "$tag: an item whose manifest is on the server cannot be pulled intact"; }
    for m in "$got"/FLT-1/*/*/*.json; do
      while read -r key size want; do
        grep -qxF "$key $size $want" ref.files || fail "$tag: $key ($size, $want) is not as in the reference"
        assert_eq "$(stat -c %s "$got/FLT-1/$key")" "$size" "($tag: $key size)"
        assert_eq "$(sha "$got/FLT-1/$key")" "$want" "($tag: $key sha256)"
      done < <(jq -r '.files[] | "\(.key) \(.size) \(.sha256)"' "$m")
    done
  fi
  echo "$n"
}

# fault_run SEED RETRIES PROXY-ARGS...: one nexsync through the proxy, then the checks.
declare -A outcome
outcomes=""
total_faults=0
strict=0   # 1: the server stays reachable, so exit 1 is a failure of the test
fault_run() {
  local seed=$1 retries=$2; shift 2
  local dest="$S3/s$seed" log="faults-$seed.ndjson" pport rc
  rm -f port "$log"
  python3 "$proxy_py" --upstream "$upstream" --seed "$seed" --strip "$run" --port-file port \
    --log "$log" "$@" 2> "proxy-$seed.err" &
  local proxy=$!
  proxy_up() { [ -s port ] || ! kill -0 "$proxy" 2>/dev/null; }
  wait_for 300 "the fault proxy to write its port" proxy_up
  [ -s port ] || { cat "proxy-$seed.err"; fail "the fault proxy did not start"; }
  pport=$(cat port)
  set +e
  AWS_ENDPOINT_URL="http://127.0.0.1:$pport" \
    nexsync card "$dest" "${opts[@]}" --retries "$retries" --stall-timeout 2s --format ndjson -v > "run-$seed.out" 2> "run-$seed.err"
  rc=$?
  set -e
  kill "$proxy" 2>/dev/null || true
  wait "$proxy" 2>/dev/null || true
  local nf; nf=$(wc -l < "$log" 2>/dev/null || echo 0)
  total_faults=$((total_faults + nf))
  # The secret never shows, whatever went wrong.
  ! grep -qF "$AWS_SECRET_ACCESS_KEY" "run-$seed.out" "run-$seed.err" || fail "seed $seed: the secret key was printed"
  case $rc in
    0)
      assert_eq "$(tail -1 "run-$seed.out" | jq -r '.items_failed')" 0 "(seed $seed: exit 0 with failures)"
      assert_eq "$(tail -1 "run-$seed.out" | jq -r '.items_uploaded + .items_up_to_date')" "$nitems" "(seed $seed)"
      ;;
    3)
      # what is left is named, item by item
      jq -r 'select(.action=="failed")|.item' "run-$seed.out" | grep -q FLT-1/ ||
        { cat "run-$seed.out"; fail "seed $seed: exit 3 without naming a failed item"; }
      ;;
    1)
      ((strict == 0)) || { tail -20 "run-$seed.err"; fail "seed $seed: exit 1 while the server answers (expected 0 or 3)"; }
      assert_eq "$(grep -c 'error:' "run-$seed.err")" 1 "(seed $seed: one error line)"
      grep 'error:' "run-$seed.err" | grep -Eq 's3|S3|connect|server|reset|timed out|Timeout|SlowDown|503|500' ||
        { cat "run-$seed.err"; fail "seed $seed: the error line does not name the cause"; }
      ;;
    *)
      tail -20 "run-$seed.err"; fail "seed $seed: nexsync exited $rc (expected 0, 1 or 3)" ;;
  esac
  # Whatever the outcome: what is on the server is intact, and what the run
  # called uploaded is on the server.
  local on_server; on_server=$(check_backup "$dest" "s$seed-faulty" | tail -1)
  while read -r item; do
    jq -r .location "items-s$seed-faulty" | grep -qxF "$dest/$item" ||
      fail "seed $seed: $item was reported uploaded but is not on the server"
  done < <(jq -r 'select(.action=="uploaded" or .action=="up to date")|.item' "run-$seed.out")
  # A re-run without faults completes, and everything is there.
  AWS_ENDPOINT_URL=$direct expect_exit 0 nexsync card "$dest" "${opts[@]}" --format ndjson
  assert_eq "$(tail -1 "$WORK/out" | jq -r '.items_failed')" 0 "(seed $seed: re-run)"
  assert_eq "$(check_backup "$dest" "s$seed-after" | tail -1)" "$nitems" "(seed $seed: items after the re-run)"
  local kinds; kinds=$(jq -r .fault "$log" 2>/dev/null | sort | uniq -c | awk '{printf "%s%s×%s", sep, $2, $1; sep=" "}')
  echo "seed $seed: exit $rc, $nf fault(s) [${kinds:-none}], $on_server/$nitems item(s) on the server after it; re-run ok"
  jq -r 'select(.action=="failed") | "  left: \(.item): \(.note // .error // "")"' "run-$seed.out"
  grep 'error:' "run-$seed.err" | sed 's/^/  /' || true
  outcome[$rc]=$(( ${outcome[$rc]:-0} + 1 ))
  outcomes="$outcomes $seed:$rc"
  # make room in the shared memstore
  nexsync rm --items "items-s$seed-after" -y -q >/dev/null 2>&1 || true
}

# The fleet profile of issue #14 (15 % 503, 8 % dropped connections, 5 %
# truncated answers, 3 % stalls past the 2 s stall timeout), default retries:
# the server answers throughout, so every run ends 0 or 3, never 1.
fleet=503=0.15,reset-before=0.03,reset-mid-request=0.02,reset-mid-response=0.03,truncate=0.05,stall=0.03
strict=1
for i in 0 1 2; do fault_run $((base + i)) 5 --mix "$fleet" --stall 3; done
strict=0
# Only stalls, longer than the 2 s stall timeout.
fault_run $((base + 3)) 5 --rate 0.2 --kinds stall --stall 4
# Truncated and reset answers: the server acted, the client did not hear it.
fault_run $((base + 4)) 5 --rate 0.3 --kinds truncate,reset-mid-response,reset-mid-request
# Bodies changed on the way (one byte flipped): the server's SHA-256 check
# refuses them (the item fails: exit 3) or a retry gets through; never stored.
fault_run $((base + 8)) 3 --rate 0.3 --kinds corrupt
# Harsh: half the requests broken, 2 attempts each: runs end 1 or 3 (or 0).
for i in 5 6; do fault_run $((base + i)) 2 --rate 0.5 --stall 4; done
# The server goes away for 3 s after the 12th request and comes back.
fault_run $((base + 7)) 2 --rate 0 --down-after 12 --down-for 3

# kill -9 at seeded random points of an upload (direct, no proxy), a few
# times in a row: the backup never has an item that is not whole; then a
# re-run completes.
RANDOM=$base
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
t0=$(now_ms)
nexsync card "$S3/timing" "${opts[@]}" -q >/dev/null
tsync=$(( $(now_ms) - t0 + 100 ))
kills=0
for k in 1 2 3 4; do
  delay=$(( (RANDOM * 32768 + RANDOM) % tsync ))
  nexsync card "$S3/kill" "${opts[@]}" -q >/dev/null 2>&1 & pid=$!
  sleep "$(printf '%d.%03d' $((delay / 1000)) $((delay % 1000)))"
  kill -9 "$pid" 2>/dev/null && kills=$((kills + 1))
  wait "$pid" 2>/dev/null || true
  have=$(check_backup "$S3/kill" "kill$k" | tail -1)
  echo "kill $k after $delay ms: $have/$nitems item(s) on the server, all intact"
done
expect_exit 0 nexsync card "$S3/kill" "${opts[@]}" --format ndjson
assert_eq "$(tail -1 "$WORK/out" | jq -r '.items_failed')" 0 "(after the kills)"
assert_eq "$(check_backup "$S3/kill" kill-after | tail -1)" "$nitems" "(after the kills)"
echo "nexsync s3: killed $kills of 4 runs (seed $base); the re-run completed"
nexsync rm --items items-kill-after -y -q >/dev/null 2>&1 || true
{ nexls "$S3/timing" --events --format ndjson; nexls "$S3/timing" --format ndjson; } 2>/dev/null |
  nexsync rm --items - -y -q >/dev/null 2>&1 || true

echo "fault runs: 9 seeds from $base, $total_faults faults injected; exits:$outcomes" \
  "(0: ${outcome[0]:-0}, 3: ${outcome[3]:-0}, 1: ${outcome[1]:-0})"
echo "faults s3: ok"
