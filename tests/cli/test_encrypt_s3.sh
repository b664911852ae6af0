#!/usr/bin/env bash
# nexsync --encrypt against a real S3 server (Ceph radosgw on 127.0.0.1) and a
# folder: the server holds only ciphertext (NEXCRYPT objects, no plaintext
# SHA-256 in the metadata); nexls and pull need the key and give back the
# card's bytes; a no-op re-run sends nothing; kill -9 mid-upload resumes with
# the parts already sent; another key and a tampered chunk are clear errors
# that leave no file; bad key files are one error line, exit 1, nothing sent;
# the key appears in no output, log or work-dir file.
. "$(dirname "$0")/lib.sh"
cd "$WORK"
s3_test curl openssl
summary() { tail -1 "$WORK/out" | jq -r ".$1"; }
sha() { sha256sum "$1" | cut -d' ' -f1; }
s3curl() { curl -sf --aws-sigv4 "aws:amz:$AWS_REGION:s3" --user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" \
  -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" "$@"; }
keys_under() {  # the object keys under PREFIX/ of our run
  s3curl "$AWS_ENDPOINT_URL/$NEX_S3_BUCKET?list-type=2&max-keys=1000&prefix=$run%2F$1%2F" |
    grep -o '<Key>[^<]*</Key>' | sed 's/<[^>]*>//g' || true
}

openssl rand -hex 32 > fleet.key
openssl rand 32 > other.key   # raw bytes work too
chmod 600 fleet.key other.key
KEYHEX=$(cat fleet.key)

# A road-only Nexar Pro: a 20-second drive (its ~20 MB segment is 4 parts of
# 5 MiB) with a hard brake; --drives full sends the segment and its sidecars.
# Small on purpose: the suite's radosgw keeps everything in RAM.
nexsim init card --model pro --capacity 8G --serial PRO-EN -q
nexsim drive card --start 2026-11-20T08:12:00 --duration 20s --event hard-brake@10s -q >/dev/null
ev=$(nexls card --events --kind hard-brake --format ndjson | jq -r .id)
seg=card/drive/20261120_081200_1.mp4

# a key others can read works, with a warning
chmod 644 other.key
expect_exit 0 nexsync card "$S3/perm" --drives none --encrypt other.key --dry-run
assert_contains "$WORK/err" "readable by other users"
chmod 600 other.key

# --- bad key files: one error line, exit 1, nothing sent
printf 'short' > short.key
printf '%064d\n' 0 | tr 0 z > nothex.key
head -c 33 /dev/urandom > long.key
mkdir folder.key
: > empty.key
for k in missing.key short.key nothex.key long.key folder.key empty.key; do
  expect_exit 1 nexsync card "$S3/bad" --encrypt "$k"
  assert_eq "$(grep -c 'error:' "$WORK/err")" 1 "($k)"
  assert_contains "$WORK/err" "key file $k"
  assert_eq "$(wc -c < "$WORK/out")" 0 "($k)"
done
assert_contains "$WORK/err" "empty"
[ -z "$(keys_under bad)" ] || fail "a bad key file let something through"

# --- the backup: only ciphertext on the server
expect_exit 0 nexsync card "$S3/a" --drives full --part-size 5M --encrypt fleet.key --format ndjson -vvv
assert_eq "$(summary items_uploaded)" 2
[ "$(summary parts_sent)" -ge 4 ] || fail "the segment was not sent in parts"
for f in "$WORK/out" "$WORK/err"; do assert_not_contains "$f" "$KEYHEX"; done
assert_contains "$WORK/err" "key id"
keys_under a > keys
[ "$(wc -l < keys)" -ge 7 ] || { cat keys; fail "objects missing"; }
while read -r k; do
  s3curl -o obj "$AWS_ENDPOINT_URL/$NEX_S3_BUCKET/$k" || fail "GET $k"
  [ "$(head -c 8 obj)" == NEXCRYPT ] || fail "$k is not encrypted"
done < keys
# the segment's object: no plaintext, and its metadata does not give the file's SHA-256 away
k=$(grep '_1.mp4$' keys)
s3curl -o obj "$AWS_ENDPOINT_URL/$NEX_S3_BUCKET/$k"
! grep -q ftyp obj || fail "plaintext MP4 boxes in the object"
[ "$(stat -c %s obj)" -gt "$(stat -c %s "$seg")" ] || fail "no room for the chunks' tags"
s3curl -I "$AWS_ENDPOINT_URL/$NEX_S3_BUCKET/$k" | tr -d '\r' > head
assert_not_contains head "$(sha "$seg")"
grep -qi '^x-amz-meta-sha256: v1-' head || { cat head; fail "no sealed SHA-256"; }
# the manifests are encrypted too: GPS positions and times stay private
s3curl "$AWS_ENDPOINT_URL/$NEX_S3_BUCKET/$run/a/PRO-EN/events/$ev/event.json" > man
! grep -q '"lat"' man || fail "a manifest in clear"

# --- a no-op re-run: one LIST, nothing sent
expect_exit 0 nexsync card "$S3/a" --drives full --part-size 5M --encrypt fleet.key --format ndjson
assert_eq "$(summary bytes_sent)" 0
assert_eq "$(summary items_up_to_date)" 2

# --- nexls with the key lists what the card has; without it, one error
nexls card --events --format ndjson | jq -c '{id,kind,time}' > card_events
expect_exit 0 nexls "$S3/a" --events --encrypt fleet.key --format ndjson
jq -c '{id,kind,time}' "$WORK/out" > s3_events
cmp card_events s3_events || fail "nexls of the encrypted backup differs from the card"
expect_exit 1 nexls "$S3/a" --events
assert_contains "$WORK/err" "the backup is encrypted"
assert_eq "$(grep -c 'error:' "$WORK/err")" 1
expect_exit 1 nexls "$S3/a" --events --encrypt other.key
assert_contains "$WORK/err" "encrypted with another key"
assert_eq "$(grep -c 'error:' "$WORK/err")" 1
# the key from the config (nexsync.encrypt)
printf 'nexsync:\n  encrypt: %s\n' "$WORK/fleet.key" > "$NEX_CONFIG"
expect_exit 0 nexls "$S3/a" --events --format ndjson
: > "$NEX_CONFIG"

# --- pull: the card's bytes, every chunk checked
expect_exit 0 nexsync pull "$S3/a/PRO-EN/drives/20261120_081200" --to got --encrypt fleet.key -vvv
cmp "$seg" got/PRO-EN/footage/20261120/20261120_081200_1.mp4 || fail "pulled segment differs"
for f in "$WORK/out" "$WORK/err"; do assert_not_contains "$f" "$KEYHEX"; done
expect_exit 0 nexsync pull "$S3/a/PRO-EN/events/$ev" --to got --encrypt fleet.key
[ -s "got/PRO-EN/events/$ev/road.mp4" ] || fail "event clip not pulled"
[ -z "$(find got -name '*.enc' -o -name '*.part')" ] || fail "leftovers in the target"
# no key: one error naming the manifest
expect_exit 1 nexsync star "$S3/a/PRO-EN/events/$ev"
assert_contains "$WORK/err" "PRO-EN/events/$ev/event.json: the backup is encrypted"
# star and unstar rewrite the manifest sealed
expect_exit 0 nexsync star "$S3/a/PRO-EN/events/$ev" --encrypt fleet.key
expect_exit 0 nexls "$S3/a" --events --encrypt fleet.key --format ndjson
assert_eq "$(jq -r .starred "$WORK/out")" true
s3curl "$AWS_ENDPOINT_URL/$NEX_S3_BUCKET/$run/a/PRO-EN/events/$ev/event.json" | head -c 8 > magic
assert_eq "$(cat magic)" NEXCRYPT
expect_exit 0 nexsync unstar "$S3/a/PRO-EN/events/$ev" --encrypt fleet.key
# another key: a clear error, nothing written
expect_exit 3 nexsync pull "$S3/a/PRO-EN/events/$ev" --to wrong --encrypt other.key  # the item fails
assert_contains "$WORK/err" "encrypted with another key"
[ -z "$(find wrong -type f 2>/dev/null)" ] || fail "files written with the wrong key"

# --- a tampered chunk (chunk 1 of the event clip, replaced on the server)
k="$run/a/PRO-EN/events/$ev/road.mp4"
s3curl -o obj "$AWS_ENDPOINT_URL/$NEX_S3_BUCKET/$k"
printf '\x55' | dd of=obj bs=1 seek=$((64 + 65552 + 1000)) conv=notrunc status=none
python3 "$NEX_SOURCE_DIR/tests/harness/s3put.py" "$NEX_S3_BUCKET" "$k" obj >/dev/null
expect_exit 3 nexsync pull "$S3/a/PRO-EN/events/$ev" --to tampered --encrypt fleet.key
assert_contains "$WORK/err" "chunk 1 of [0-9]* fails authentication"
[ ! -e "tampered/PRO-EN/events/$ev/road.mp4" ] || fail "a tampered file was written"
[ -z "$(find tampered -name '*road.mp4*' 2>/dev/null)" ] || { find tampered; fail "tampered bytes left on disk"; }

# --- kill -9 mid-upload, then the resume sends only the missing parts
set +e; NEX_SYNC_FAULT=after-part:3 nexsync card "$S3/k" --drives full --part-size 5M --encrypt fleet.key -j 1 -q >/dev/null 2>&1; rc=$?; set -e
assert_eq "$rc" 137 "(killed at the 3rd part)"
expect_exit 0 nexsync card "$S3/k" --drives full --part-size 5M --encrypt fleet.key --format ndjson
[ "$(summary parts_resumed)" -ge 3 ] || fail "the journal's parts were not reused"
expect_exit 0 nexsync pull "$S3/k/PRO-EN/drives/20261120_081200" --to got-k --encrypt fleet.key
cmp "$seg" got-k/PRO-EN/footage/20261120/20261120_081200_1.mp4 || fail "resumed upload differs"
# a run with another key does not continue that key's upload: it starts over
set +e; NEX_SYNC_FAULT=after-part:2 nexsync card "$S3/k2" --drives full --part-size 5M --encrypt fleet.key -j 1 -q >/dev/null 2>&1; set -e
expect_exit 0 nexsync card "$S3/k2" --drives full --part-size 5M --encrypt other.key --format ndjson
assert_eq "$(summary parts_resumed)" 0
expect_exit 0 nexsync pull "$S3/k2/PRO-EN/drives/20261120_081200" --to got-k2 --encrypt other.key
cmp "$seg" got-k2/PRO-EN/footage/20261120/20261120_081200_1.mp4 || fail "upload after a key change differs"

# --- a local folder: the same format, the same checks
expect_exit 0 nexsync card backup --drives full --part-size 5M --encrypt fleet.key -q
for f in $(find backup -type f); do [ "$(head -c 8 "$f")" == NEXCRYPT ] || fail "$f is not encrypted"; done
expect_exit 0 nexsync card backup --drives full --part-size 5M --encrypt fleet.key --format ndjson
assert_eq "$(summary bytes_sent)" 0
expect_exit 0 nexls backup --events --encrypt fleet.key --format ndjson
jq -c '{id,kind,time}' "$WORK/out" > local_events
cmp card_events local_events || fail "nexls of the encrypted folder differs from the card"
expect_exit 0 nexsync pull "backup/PRO-EN/drives/20261120_081200" --to got-l --encrypt fleet.key
cmp "$seg" got-l/PRO-EN/footage/20261120/20261120_081200_1.mp4 || fail "folder pull differs"

# --- the key is in no file of the work dir
! grep -rqF "$KEYHEX" state || fail "the key is in the work dir"
! grep -rqF "$(head -c 32 other.key | od -An -tx1 | tr -d ' \n')" state || fail "the raw key is in the work dir"
echo "ok"
