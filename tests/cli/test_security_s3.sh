#!/usr/bin/env bash
# Security: credentials never appear in output, logs (-vvv) or the work
# directory, whatever happens (good secret, wrong secret, server down, secret
# from the config file); manifests planted on the server or in a folder whose
# file keys leave the item (../, absolute, a/../..) are refused by nexsync pull
# and nexls and nothing is written outside --to; https endpoints: a
# self-signed certificate is refused unless its CA is given (AWS_CA_BUNDLE),
# and a certificate for another name is refused even then.
. "$(dirname "$0")/lib.sh"
cd "$WORK"
command -v jq >/dev/null || { echo "jq missing" >&2; exit 125; }
command -v openssl >/dev/null || { echo "openssl missing" >&2; exit 125; }
[ -s "${NEX_S3_ENV_FILE:-}" ] || { echo "no S3 server (NEX_S3_ENV_FILE)" >&2; exit 125; }
# shellcheck disable=SC1090
. "$NEX_S3_ENV_FILE"
unset AWS_CA_BUNDLE   # the system's trust store only, unless a test gives one
export NEX_SYNC_WORK_DIR="$WORK/state" NEX_CONFIG="$WORK/config.yaml"
: > "$NEX_CONFIG"
harness="${NEX_SOURCE_DIR:-$(dirname "$0")/../..}/tests/harness"
run="sec$$-$RANDOM"
S3="s3://$NEX_S3_BUCKET/$run"
secret=$AWS_SECRET_ACCESS_KEY
access=$AWS_ACCESS_KEY_ID

nexsim init card --model pro --capacity 8G --serial SEC-1 -q
nexsim park card --start 2026-11-21T20:00:00 --duration 1h --incident impact@10m --clip-length 5s -q >/dev/null
pk=$(nexls card --events --format ndjson | jq -r .id)

# --- credentials: every run's stdout and stderr kept, at the most verbose level
n=0
keep() { n=$((n + 1)); cp "$WORK/out" "log-$n.out"; cp "$WORK/err" "log-$n.err"; }
expect_exit 0 nexsync card "$S3/a" --drives none -vvv; keep
grep -q 'PUT\|put\|upload' log-$n.err || fail "-vvv shows no request trace (is -vvv the debug level?)"
expect_exit 0 nexsync card "$S3/a" --drives none -vvv; keep   # the no-op run
expect_exit 0 nexls "$S3/a" --events -vvv; keep
expect_exit 0 nexls "$S3/a" --events --format json -vvv; keep
expect_exit 0 nexsync pull "$S3/a/SEC-1/events/$pk" --to got -vvv; keep
AWS_SECRET_ACCESS_KEY="${secret}x" expect_exit 1 nexsync card "$S3/b" -vvv; keep
assert_contains "$WORK/err" SignatureDoesNotMatch
AWS_SECRET_ACCESS_KEY="${secret}x" expect_exit 1 nexls "$S3/a" -vvv; keep
AWS_SECRET_ACCESS_KEY="${secret}x" expect_exit 1 nexsync pull "$S3/a/SEC-1/events/$pk" --to got2 -vvv; keep
# the server is not there (a port nothing listens on)
dead=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
AWS_ENDPOINT_URL=http://127.0.0.1:$dead expect_exit 1 nexsync card "$S3/c" --retries 2 -vvv; keep
assert_contains "$WORK/err" "connect"
AWS_ENDPOINT_URL=http://127.0.0.1:$dead expect_exit 1 nexls "$S3/a" -vvv; keep
# credentials in an endpoint URL are never echoed back
set +e
AWS_ENDPOINT_URL="http://someone:${secret}@127.0.0.1:$dead" nexsync card "$S3/d" --retries 1 -vvv > "$WORK/out" 2> "$WORK/err"
set -e; keep
# the secret from the config file instead of the environment
noenv=(env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY)
printf 's3:\n  access_key_id: %s\n  secret_access_key: %s\n' "$access" "$secret" > "$NEX_CONFIG"
expect_exit 0 "${noenv[@]}" nexsync card "$S3/e" --drives none -vvv; keep
printf 's3:\n  access_key_id: %s\n  secret_access_key: %sx\n' "$access" "$secret" > "$NEX_CONFIG"
expect_exit 1 "${noenv[@]}" nexsync card "$S3/e" --drives none -vvv; keep
expect_exit 1 "${noenv[@]}" nexls "$S3/e" -vvv; keep
: > "$NEX_CONFIG"
# nothing anywhere: outputs, logs, the journal, state and cut clips
for f in log-*.out log-*.err; do
  ! grep -qF "$secret" "$f" || fail "$f shows the secret key"
  ! grep -qF "$access" "$f" || fail "$f shows the access key id"
  ! grep -q 'Signature=\|Credential=\|AWS4-HMAC-SHA256\|[Aa]uthorization:' "$f" || fail "$f shows a request signature"
done
! grep -rqF "$secret" state || fail "the work directory holds the secret key"
! grep -rqF "$access" state || fail "the work directory holds the access key id"
! grep -rq 'Signature=\|Credential=' state || fail "the work directory holds a signature"
echo "credentials: $n runs at -vvv (ok, wrong secret, server down, config file), no secret, access key id or signature in any output or the work dir"

# --- hostile manifests: keys that leave the item
put() { python3 "$harness/s3put.py" "$NEX_S3_BUCKET" "$1" "$2" >/dev/null || fail "cannot plant $1"; }
m="got/SEC-1/events/$pk/event.json"
[ -f "$m" ] || fail "no pulled manifest to start from"
mkdir -p outside
i=0
for key in '../../../outside/x' '../x' '/etc/x' "$WORK/outside/x" 'a/../../x' 'footage/../../../outside/x' \
           '.' 'a//b' 'a\b' "$(printf 'a\nb')"; do
  i=$((i + 1))
  jq --arg k "$key" '.files[0].key = $k' "$m" > evil.json
  # on the server
  put "$run/evil$i/SEC-1/events/$pk/event.json" evil.json
  expect_exit 3 nexsync pull "$S3/evil$i/SEC-1/events/$pk" --to "pull$i"
  assert_contains "$WORK/err" "unsafe file key"
  set +e; nexls "$S3/evil$i" --events --format ndjson > "ls$i.out" 2> "ls$i.err"; rc=$?; set -e
  [ "$rc" = 0 ] || [ "$rc" = 1 ] || [ "$rc" = 3 ] || fail "nexls of a hostile manifest exited $rc"
  grep -q 'unsafe\|manifest' "ls$i.err" || { cat "ls$i.err"; fail "nexls says nothing about the hostile manifest"; }
  # in a folder backup
  mkdir -p "bk$i/SEC-1/events/$pk"
  cp evil.json "bk$i/SEC-1/events/$pk/event.json"
  cp "got/SEC-1/events/$pk/road.mp4" "bk$i/SEC-1/events/$pk/road.mp4"
  expect_exit 3 nexsync pull "bk$i/SEC-1/events/$pk" --to "lpull$i"
  assert_contains "$WORK/err" "unsafe file key"
  set +e; nexls "bk$i" --events --format ndjson > "lls$i.out" 2> "lls$i.err"; rc=$?; set -e
  [ "$rc" = 0 ] || [ "$rc" = 1 ] || [ "$rc" = 3 ] || fail "nexls of a hostile folder manifest exited $rc"
done
[ -z "$(ls -A outside)" ] || fail "a pull wrote outside its folder: $(ls -A outside)"
[ ! -e /etc/x ] || fail "a pull wrote /etc/x"
[ ! -e "$WORK/x" ] && [ ! -e x ] || fail "a pull wrote next to its folder"
# a manifest whose item folder is not where it was found (key of another item)
jq '.files[0].key = "events/20200101_000000_other/road.mp4"' "$m" > evil.json
put "$run/evilx/SEC-1/events/$pk/event.json" evil.json
expect_exit 3 nexsync pull "$S3/evilx/SEC-1/events/$pk" --to pullx
# object keys on the server that climb out ('..' components; radosgw stores them as given)
for key in "events/../event.json" "events/../../../../outside/event.json" "events/a/../../b/event.json"; do
  put "$run/evilk/SEC-1/$key" "$m"
done
expect_exit 0 nexls "$S3/evilk" --events --format ndjson
assert_not_contains "$WORK/out" '\.\.'
for loc in "$S3/evilk/SEC-1/events/../../../../outside" "$S3/evilk/SEC-1/events/a/../../b" "$S3/evilk/SEC-1/events/.."; do
  expect_exit 2 nexsync pull "$loc" --to pullk
done
[ ! -e pullk ] || fail "a pull of a climbing key wrote something"
echo "hostile manifests: $i keys refused by pull (S3 and folder), nexls reports them, nothing written outside"

# --- TLS: certificates are verified by default
openssl req -x509 -newkey rsa:2048 -nodes -keyout key.pem -out cert.pem -days 2 \
  -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 2>/dev/null
openssl req -x509 -newkey rsa:2048 -nodes -keyout okey.pem -out ocert.pem -days 2 \
  -subj /CN=elsewhere.example -addext subjectAltName=DNS:elsewhere.example 2>/dev/null
tls_front() {   # tls_front CERT KEY: an https front for radosgw; sets $tport $tpid
  rm -f tport.txt
  python3 "$harness/faultproxy.py" --upstream "${AWS_ENDPOINT_URL#http://}" --port-file tport.txt \
    --tls-cert "$1" --tls-key "$2" --log tls.log 2>/dev/null &
  tpid=$!
  tls_up() { [ -s tport.txt ] || ! kill -0 "$tpid" 2>/dev/null; }
  wait_for 300 "the TLS front to write its port" tls_up
  [ -s tport.txt ] || fail "the TLS front did not start"
  tport=$(cat tport.txt)
}
tls_front cert.pem key.pem
AWS_ENDPOINT_URL=https://127.0.0.1:$tport expect_exit 1 nexsync card "$S3/t" --drives none
assert_contains "$WORK/err" "certificate"
assert_contains "$WORK/err" "AWS_CA_BUNDLE"
assert_eq "$(grep -c 'error:' "$WORK/err")" 1
AWS_ENDPOINT_URL=https://127.0.0.1:$tport expect_exit 1 nexls "$S3/a" --events
assert_contains "$WORK/err" "certificate"
# with its CA given, the same server is trusted
AWS_ENDPOINT_URL=https://127.0.0.1:$tport AWS_CA_BUNDLE=$WORK/cert.pem \
  expect_exit 0 nexsync card "$S3/t" --drives none --format ndjson
assert_eq "$(tail -1 "$WORK/out" | jq -r .items_uploaded)" 1
AWS_ENDPOINT_URL=https://127.0.0.1:$tport AWS_CA_BUNDLE=$WORK/cert.pem \
  expect_exit 0 nexls "$S3/t" --events --format ndjson
assert_eq "$(jq -r .id "$WORK/out")" "$pk"
printf 's3:\n  ca_bundle: %s\n' "$WORK/cert.pem" > "$NEX_CONFIG"
AWS_ENDPOINT_URL=https://127.0.0.1:$tport expect_exit 0 nexsync card "$S3/t" --drives none
: > "$NEX_CONFIG"
kill "$tpid"; wait "$tpid" 2>/dev/null || true
# a certificate for another name: refused even with its CA given
tls_front ocert.pem okey.pem
AWS_ENDPOINT_URL=https://127.0.0.1:$tport AWS_CA_BUNDLE=$WORK/ocert.pem \
  expect_exit 1 nexsync card "$S3/t2" --drives none
grep -qi 'certificate\|name\|host' "$WORK/err" || { cat "$WORK/err"; fail "no clear TLS error"; }
kill "$tpid"; wait "$tpid" 2>/dev/null || true
echo "tls: self-signed refused by default, trusted with AWS_CA_BUNDLE or s3.ca_bundle, wrong name refused"
echo "security s3: ok"
