#!/usr/bin/env bash
# AWS conventions (#14) against radosgw: profiles from the shared config and
# credentials files (written here, under a private HOME), AWS_PROFILE and
# --profile with the AWS CLI's precedence, endpoint_url and
# "s3 = addressing_style" from a profile, virtual-hosted requests
# (BUCKET.localhost: scripts/radosgw sets rgw_dns_name), credential_process;
# bad input is one error line with the documented exit code, and no secret
# is ever printed, even at -vvv.
. "$(dirname "$0")/lib.sh"
cd "$WORK"
command -v jq >/dev/null || { echo "jq missing" >&2; exit 125; }
[ -s "${NEX_S3_ENV_FILE:-}" ] || { echo "no S3 server (NEX_S3_ENV_FILE)" >&2; exit 125; }
# shellcheck disable=SC1090
. "$NEX_S3_ENV_FILE"
access=$AWS_ACCESS_KEY_ID secret=$AWS_SECRET_ACCESS_KEY endpoint=$AWS_ENDPOINT_URL bucket=$NEX_S3_BUCKET
port=${endpoint##*:}
# Nothing from the environment: every setting comes from the files below.
unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_ENDPOINT_URL AWS_REGION AWS_SESSION_TOKEN AWS_PROFILE \
  AWS_DEFAULT_REGION AWS_CA_BUNDLE AWS_ENDPOINT_URL_S3 NEX_S3_ADDRESSING
export HOME="$WORK/home" NEX_SYNC_WORK_DIR="$WORK/state" NEX_CONFIG="$WORK/config.yaml"
mkdir -p "$HOME/.aws"
: > "$NEX_CONFIG"
run="aws$$-$RANDOM"
S3="s3://$bucket/$run"

cat > "$HOME/.aws/config" <<EOF
[default]
region = us-east-1

[profile fleet]
endpoint_url = $endpoint

[profile vhost]
endpoint_url = http://localhost:$port
s3 =
  addressing_style = virtual

[profile proc]
endpoint_url = $endpoint
credential_process = "$WORK/get creds" --json

[profile wrong]
endpoint_url = $endpoint

[profile broken-proc]
endpoint_url = $endpoint
credential_process = $WORK/fails

[profile garbage-proc]
endpoint_url = $endpoint
credential_process = $WORK/garbage
EOF
cat > "$HOME/.aws/credentials" <<EOF
[fleet]
aws_access_key_id = $access
aws_secret_access_key = $secret

[vhost]
aws_access_key_id = $access
aws_secret_access_key = $secret

[wrong]
aws_access_key_id = $access
aws_secret_access_key = ${secret}x
EOF
cat > "$WORK/get creds" <<EOF
#!/bin/sh
[ "\$1" = --json ] || exit 9
printf '{"Version": 1, "AccessKeyId": "%s", "SecretAccessKey": "%s", "Expiration": "2099-01-01T00:00:00Z"}\n' '$access' '$secret'
EOF
printf '#!/bin/sh\necho "token service unreachable" >&2\nexit 4\n' > "$WORK/fails"
printf '#!/bin/sh\necho "%s is not JSON"\n' "$secret" > "$WORK/garbage"
chmod +x "$WORK/get creds" "$WORK/fails" "$WORK/garbage"

nexsim init card --model pro --capacity 8G --serial AWS-1 -q
nexsim park card --start 2026-11-21T20:00:00 --duration 1h --incident impact@10m --clip-length 5s -q >/dev/null
pk=$(nexls card --events --format ndjson | jq -r .id)

n=0
keep() { n=$((n + 1)); cp "$WORK/out" "log-$n.out"; cp "$WORK/err" "log-$n.err"; }

# --- a profile named by --profile, then by AWS_PROFILE: keys and endpoint from the files
expect_exit 0 nexsync card "$S3/a" --drives none --profile fleet -vvv; keep
assert_contains "$WORK/out" "events/$pk"
expect_exit 0 nexls "$S3/a" --events --profile fleet --format ndjson -vvv; keep
assert_eq "$(jq -r .id "$WORK/out")" "$pk"
AWS_PROFILE=fleet expect_exit 0 nexls "$S3/a" --events --format ndjson; keep
assert_eq "$(jq -r .id "$WORK/out")" "$pk"
# --serial: only that camera's part of the bucket
AWS_PROFILE=fleet expect_exit 0 nexls "$S3/a" --events --serial AWS-1 --format ndjson; keep
assert_eq "$(jq -r .id "$WORK/out")" "$pk"
AWS_PROFILE=fleet expect_exit 0 nexls "$S3/a" --events --serial AWS-10 --format ndjson; keep
assert_eq "$(wc -l < "$WORK/out")" 0
AWS_PROFILE=fleet expect_exit 2 nexls "$S3/a" --events --serial ../x; keep
AWS_PROFILE=fleet expect_exit 2 nexls card --serial AWS-1; keep
AWS_PROFILE=fleet expect_exit 0 nexsync pull "$S3/a/AWS-1/events/$pk" --to got -vvv; keep
[ -s "got/AWS-1/events/$pk/event.json" ] || fail "pull with AWS_PROFILE wrote nothing"

# --- precedence: the environment's keys beat AWS_PROFILE's, --profile beats the environment's
AWS_PROFILE=fleet AWS_ACCESS_KEY_ID=$access AWS_SECRET_ACCESS_KEY="${secret}x" \
  expect_exit 1 nexls "$S3/a" --events -vvv; keep
assert_contains "$WORK/err" SignatureDoesNotMatch
AWS_ACCESS_KEY_ID=$access AWS_SECRET_ACCESS_KEY="${secret}x" \
  expect_exit 0 nexls "$S3/a" --events --profile fleet; keep
# the environment's endpoint beats the profile's (a port nothing listens on)
dead=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
AWS_ENDPOINT_URL=http://127.0.0.1:$dead NEX_S3_STALL_TIMEOUT=1s \
  expect_exit 1 nexls "$S3/a" --events --profile fleet; keep
assert_contains "$WORK/err" "127.0.0.1:$dead"
# the default profile when nothing names one; the nex config below the profile
printf 's3:\n  endpoint: %s\n  access_key_id: %s\n  secret_access_key: %sx\n' "$endpoint" "$access" "$secret" > "$NEX_CONFIG"
expect_exit 1 nexls "$S3/a" --events; keep                       # default profile has no keys: the config's (wrong) ones
assert_contains "$WORK/err" SignatureDoesNotMatch
expect_exit 0 nexls "$S3/a" --events --profile fleet; keep       # the profile's keys beat the config's
: > "$NEX_CONFIG"

# --- virtual-hosted: BUCKET.localhost:PORT, the key as the path
expect_exit 0 nexsync card "$S3/v" --drives none --profile vhost -vvv; keep
assert_contains "$WORK/err" "$bucket.localhost:$port"
assert_contains "$WORK/out" "events/$pk"
expect_exit 0 nexls "$S3/v" --events --profile vhost --format ndjson -vvv; keep
assert_eq "$(jq -r .id "$WORK/out")" "$pk"
expect_exit 0 nexsync pull "$S3/v/AWS-1/events/$pk" --to got-v --profile vhost; keep
cmp "got/AWS-1/events/$pk/road.mp4" "got-v/AWS-1/events/$pk/road.mp4" || fail "virtual-hosted pull differs"
# what the virtual-hosted run wrote, read path-style: the same objects
expect_exit 0 nexls "$S3/v" --events --profile fleet --format ndjson; keep
assert_eq "$(jq -r .id "$WORK/out")" "$pk"
# a bucket name that cannot be a host name: one usage error line, nothing sent
expect_exit 2 nexls "s3://nex_test/x" --profile vhost; keep
assert_eq "$(grep -c error: "$WORK/err")" 1
assert_contains "$WORK/err" "^nexls: error: bucket name 'nex_test' cannot be used with virtual-hosted addressing"
# virtual-hosted against an IP address: usage error
NEX_S3_ADDRESSING=virtual expect_exit 2 nexls "$S3/a" --profile fleet; keep
assert_contains "$WORK/err" "needs a host name"

# --- credential_process: the test key from a program (its path has a space; an argument)
expect_exit 0 nexsync card "$S3/p" --drives none --profile proc -vvv; keep
assert_contains "$WORK/out" "events/$pk"
assert_contains "$WORK/err" "credential_process"
AWS_PROFILE=proc expect_exit 0 nexls "$S3/p" --events; keep

# --- bad input: one line each, the documented exit code
expect_exit 2 nexsync card "$S3/x" --profile typo; keep
assert_eq "$(head -1 "$WORK/err")" "nexsync: error: AWS profile 'typo' not found in $HOME/.aws/config or $HOME/.aws/credentials"
AWS_PROFILE=typo expect_exit 2 nexls "$S3/a"; keep
assert_contains "$WORK/err" "^nexls: error: AWS profile 'typo' not found"
expect_exit 1 nexsync card "$S3/x" --profile broken-proc; keep
assert_contains "$WORK/err" "^nexsync: error: credential_process: '$WORK/fails' failed (exit 4)"
assert_contains "$WORK/err" "token service unreachable"   # the program's own message, on stderr
expect_exit 1 nexsync card "$S3/x" --profile garbage-proc -vvv; keep
assert_contains "$WORK/err" "^nexsync: error: credential_process: its output is not a JSON object"
expect_exit 1 nexls "$S3/a" --profile wrong; keep
assert_contains "$WORK/err" SignatureDoesNotMatch
cp "$HOME/.aws/config" config.good
printf '[profile fleet]\nendpoint_url = %s\nthis line has no equals sign\n' "$endpoint" > "$HOME/.aws/config"
expect_exit 1 nexsync card "$S3/x" --profile fleet; keep
assert_eq "$(head -1 "$WORK/err")" "nexsync: error: $HOME/.aws/config:3: expected 'key = value'"
printf '[profile fleet]\nendpoint_url = %s\ns3 =\n  addressing_style = sideways\n' "$endpoint" > "$HOME/.aws/config"
expect_exit 1 nexls "$S3/a" --profile fleet; keep
assert_contains "$WORK/err" "bad s3 addressing_style 'sideways'"
# AWS_CONFIG_FILE / AWS_SHARED_CREDENTIALS_FILE point elsewhere
mkdir -p elsewhere && cp config.good elsewhere/config && cp "$HOME/.aws/credentials" elsewhere/creds
AWS_CONFIG_FILE=$WORK/elsewhere/config AWS_SHARED_CREDENTIALS_FILE=$WORK/elsewhere/creds \
  expect_exit 0 nexls "$S3/a" --events --profile fleet; keep
cp config.good "$HOME/.aws/config"

# --- the AWS CLI (Debian's awscli, scripts/packages.txt) reads what nexsync wrote with the
# same profile; with --encrypt it gets only ciphertext. awscli before 2.13 (Debian 12 has
# 2.9) ignores endpoint_url in a profile and AWS_ENDPOINT_URL: the endpoint goes as a flag.
if command -v aws >/dev/null; then
  awscli() { AWS_PAGER="" aws --profile fleet --endpoint-url "$endpoint" --region us-east-1 "$@"; }
  expect_exit 0 awscli s3 ls --recursive "$S3/a/"
  assert_contains "$WORK/out" "AWS-1/events/$pk/event.json"
  assert_contains "$WORK/out" "AWS-1/events/$pk/road.mp4"
  expect_exit 0 awscli s3 cp "$S3/a/AWS-1/events/$pk/road.mp4" aws-plain.mp4
  cmp aws-plain.mp4 "got/AWS-1/events/$pk/road.mp4" || fail "aws s3 cp got other bytes than nexsync pull"
  openssl rand -hex 32 > aws.key && chmod 600 aws.key
  expect_exit 0 nexsync card "$S3/e" --drives none --profile fleet --encrypt aws.key; keep
  expect_exit 0 awscli s3 ls --recursive "$S3/e/"
  assert_contains "$WORK/out" "AWS-1/events/$pk/road.mp4"
  for f in road.mp4 event.json; do
    expect_exit 0 awscli s3 cp "$S3/e/AWS-1/events/$pk/$f" "aws-enc-$f"
    assert_eq "$(head -c 8 "aws-enc-$f")" NEXCRYPT
  done
  ! grep -qa ftyp aws-enc-road.mp4 || fail "aws s3 cp of an encrypted backup holds an MP4 signature"
  ! grep -qa "$pk" aws-enc-event.json || fail "aws s3 cp of an encrypted manifest shows its content"
  expect_exit 0 nexls "$S3/e" --events --profile fleet --encrypt aws.key --format ndjson; keep
  assert_eq "$(jq -r .id "$WORK/out")" "$pk"
else
  echo "aws missing (scripts/setup installs awscli): the AWS CLI interop checks are skipped" >&2
fi

# --- no secret anywhere: outputs, logs, the work dir
for f in log-*.out log-*.err; do
  ! grep -qF -- "$secret" "$f" || fail "$f shows the secret key"
done
! grep -rqF -- "$secret" "$NEX_SYNC_WORK_DIR" || fail "the work dir holds the secret key"
echo "ok: AWS profiles, precedence, virtual-hosted, credential_process, bad input"
