#!/usr/bin/env bash
# nexsync --storage-class against a real S3 server (Ceph radosgw on 127.0.0.1,
# which scripts/radosgw gives a STANDARD_IA class besides STANDARD): each kind
# of item's files carry the class asked for, single PUTs and multipart uploads
# alike, as ListObjectsV2 and HEAD report it; manifests keep the default; the
# config's nexsync.storage_class; a class the server does not have fails the
# items that use it (exit 3, a clear reason, no manifest) while the others
# go on; a malformed value is a usage error.
. "$(dirname "$0")/lib.sh"
cd "$WORK"
s3_test curl
# classes PREFIX: "key class" lines of ListObjectsV2 under the bucket's PREFIX/
# (curl signs the request; radosgw names every object's class)
classes() {
  curl -sf --aws-sigv4 "aws:amz:$AWS_REGION:s3" --user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" \
    -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" \
    "$AWS_ENDPOINT_URL/$NEX_S3_BUCKET?list-type=2&max-keys=1000&prefix=$run%2F$1%2F" |
    python3 -c '
import sys, xml.etree.ElementTree as E
ns = "{http://s3.amazonaws.com/doc/2006-03-01/}"
for c in E.parse(sys.stdin).getroot().iter(ns + "Contents"):
    print(c.find(ns + "Key").text.split("/", 2)[2], c.find(ns + "StorageClass").text)'
}
head_class() {
  curl -sfI --aws-sigv4 "aws:amz:$AWS_REGION:s3" --user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" \
    -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" "$AWS_ENDPOINT_URL/$NEX_S3_BUCKET/$run/$1" |
    tr -d '\r' | awk -F': ' 'tolower($1) == "x-amz-storage-class" { print $2 }'
}

# A road-only Nexar Pro: a 20-second drive (its ~20 MB segment goes as a
# multipart upload of 5 MiB parts with --drives full) with a hard brake.
# Small on purpose: the suite's radosgw keeps everything in RAM.
nexsim init card --model pro --capacity 8G --serial PRO-SC -q
nexsim drive card --start 2026-11-20T08:12:00 --duration 20s --event hard-brake@10s -q >/dev/null
ev=$(nexls card --events --kind hard-brake --format ndjson | jq -r .id)

# --- continuous footage to STANDARD_IA, events stay STANDARD
expect_exit 0 nexsync card "$S3/a" --drives full --part-size 5M --storage-class drives=STANDARD_IA,events=STANDARD -q
classes a > got
grep -q "^PRO-SC/footage/20261120/20261120_081200_1.mp4 STANDARD_IA$" got || { cat got; fail "the segment is not STANDARD_IA"; }
grep -q "^PRO-SC/footage/20261120/20261120_081200.gps STANDARD_IA$" got || { cat got; fail "a sidecar is not STANDARD_IA"; }
grep -q "^PRO-SC/events/$ev/road.mp4 STANDARD$" got || { cat got; fail "the event clip is not STANDARD"; }
# manifests keep the bucket's default class (every listing reads them)
grep -q "^PRO-SC/drives/20261120_081200/drive.json STANDARD$" got || { cat got; fail "a manifest changed class"; }
n_ia=$(grep -c ' STANDARD_IA$' got)
n_footage=$(grep -c '/footage/' got)
assert_eq "$n_ia" "$n_footage" "(every footage object, nothing else)"
assert_eq "$(head_class "a/PRO-SC/footage/20261120/20261120_081200_1.mp4")" STANDARD_IA
# the backup reads back as any other (pull verifies every SHA-256)
expect_exit 0 nexsync pull "$S3/a/PRO-SC/drives/20261120_081200" --to back -q
cmp card/drive/20261120_081200_1.mp4 back/PRO-SC/footage/20261120/20261120_081200_1.mp4 || fail "segment differs"

# --- one class for all from the config (nexsync.storage_class)
printf 'nexsync:\n  storage_class: STANDARD_IA\n' > "$NEX_CONFIG"
expect_exit 0 nexsync card "$S3/b" --drives none -q
classes b > got
grep -q "^PRO-SC/events/$ev/road.mp4 STANDARD_IA$" got || { cat got; fail "the config's class was not used"; }
grep -q "^PRO-SC/events/$ev/event.json STANDARD$" got || { cat got; fail "a manifest changed class"; }
# a flag wins over the config for the kinds it names
expect_exit 0 nexsync card "$S3/c" --drives none --storage-class events=STANDARD -q
classes c > got
grep -q "^PRO-SC/events/$ev/road.mp4 STANDARD$" got || { cat got; fail "the flag did not win"; }
: > "$NEX_CONFIG"

# --- a class this server does not have: those items fail with the reason,
# the others are backed up; exit 3; no manifest for a failed item
expect_exit 3 nexsync card "$S3/d" --drives full --part-size 5M --storage-class drives=GLACIER --format ndjson
assert_contains "$WORK/err" "refuses storage class GLACIER"
assert_eq "$(jq -r 'select(.item != null) | "\(.item) \(.action)"' "$WORK/out" | sort | tr '\n' ';')" \
  "PRO-SC/drives/20261120_081200 failed;PRO-SC/events/$ev uploaded;"
classes d > got
grep -q "drive.json" got && fail "a failed item has a manifest"
grep -q "/footage/" got && fail "footage of the refused class was stored"
# the next run with a class the server has completes it
expect_exit 0 nexsync card "$S3/d" --drives full --part-size 5M --storage-class drives=STANDARD_IA -q
classes d > got
grep -q "^PRO-SC/drives/20261120_081200/drive.json STANDARD$" got || { cat got; fail "the drive was not completed"; }

# --- malformed values: usage errors, one line, nothing sent
for bad in standard_ia "drives=" "footage=STANDARD_IA" "events=STANDARD,"; do
  expect_exit 2 nexsync card "$S3/e" --storage-class "$bad"
  assert_eq "$(grep -c 'error:' "$WORK/err")" 1 "($bad)"
done
printf 'nexsync:\n  storage_class: cheap\n' > "$NEX_CONFIG"
expect_exit 2 nexsync card "$S3/e"
assert_contains "$WORK/err" "bad storage class 'cheap'"
: > "$NEX_CONFIG"
[ -z "$(classes e)" ] || fail "something was sent"
echo "ok"
