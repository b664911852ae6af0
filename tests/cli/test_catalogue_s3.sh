#!/usr/bin/env bash
# The cameras' catalogues (#14, docs/nexsync.md "Catalogue") against radosgw:
# nexls of a fleet reads one catalogue per camera and no manifest while they
# agree with the LIST, and lists exactly what the manifests say; a catalogue
# that is stale (an item added or removed, a manifest rewritten by star or by
# a writer that keeps no catalogue, a crash between manifest and catalogue)
# or garbage is detected and the listing is still right; nexsync writes them
# again; a quota over one camera of the fleet is planned from its catalogue,
# as it is from the manifests; --encrypt seals the catalogue too.
. "$(dirname "$0")/lib.sh"
cd "$WORK"
s3_test
summary() { tail -1 "$WORK/out" | jq -r ".$1"; }
put() { python3 "$NEX_SOURCE_DIR/tests/harness/s3put.py" "$NEX_S3_BUCKET" "$run/fleet/$1" "$2" >/dev/null; }
# a raw GET (curl signs it: SigV4), for what another program would see
s3get() {
  curl -sf --aws-sigv4 "aws:amz:${AWS_REGION:-us-east-1}:s3" --user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" \
    -H "x-amz-content-sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" \
    "$AWS_ENDPOINT_URL/$NEX_S3_BUCKET$1"
}
# bytes under a prefix of the fleet (fewer than 1,000 objects)
stored() {
  s3get "?list-type=2&prefix=$(printf %s "$run/fleet/$1" | sed 's|/|%2F|g')" |
    grep -o '<Size>[0-9]*</Size>' | tr -dc '0-9\n' | awk '{n += $1} END {print n + 0}'
}
# what nexls -vv says it read: "<catalogues> <manifests>"
reads() { sed -n 's/.*: \([0-9]*\) catalogue(s) read, \([0-9]*\) manifest(s) read.*/\1 \2/p' "$WORK/err"; }
F="$S3/fleet"

# Three small cameras (1 s parking clips, 2 s drives): FLT-1 has two drives.
for i in 1 2 3; do
  nexsim init "c$i" --model pro --capacity 8G --serial "FLT-$i" -q
  nexsim drive "c$i" --start "2026-11-2${i}T08:00:00" --duration 2s -q >/dev/null
  [ "$i" != 1 ] || nexsim drive c1 --start 2026-11-21T09:00:00 --duration 2s -q >/dev/null
  nexsim park "c$i" --start "2026-11-2${i}T20:00:00" --duration 1h --incident impact@10m --incident motion@40m \
    --clip-length 1s -q >/dev/null
done
for i in 1 2 3; do expect_exit 0 nexsync "c$i" "$F" --drives timelapse --format ndjson; done
listing() { nexls "$F" "$@" --format ndjson -vv; }

# --- one catalogue per camera, no manifest read; the same listing as from the manifests
expect_exit 0 listing --events; cp "$WORK/out" events.cat
assert_eq "$(reads)" "3 0"
assert_eq "$(wc -l < events.cat)" 6
expect_exit 0 listing; cp "$WORK/out" drives.cat
assert_eq "$(reads)" "3 0"
assert_eq "$(wc -l < drives.cat)" 4
expect_exit 0 listing --segments; cp "$WORK/out" segments.cat
expect_exit 0 nexls "$F" --events --serial FLT-2 --format ndjson -vv
assert_eq "$(reads)" "1 0"
assert_eq "$(jq -r .serial "$WORK/out" | sort -u)" FLT-2
# the catalogue is JSON another program can read: every manifest, byte for byte
nexsync pull "$F/FLT-1/drives/20261121_080000" --to got -q >/dev/null
s3get "/$run/fleet/FLT-1/catalogue.json" > cat1.json
jq -j '.items[] | select(.key == "FLT-1/drives/20261121_080000/drive.json") | .manifest' cat1.json > man1.json
cmp man1.json got/FLT-1/drives/20261121_080000/drive.json || fail "the catalogue does not hold the manifest as it is"
assert_eq "$(jq -r '.items | length' cat1.json)" 4
assert_eq "$(jq -r '[.format, .version, .serial] | join(" ")' cat1.json)" "nex-catalogue 1 FLT-1"
printf 'garbage {' > garbage
for i in 1 2 3; do put "FLT-$i/catalogue.json" garbage; done
expect_exit 0 listing --events
assert_eq "$(reads)" "3 10"   # every manifest (a listing reads them all, then picks the view)
assert_eq "$(grep -c 'catalogue.json: catalogue: not a JSON object; reading the camera' "$WORK/err")" 3
cmp "$WORK/out" events.cat || fail "the listing from the manifests differs from the one from the catalogues"
expect_exit 0 listing
cmp "$WORK/out" drives.cat || fail "the drives from the manifests differ"
expect_exit 0 listing --segments
cmp "$WORK/out" segments.cat || fail "the segments from the manifests differ"

# --- nexsync writes a catalogue that is missing or older than a manifest; a
# no-op run on the machine that made the backup reads nothing (one LIST)
rm -rf "$NEX_SYNC_WORK_DIR"
for i in 1 2 3; do
  expect_exit 0 nexsync "c$i" "$F" --drives timelapse --format ndjson -vv
  assert_contains "$WORK/err" "catalogue.json: catalogue: not a JSON object; reading the manifests instead"
  assert_contains "$WORK/err" "catalogue.json: written (.* 0 manifest(s) read)"
done
expect_exit 0 nexsync c1 "$F" --drives timelapse --format ndjson -vv
assert_eq "$(summary list_requests)" 1
assert_contains "$WORK/err" "manifests at the destination: 0 from the catalogue, 0 read"
assert_not_contains "$WORK/err" "catalogue.json: written"
expect_exit 0 listing --events
assert_eq "$(reads)" "3 0"
cmp "$WORK/out" events.cat || fail "the rewritten catalogues list other events"

# --- stale: a crash between manifest and catalogue (a new incident on FLT-2)
nexsim park c2 --start 2026-11-22T23:00:00 --duration 1h --incident impact@10m --clip-length 1s -q >/dev/null
set +e; NEX_SYNC_FAULT=before-catalogue nexsync c2 "$F" --drives timelapse -q >/dev/null 2>&1; rc=$?; set -e
assert_eq "$rc" 137 "(kill -9 before the catalogue)"
expect_exit 0 listing --events
assert_eq "$(reads)" "3 1"
assert_eq "$(wc -l < "$WORK/out")" 7
new=$(nexls c2 --events --kind parking-impact --format ndjson | jq -r .id | sort | tail -1)
assert_eq "$(jq -r "select(.id==\"$new\") | .serial" "$WORK/out")" FLT-2
# the next run (nothing to upload: the state says so) sees the catalogue is older than a manifest
expect_exit 0 nexsync c2 "$F" --drives timelapse --format ndjson -vv
assert_eq "$(summary items_uploaded)" 0
assert_contains "$WORK/err" "FLT-2/catalogue.json: written"
expect_exit 0 listing --events; cp "$WORK/out" events.cat
assert_eq "$(reads)" "3 0"

# --- stale: star and rm that die before the catalogue; the listing still says what the manifests say
set +e
NEX_SYNC_FAULT=before-catalogue nexsync star --from "$F" FLT-1/drives/20261121_080000 >/dev/null 2>&1; rc1=$?
NEX_SYNC_FAULT=before-catalogue nexsync rm --from "$F" FLT-3/drives/20261123_080000 --yes >/dev/null 2>&1; rc2=$?
set -e
assert_eq "$rc1 $rc2" "137 137"
expect_exit 0 listing
assert_eq "$(reads)" "3 1"   # the starred drive's manifest; the removed one costs nothing
assert_eq "$(jq -r 'select(.serial=="FLT-1") | "\(.id) \(.starred)"' "$WORK/out" | tr '\n' ' ')" \
  "20261121_080000 true 20261121_090000 false "
assert_eq "$(jq -r 'select(.serial=="FLT-3") | .id' "$WORK/out")" ""
# star and rm that finish keep the catalogue right themselves
expect_exit 0 nexsync unstar --from "$F" FLT-1/drives/20261121_080000
expect_exit 0 nexsync star --from "$F" FLT-1/drives/20261121_090000
expect_exit 0 listing
assert_eq "$(reads)" "3 0"
assert_eq "$(jq -r 'select(.serial=="FLT-1") | "\(.id) \(.starred)"' "$WORK/out" | tr '\n' ' ')" \
  "20261121_080000 false 20261121_090000 true "

# --- stale: a writer that keeps no catalogue rewrites a manifest (same size)
nexsync pull "$F/FLT-2/events/$new" --to got2 -q >/dev/null
m="got2/FLT-2/events/$new/event.json"
python3 - "$m" rewritten.json <<'PY'
import re, sys
t = open(sys.argv[1]).read()
m = re.search(r'"created": "[^"]*(\d)Z"', t)
i = m.end(1) - 1
open(sys.argv[2], "w").write(t[:i] + ("7" if t[i] != "7" else "8") + t[i + 1:])
PY
assert_eq "$(stat -c %s rewritten.json)" "$(stat -c %s "$m")"
! cmp -s rewritten.json "$m" || fail "the rewrite changed nothing"
put "FLT-2/events/$new/event.json" rewritten.json
expect_exit 0 listing --events
assert_eq "$(reads)" "3 1"
assert_eq "$(jq -r "select(.id==\"$new\") | .backed_up" "$WORK/out")" "$(jq -r .created rewritten.json)"
# the camera's next run sees a manifest newer than its catalogue and writes it again
expect_exit 0 nexsync c2 "$F" --drives timelapse --format ndjson -vv
assert_eq "$(summary items_uploaded)" 0
assert_contains "$WORK/err" "FLT-2/catalogue.json: written (.* 1 manifest(s) read)"
expect_exit 0 listing --events
assert_eq "$(reads)" "3 0"

# --- quota over one camera of the fleet, from another machine (no state):
# planned from the catalogue, as from the manifests
quota=$(( $(stored FLT-1/) - 1 ))   # a byte less than there is: the unstarred drive rolls over, the starred one stays
[ "$quota" -gt 100000 ] || fail "FLT-1 holds $quota bytes?"
export NEX_SYNC_WORK_DIR="$WORK/elsewhere"
expect_exit 0 nexsync c1 "$F" --drives timelapse --quota "$quota" --dry-run --format ndjson -vv
cp "$WORK/out" plan.cat
assert_contains "$WORK/err" "manifests at the destination: [1-9][0-9]* from the catalogue, 0 read"
assert_eq "$(jq -r 'select(.action=="would delete" or .action=="deleted") | .item' plan.cat | tr '\n' ' ')" \
  "FLT-1/drives/20261121_080000 "
put FLT-1/catalogue.json garbage
quota=$(( $(stored FLT-1/) - 1 ))   # the same rule: the garbage is smaller than the catalogue was
rm -rf "$NEX_SYNC_WORK_DIR"
expect_exit 0 nexsync c1 "$F" --drives timelapse --quota "$quota" --dry-run --format ndjson -vv
assert_contains "$WORK/err" "manifests at the destination: 0 from the catalogue, [1-9][0-9]* read"
diff <(jq -c 'del(.seconds)' plan.cat) <(jq -c 'del(.seconds)' "$WORK/out") || fail "the quota plans differ"
expect_exit 0 nexsync c1 "$F" --drives timelapse --quota "$quota" --format ndjson -vv
assert_eq "$(jq -r 'select(.action=="deleted") | .item' "$WORK/out")" "FLT-1/drives/20261121_080000"
assert_contains "$WORK/err" "FLT-1/catalogue.json: written"
expect_exit 0 listing
assert_eq "$(reads)" "3 0"
assert_eq "$(jq -r 'select(.serial=="FLT-1") | "\(.id) \(.starred)"' "$WORK/out" | tr '\n' ' ')" \
  "20261121_090000 true "
# the other cameras' backups are not FLT-1's quota's business
assert_eq "$(jq -r 'select(.serial!="FLT-1") | "\(.serial)/\(.id)"' "$WORK/out")" "FLT-2/20261122_080000"
assert_eq "$(nexls "$F" --events --format ndjson | jq -r .serial | sort | uniq -c | awk '{print $1}' | tr '\n' ' ')" "2 3 2 "

# --- encrypted: the catalogue is sealed like the manifests, and used with the key
openssl rand -hex 32 > k && chmod 600 k
expect_exit 0 nexsync c3 "$S3/enc" --drives timelapse --encrypt k
s3get "/$run/enc/FLT-3/catalogue.json" > cat-enc
assert_eq "$(head -c 8 cat-enc)" NEXCRYPT
! grep -qa "FLT-3/events" cat-enc || fail "the encrypted catalogue shows its content"
expect_exit 0 nexls "$S3/enc" --events --encrypt k --format ndjson -vv
assert_eq "$(reads)" "1 0"
assert_eq "$(wc -l < "$WORK/out")" 2
expect_exit 1 nexls "$S3/enc" --events
assert_contains "$WORK/err" "the backup is encrypted"
openssl rand -hex 32 > other && chmod 600 other
expect_exit 1 nexls "$S3/enc" --events --encrypt other
assert_eq "$(grep -c 'error:' "$WORK/err")" 1
echo "catalogue s3: ok"
