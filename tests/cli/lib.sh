# Shared helpers for the CLI tests (sourced, not a test itself).
set -euo pipefail
: "${NEX_BIN:?NEX_BIN must point at the built tools}"
PATH="$NEX_BIN:$PATH"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/nex-cli.XXXXXX")
# A test that fails while a background run is going ends that run too.
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$WORK"' EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }
# expect_exit CODE cmd... : run, capture stdout/stderr in $WORK/out $WORK/err
expect_exit() {
  local want=$1; shift
  set +e; "$@" >"$WORK/out" 2>"$WORK/err"; local got=$?; set -e
  if [ "$got" != "$want" ]; then
    echo "--- stdout"; cat "$WORK/out"; echo "--- stderr"; cat "$WORK/err"
    fail "'$*' exited $got, expected $want"
  fi
}
assert_contains() { grep -q -- "$2" "$1" || { cat "$1"; fail "$1 lacks '$2'"; }; }
assert_not_contains() { ! grep -q -- "$2" "$1" || { cat "$1"; fail "$1 contains '$2'"; }; }
assert_eq() { [ "$1" == "$2" ] || fail "expected '$2', got '$1' ${3:-}"; }
# wait_for SECONDS WHAT cmd...: polls cmd until it succeeds. The deadline is
# only for a run that hangs (keep it generous: a busy machine is slow, not
# wrong); past it the test fails, saying what it waited for.
wait_for() {
  # The deadline only ends a failure: it is stretched (NEX_TEST_WAIT_SCALE,
  # default 5) so that a busy machine never turns a pass into a failure.
  local secs=$(($1 * ${NEX_TEST_WAIT_SCALE:-5})) what=$2; shift 2
  local deadline=$((SECONDS + secs))
  until "$@"; do
    [ "$SECONDS" -lt "$deadline" ] || fail "waited ${secs}s for $what"
    sleep 0.1
  done
}
# s3_test [TOOL...]: the prelude of a test against the suite's radosgw
# (scripts named test_*s3*.sh get it as a ctest fixture): skips (exit 125)
# without jq, the TOOLs or the server; loads the server's address and test
# key; a work dir and an empty config of the test's own; $run, a prefix of
# its own in the shared bucket, and $S3, its s3:// URL. Call it in $WORK.
s3_test() {
  local t
  for t in jq "$@"; do command -v "$t" >/dev/null || { echo "$t missing" >&2; exit 125; }; done
  [ -s "${NEX_S3_ENV_FILE:-}" ] || { echo "no S3 server (NEX_S3_ENV_FILE)" >&2; exit 125; }
  # shellcheck disable=SC1090
  . "$NEX_S3_ENV_FILE"
  export NEX_SYNC_WORK_DIR="$WORK/state" NEX_CONFIG="$WORK/config.yaml"
  : > "$NEX_CONFIG"
  run="t$$-$RANDOM"
  S3="s3://$NEX_S3_BUCKET/$run"
}
# Tests that follow a drive nexsim records at --pace on ./card, its pid in
# $cam. closed HHM: the road videos closed so far of 2026-11-20 from HH:M0.
closed() { find card/drive -maxdepth 1 -name "20261120_$1*_1.mp4" | wc -l; }
# pause_camera HHM K MAX: waits for K closed road videos and for the camera
# to have opened the next one (its temporary name: paused between a close and
# the next open, the drive would rightly look ended), pauses the camera
# (SIGSTOP: the EXIT trap must CONT it) and sets $m to how many are closed;
# fails when the drive had ended (MAX of them).
pause_camera() {
  local hhm=$1 k=$2 max=$3
  at_least() {
    local n; n=$(closed "$hhm")
    { [ "$n" -ge "$k" ] && { [ "$n" -ge "$max" ] || compgen -G "card/drive/.20261120_$hhm*_1.mp4.tmp-*" >/dev/null; }; } ||
      ! kill -0 "$cam" 2>/dev/null
  }
  wait_for 120 "$k segment(s) from $hhm to close on the card" at_least
  kill -STOP "$cam"
  m=$(closed "$hhm")
  [ "$m" -lt "$max" ] || fail "the drive from $hhm ended before the test could pause the camera"
}
# foreign_card PROFILE: the card tests/harness/foreign_card.sh makes for
# PROFILE (footage made by the ffmpeg command line, not by nex), copied to
# ./PROFILE. The cards are made once and kept in $FOREIGN_CACHE (under
# $NEX_CACHE_DIR, named by the generator's own hash: a change to it makes
# new ones); the copy keeps nexls --check from meeting the cache marker and
# any tool from writing to the cache.
foreign_card() {
  local p=$1 harness="$NEX_SOURCE_DIR/tests/harness"
  FOREIGN_CACHE="$NEX_CACHE_DIR/foreign-$(sha256sum "$harness/foreign_card.sh" | cut -c1-12)"
  mkdir -p "$FOREIGN_CACHE"
  if [ ! -f "$FOREIGN_CACHE/$p/.done" ]; then
    rm -rf "$FOREIGN_CACHE/$p.tmp.$$"
    bash "$harness/foreign_card.sh" "$p" "$FOREIGN_CACHE/$p.tmp.$$" >/dev/null || fail "cannot make the $p card"
    touch "$FOREIGN_CACHE/$p.tmp.$$/.done"
    # (a parallel run may have made it first)
    mv -T "$FOREIGN_CACHE/$p.tmp.$$" "$FOREIGN_CACHE/$p" 2>/dev/null || rm -rf "$FOREIGN_CACHE/$p.tmp.$$"
  fi
  rm -rf "$p"; cp -r "$FOREIGN_CACHE/$p" "$p"; rm -f "$p/.done"
  # what the profile is for is in its files' boxes (sample entries,
  # timescales, ctts, edit lists): checked on every use, not only when made
  bash "$harness/foreign_card.sh" --verify "$p" "$p" >/dev/null || fail "the $p card is not what its profile claims"
}
# Evidence bundles (test_evidence*.sh): flip FILE OFFSET changes one byte
# (its lowest bit); mid FILE is the offset of its middle; verify_fails
# BUNDLE PATTERN [--key K]: nexls verify exits 3 with a line matching PATTERN.
flip() {
  local b; b=$(od -An -tu1 -j "$2" -N1 "$1" | tr -d ' ')
  # shellcheck disable=SC2059
  printf "$(printf '\\%03o' $(( (b ^ 1) & 255 )))" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}
mid() { echo $(( $(stat -c %s "$1") / 2 )); }
verify_fails() {
  local b=$1 pat=$2; shift 2
  expect_exit 3 nexls verify "$b" "$@"
  grep -E -- "$pat" "$WORK/out" >/dev/null || { cat "$WORK/out"; fail "verify $b: no line '$pat'"; }
}
# evidence_card SERIAL: ./card, a Nexar Pro with an interior camera whose
# hard brake ($ev) has its window (50 s..80 s) across two segments; signing
# keys key.pem/pub.pem (fingerprint $fp) and other.pem/other.pub.
evidence_card() {
  nexsim init card --model pro --capacity 8G --serial "$1" --utc-offset +02:00 -q
  nexsim drive card --start 2026-11-20T08:12:00 --duration 2m --interior --event hard-brake@70s -q >/dev/null
  ev=$(nexls card --events --kind hard-brake --format ndjson | jq -r .id)
  [ -n "$ev" ] || fail "no event on the card"
  openssl genpkey -algorithm ed25519 -out key.pem 2>/dev/null
  openssl pkey -in key.pem -pubout -out pub.pem
  openssl genpkey -algorithm ed25519 -out other.pem 2>/dev/null
  openssl pkey -in other.pem -pubout -out other.pub
  fp="SHA256:$(openssl pkey -pubin -in pub.pem -outform DER | sha256sum | cut -d' ' -f1)"
}
