#!/usr/bin/env bash
# nexsync share against a real S3 server (Ceph radosgw on 127.0.0.1): a
# presigned GET per file of a backed-up item; curl, with no credentials,
# downloads every file and the bytes match the manifest; a link past its
# expiry and a link with one character changed are refused by the server; no
# secret appears in a link or in any output; bad input is one error line.
. "$(dirname "$0")/lib.sh"
cd "$WORK"
s3_test curl
sha() { sha256sum "$1" | cut -d' ' -f1; }
no_secret() { for f in "$@"; do assert_not_contains "$f" "$AWS_SECRET_ACCESS_KEY"; done; }
# http_status URL: the status of a GET through the link, body in $WORK/body
http_status() { curl -s -o "$WORK/body" -w '%{http_code}' "$1"; }

# A Nexar Pro with an interior camera: one event, two clips in the backup.
nexsim init card --model pro --capacity 8G --serial PRO-SH -q
nexsim drive card --start 2026-11-20T08:12:00 --duration 1m --interior --event hard-brake@40s -q >/dev/null
ev=$(nexls card --events --kind hard-brake --format ndjson | jq -r .id)
expect_exit 0 nexsync card "$S3" --drives none -q
item="$S3/PRO-SH/events/$ev"
# the manifest, as a recipient's reference (pulled with credentials)
expect_exit 0 nexsync pull "$item" --to ref -q
man="ref/PRO-SH/events/$ev/event.json"
# the clips and the window's untouched .gps/.acc sidecars
assert_eq "$(jq '.files | length' "$man")" 4

# --- a link per file; curl (no credentials) gets the very bytes of the manifest
expect_exit 0 nexsync share "$item" --format json -vvv
no_secret "$WORK/out" "$WORK/err"
cp "$WORK/out" links.json
assert_eq "$(jq 'length' links.json)" 4
assert_eq "$(jq -r '.[].file' links.json | sort | tr '\n' ' ')" "20261120_081200.acc 20261120_081200.gps interior.mp4 road.mp4 "
assert_eq "$(jq -r '.[0] | keys_unsorted | join(",")' links.json)" "item,file,size,sha256,link,expires"
n=0
while read -r file link; do
  case $link in "$AWS_ENDPOINT_URL"/*X-Amz-Signature=*) ;; *) fail "not a presigned link: $link" ;; esac
  [[ $link == *X-Amz-Expires=604800* ]] || fail "the default is not 7 days: $link"
  env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY curl -sf -o "dl-$file" "$link" || fail "curl $file"
  assert_eq "$(sha "dl-$file")" "$(jq -r --arg f "$file" '.files[] | select(.name == $f) | .sha256' "$man")" "($file)"
  assert_eq "$(stat -c %s "dl-$file")" "$(jq -r --arg f "$file" '.files[] | select(.name == $f) | .size' "$man")"
  n=$((n + 1))
done < <(jq -r '.[] | "\(.file) \(.link)"' links.json)
assert_eq "$n" 4
# the expiry is 7 days from now, in UTC
exp=$(jq -r '.[0].expires' links.json)
d=$(( $(date -u -d "$exp" +%s) - $(date -u +%s) ))
[ "$d" -gt $((604800 - 600)) ] && [ "$d" -le 604800 ] || fail "expires $exp is not 7 days from now"

# --- the same by id with --from; the table and NDJSON carry the links too
expect_exit 0 nexsync share --from "$S3" "$ev" --expires 12h --format ndjson
assert_eq "$(jq -r .file "$WORK/out" | sort | tr '\n' ' ')" "20261120_081200.acc 20261120_081200.gps interior.mp4 road.mp4 "
assert_eq "$(jq -r .item "$WORK/out" | sort -u)" "PRO-SH/events/$ev"
grep -q 'X-Amz-Expires=43200' "$WORK/out" || fail "--expires 12h is not 43200 s"
expect_exit 0 nexsync share "$item" --expires 1d
assert_contains "$WORK/out" "ITEM"
assert_contains "$WORK/out" "X-Amz-Signature="
no_secret "$WORK/out" "$WORK/err"

# --- one character changed: refused (signature, expiry, key, credential)
link=$(jq -r '.[] | select(.file == "road.mp4") | .link' links.json)
flip() { # flip the character at the first match of $2 in $1
  local s=$1 at=${1%%"$2"*}; local i=${#at}; local c=${s:i:1} r=0
  [ "$c" = 0 ] && r=1
  printf '%s%s%s' "${s:0:i}" "$r" "${s:i+1}"
}
assert_eq "$(http_status "$link")" 200
sig=${link##*X-Amz-Signature=}
for bad in "${link%?}$( [ "${link: -1}" = a ] && echo b || echo a)" \
           "$(flip "$link" "604800")" "$(flip "$link" "$ev")" "${link/road.mp4/roae.mp4}"; do
  [ "$bad" != "$link" ] || fail "the changed link is the link"
  st=$(http_status "$bad")
  [ "$st" = 403 ] || { cat "$WORK/body"; fail "a changed link was not refused ($st): $bad"; }
done
[ -n "$sig" ] || fail "no signature"

# --- a 2-second link works until it expires, then the server refuses it
expect_exit 0 nexsync share "$item" --expires 2s --format ndjson
short=$(jq -r 'select(.file == "road.mp4") | .link' "$WORK/out")
[[ $short == *X-Amz-Expires=2\&* ]] || fail "not a 2-second link: $short"
expired() { [ "$(http_status "$short")" = 403 ]; }
wait_for 120 "the 2-second link to be refused" expired
# refused for its age, not for its signature
assert_not_contains "$WORK/body" "SignatureDoesNotMatch"
# ... while a 7-day link made before it still works
assert_eq "$(http_status "$link")" 200

# --- virtual-hosted addressing: the links follow it (BUCKET.localhost:PORT/KEY)
port=${AWS_ENDPOINT_URL##*:}
AWS_ENDPOINT_URL=http://localhost:$port NEX_S3_ADDRESSING=virtual expect_exit 0 nexsync share "$item" --format ndjson
vlink=$(jq -r 'select(.file == "road.mp4") | .link' "$WORK/out")
[[ $vlink == "http://$NEX_S3_BUCKET.localhost:$port/$run/PRO-SH/events/$ev/road.mp4?"* ]] || fail "not virtual-hosted: $vlink"
curl -sf --resolve "$NEX_S3_BUCKET.localhost:$port:127.0.0.1" -o dl-v "$vlink" || fail "curl of the virtual-hosted link"
cmp dl-v dl-road.mp4 || fail "the virtual-hosted link gives other bytes"

# --- bad input: one error line, the documented exit code, nothing printed on stdout
for e in 8d 604801s 2020-01-01T00:00:00Z -1h 0s soon; do
  expect_exit 2 nexsync share "$item" --expires "$e"
  assert_eq "$(grep -c 'nexsync: error:' "$WORK/err")" 1 "(--expires $e)"
  [ ! -s "$WORK/out" ] || fail "--expires $e printed links"
done
assert_contains "$WORK/err" "expires"
expect_exit 0 nexsync share "$item" --expires 7d -q
# an item that is not backed up: exit 1
expect_exit 1 nexsync share "$S3/PRO-SH/events/20990101_000000_hard-brake"
assert_contains "$WORK/err" "nexsync: error: no item"
[ ! -s "$WORK/out" ] || fail "links for an item that is not backed up"
# a manifest-less item (its upload never finished) is not backed up either
nexsync card "$S3/half" --drives none -q
expect_exit 0 nexsync rm --from "$S3/half" "$ev" -y
expect_exit 1 nexsync share --from "$S3/half" "$ev"
# a folder backup cannot give links: usage error, exit 2
nexsync card local --drives none -q
expect_exit 2 nexsync share "$WORK/local/PRO-SH/events/$ev"
assert_contains "$WORK/err" "nexsync: error: cannot share from"
assert_contains "$WORK/err" "S3 presigned"
expect_exit 2 nexsync share --from local "$ev"
expect_exit 2 nexsync share
no_secret "$WORK/err"
# sharing changed nothing in the backup
expect_exit 0 nexsync card "$S3" --drives none --format ndjson
assert_eq "$(tail -1 "$WORK/out" | jq -r .bytes_sent)" 0
echo "ok"
