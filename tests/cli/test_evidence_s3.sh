#!/usr/bin/env bash
# nexsync pull ... --evidence DIR: an evidence bundle of a backed-up event,
# from a real S3 server (Ceph radosgw on 127.0.0.1) and from a folder. A
# backup without --drives full keeps the clips, not the source segments: the
# bundle lists them as absent (with the SHA-256 recorded at backup time) and
# nexls verify says in one line that their copied frames cannot be compared,
# exit 0; a --drives full backup has them, and verify compares every copied
# frame byte for byte. sha256sum -c and openssl check the bundles without
# nex; the clips are the backup's bytes; tampering is caught (exit 3); bad
# input is one error line, its documented exit code, nothing left behind.
. "$(dirname "$0")/lib.sh"
cd "$WORK"
s3_test openssl
no_secret() { for f in "$@"; do assert_not_contains "$f" "$AWS_SECRET_ACCESS_KEY"; done; }

# A Nexar Pro with an interior camera; the event's window (50 s..80 s) spans two segments.
evidence_card PRO-EVS

# --- a backup without the source segments: the bundle says so, verify passes with one 'unchecked' line
expect_exit 0 nexsync card "$S3" --drives none -q
item="$S3/PRO-EVS/events/$ev"
expect_exit 0 nexsync pull "$item" --evidence case/b1 --sign-key key.pem --format json
no_secret "$WORK/out" "$WORK/err"
assert_eq "$(jq -r '.[0].item, .[0].sources, .[0].signed_by' "$WORK/out" | tr '\n' ' ')" "PRO-EVS/events/$ev false $fp "
b=case/b1
[ "$(ls -A case)" = b1 ] || fail "something beside the bundle: $(ls -A case)"
j() { jq -r "$1" "$b/evidence.json"; }
for f in evidence.json evidence.json.sig SHA256SUMS backup/event.json "clips/${ev}_road.mp4" "clips/${ev}_interior.mp4"; do
  [ -s "$b/$f" ] || fail "no $f"
done
(cd "$b" && sha256sum -c --quiet SHA256SUMS) || fail "sha256sum -c fails on an untouched bundle"
openssl pkeyutl -verify -pubin -inkey pub.pem -rawin -in "$b/evidence.json" -sigfile "$b/evidence.json.sig" >/dev/null ||
  fail "openssl does not accept the signature"
# the clips and the manifest are the backup's very bytes
expect_exit 0 nexsync pull "$item" --to ref -q
for cam in road interior; do cmp "ref/PRO-EVS/events/$ev/$cam.mp4" "$b/clips/${ev}_$cam.mp4" || fail "$cam clip differs from the backup"; done
cmp "ref/PRO-EVS/events/$ev/event.json" "$b/backup/event.json" || fail "backup/event.json is not the backed-up manifest"
# what evidence.json says: camera, event, window in UTC, where it came from, the derivation
assert_eq "$(j .tool.name) $(j .camera.serial) $(j .camera.utc_offset) $(j .event.id)" "nexsync PRO-EVS +02:00 $ev"
assert_eq "$(j .backup.location)" "$item"
assert_eq "$(j .backup.backed_up)" "$(jq -r .created "$b/backup/event.json")"
assert_eq "$(j .backup.sources)" "not in the backup"
lf=$(j .window.local_from); uf=$(j .window.utc_from)
assert_eq "$(( $(date -u -d "${lf}Z" +%s) - $(date -u -d "$uf" +%s) ))" 7200
assert_eq "$(j '.absent_sources | length')" 4   # two segments, two cameras
assert_eq "$(j '[.absent_sources[].path] | map(startswith("source/drive/")) | all')" true
cmp <(j '.absent_sources[] | "\(.path | ltrimstr("source/")) \(.sha256)"' | sort) \
    <(for p in $(j '.absent_sources[].path | ltrimstr("source/")'); do echo "$p $(sha256sum "card/$p" | cut -d' ' -f1)"; done | sort) ||
  fail "absent_sources' SHA-256 are not the card files'"
for cam in road interior; do
  c=".clips[] | select(.camera == \"$cam\")"
  frames=$(j "$c.frames"); copied=$(j "$c.copied_frames"); re=$(j "$c.reencoded_frames")
  assert_eq "$(( copied + re ))" "$frames" "($cam frames)"
  [ "$copied" -gt $(( frames / 2 )) ] || fail "$cam: only $copied of $frames frames copied"
  assert_eq "$(j "[$c.runs[].frames] | add")" "$frames" "($cam runs)"
  assert_eq "$(j "$c.sources | length")" 2 "($cam sources)"
done
j '.notes[]' | grep -q "not in the backup" || fail "no note on the absent sources"
# telemetry from the item's own sidecars where the backup has them
if jq -e '.files | any(.name | endswith(".gps"))' "$b/backup/event.json" >/dev/null; then
  [ -s "$b/clips/$ev.gpx" ] && [ -s "$b/clips/$ev.csv" ] || fail "no GPX/CSV from the item's sidecars"
else
  j '.notes[]' | grep -q "no telemetry" || fail "no telemetry, and no note saying so"
fi
# every file listed with its size and SHA-256, nothing else in the folder
while read -r path size sha; do
  assert_eq "$(stat -c %s "$b/$path")" "$size" "($path)"
  assert_eq "$(sha256sum "$b/$path" | cut -d' ' -f1)" "$sha" "($path)"
done < <(j '.files[] | "\(.path) \(.size) \(.sha256)"')
assert_eq "$(find "$b" -type f | wc -l)" "$(( $(j '.files | length') + 3 ))"
expect_exit 0 nexls verify "$b" --key pub.pem
assert_contains "$WORK/out" "^ok: evidence.json.sig: Ed25519 signature good, key $fp (the given key)"
assert_eq "$(grep -c '^unchecked: ' "$WORK/out")" 1
assert_contains "$WORK/out" "^unchecked: 4 stream-copied runs ([0-9]* frames) cannot be compared with their sources: the sources are not in the backup"
assert_not_contains "$WORK/out" "^mismatch"

# --- a --drives full backup keeps the segments: they are in the bundle, every copied frame is compared
expect_exit 0 nexsync card "$S3/full" --drives full -q
expect_exit 0 nexsync pull --from "$S3/full" "$ev" --evidence case/b2 --sign-key key.pem
b=case/b2
assert_eq "$(j .absent_sources)" null
assert_eq "$(j .backup.sources)" "in the bundle"
for s in $(j '.clips[].sources[]' | sort -u); do
  cmp "$b/$s" "card/${s#source/}" || fail "$s is not the card's file"
done
for s in gps acc jpg; do ls "$b"/source/drive/*."$s" >/dev/null || fail "no .$s from footage/"; done
[ -s "$b/clips/$ev.gpx" ] && [ -s "$b/clips/$ev.csv" ] || fail "no GPX/CSV"
(cd "$b" && sha256sum -c --quiet SHA256SUMS) || fail "sha256sum -c, full backup"
expect_exit 0 nexls verify "$b" --key pub.pem
grep -E '^ok: 4 stream-copied runs \([0-9]+ frames\) match their source' "$WORK/out" >/dev/null ||
  { cat "$WORK/out"; fail "the copied runs were not compared"; }
assert_not_contains "$WORK/out" "^unchecked"

# --- tampering, each caught (exit 3)
t() { rm -rf t; cp -a "$1" t; }
clip="clips/${ev}_road.mp4"
t case/b2; flip "t/$clip" "$(mid "t/$clip")"
verify_fails t "^mismatch: $clip: SHA-256 differs from evidence.json" --key pub.pem
seg=$(jq -r '.clips[] | select(.camera == "road") | .sources[0]' case/b2/evidence.json)
t case/b2; flip "t/$seg" "$(mid "t/$seg")"
verify_fails t "^mismatch: $seg: SHA-256 differs from evidence.json" --key pub.pem
t case/b1; sed -i 's/"serial": "PRO-EVS"/"serial": "PRO-EVT"/' t/backup/event.json
verify_fails t "^mismatch: backup/event.json: SHA-256 differs from evidence.json"
t case/b1; rm "t/clips/${ev}_interior.mp4"
verify_fails t "^missing: clips/${ev}_interior.mp4"
t case/b1; echo extra > t/source.txt
verify_fails t "^unlisted: source.txt"
# a frame changed, the files re-hashed and the manifest signed with another key:
# with the segments, their packets disagree; without them, only --key catches it
t case/b2; flip "t/$clip" "$(mid "t/$clip")"
forge() {
  local sha; sha=$(sha256sum "t/$clip" | cut -d' ' -f1)
  jq --indent 2 --arg p "$clip" --arg s "$sha" --arg k "$(cat other.pub)" \
    --arg f "SHA256:$(openssl pkey -pubin -in other.pub -outform DER | sha256sum | cut -d' ' -f1)" \
    '(.files[] | select(.path == $p) | .sha256) = $s | .signature.public_key = $k | .signature.public_key_sha256 = $f' \
    "$1/evidence.json" > t/evidence.json
  openssl pkeyutl -sign -inkey other.pem -rawin -in t/evidence.json -out t/evidence.json.sig
  (cd t && sha256sum evidence.json evidence.json.sig $(jq -r '.files[].path' evidence.json) > SHA256SUMS)
}
forge case/b2
verify_fails t "^mismatch: $clip: stream-copied frames [0-9]+\.\.[0-9]+ do not match source/drive/[0-9_]+\.mp4: frame [0-9]+ differs"
t case/b1; flip "t/$clip" "$(mid "t/$clip")"; forge case/b1
verify_fails t "not with the given key" --key pub.pem

# --- a folder backup, by id with --from, unsigned
expect_exit 0 nexsync card bk --drives none -q
expect_exit 0 nexsync pull --from bk "$ev" --evidence case/b3 -q
b=case/b3
[[ "$(j .backup.location)" == */bk/PRO-EVS/events/$ev ]] || fail "location $(j .backup.location)"
assert_eq "$(j .signature)" null
for cam in road interior; do cmp "bk/PRO-EVS/events/$ev/$cam.mp4" "$b/clips/${ev}_$cam.mp4" || fail "$cam (folder)"; done
expect_exit 0 nexls verify "$b"
assert_contains "$WORK/out" "^unsigned: evidence.json: not signed"
assert_contains "$WORK/out" "^unchecked: "
(cd "$b" && sha256sum -c --quiet SHA256SUMS) || fail "sha256sum -c, folder backup"
# a parking incident is the camera's own file: mode "original", nothing to derive
nexsim park card --duration 1h --incident impact@10m -q >/dev/null
expect_exit 0 nexsync card bk --drives none -q
pk=$(ls bk/PRO-EVS/events | grep parking-impact)
expect_exit 0 nexsync pull --from bk "$pk" --evidence case/b4 --sign-key key.pem -q
b=case/b4
assert_eq "$(j '.clips[0].mode')" original
cmp "$b/clips/${pk}_road.mp4" "card/$(j '.clips[0].original')" || fail "the parking clip is not the card's file"
expect_exit 0 nexls verify "$b" --key pub.pem
assert_not_contains "$WORK/out" "^unchecked"

# --- bad input: one error line, the documented exit code, nothing under the bundle's name, no temporary folder
mkdir bad
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out ec.pem 2>/dev/null
bad() { # bad CODE PATTERN nexsync-args...
  local code=$1 pat=$2; shift 2
  expect_exit "$code" nexsync "$@"
  assert_eq "$(grep -c 'error:' "$WORK/err")" 1 "($*)"
  assert_contains "$WORK/err" "$pat"
  no_secret "$WORK/out" "$WORK/err"
  [ -z "$(ls -A bad)" ] || fail "'$*' left $(ls -A bad)"
}
bad 1 "not backed up" pull "$S3/PRO-EVS/events/20991231_000000_hard-brake" --evidence bad/x --sign-key key.pem
bad 1 "no item '$ev'" pull --from "$S3/elsewhere" "$ev" --evidence bad/x
bad 2 "is a drive" pull "$S3/full/PRO-EVS/drives/20261120_081200" --evidence bad/x
bad 1 "no such file" pull "$item" --evidence bad/x --sign-key missing.pem
bad 1 "not Ed25519" pull "$item" --evidence bad/x --sign-key ec.pem
bad 1 "not a PEM private key" pull "$item" --evidence bad/x --sign-key pub.pem
bad 1 "already exists" pull "$item" --evidence case/b1
bad 2 "drop --to" pull "$item" --evidence bad/x --to bad/y
bad 2 "drop --overwrite" pull "$item" --evidence bad/x --overwrite
bad 2 "one bundle of one item" pull "$item" "$S3/full/PRO-EVS/events/$ev" --evidence bad/x
bad 2 "one bundle of one item" pull --from "$S3" --items - --evidence bad/x < /dev/null
bad 2 "add --evidence" pull "$item" --to bad/y --sign-key key.pem
bad 2 "needs --to" pull "$item"
echo "ok"
