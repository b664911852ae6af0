#!/usr/bin/env bash
# Evidence bundles end to end: nexcut --evidence writes the clips of both
# cameras, the untouched source segments and sidecars, telemetry,
# evidence.json, an Ed25519 signature (keys made by openssl genpkey) and a
# SHA256SUMS that sha256sum -c and openssl check without nex; nexls verify
# finds one changed byte in a clip, a source segment, the manifest and the
# signature, an added and a removed file, and copied frames that no longer
# match their source even when an attacker re-hashed and re-signed the
# bundle. Bad keys and selections: one error line, documented exit code,
# nothing under the final name.
. "$(dirname "$0")/lib.sh"
cd "$WORK"
command -v jq >/dev/null || { echo "jq missing" >&2; exit 125; }
command -v openssl >/dev/null || { echo "openssl missing" >&2; exit 125; }

evidence_card PRO-EV

# --- the bundle of an event, both cameras, signed
expect_exit 0 nexcut card --event "$ev" --before 10s --after 5s --evidence case/bundle --sign-key key.pem --format json
assert_eq "$(jq -r '.[].camera' "$WORK/out" | sort | tr '\n' ' ')" "interior road "
b=case/bundle
[ "$(ls -A case)" = bundle ] || fail "something beside the bundle: $(ls -A case)"
for f in evidence.json evidence.json.sig SHA256SUMS "clips/${ev}_road.mp4" "clips/${ev}_interior.mp4"; do
  [ -s "$b/$f" ] || fail "no $f"
done
ls "$b"/clips/*.gpx "$b"/clips/*.csv >/dev/null || fail "no telemetry"
seg=$(jq -r '.clips[] | select(.camera == "road") | .sources[0]' "$b/evidence.json")
cmp "$b/$seg" "card/${seg#source/}" || fail "$seg is not the card's file"
for s in gps acc; do ls "$b"/source/drive/*."$s" >/dev/null || fail "no .$s sidecar"; done
# checkable without nex: sha256sum and openssl
(cd "$b" && sha256sum -c --quiet SHA256SUMS) || fail "sha256sum -c fails on an untouched bundle"
openssl pkeyutl -verify -pubin -inkey pub.pem -rawin -in "$b/evidence.json" -sigfile "$b/evidence.json.sig" >/dev/null ||
  fail "openssl does not accept the signature"
# what the manifest says
j() { jq -r "$1" "$b/evidence.json"; }
assert_eq "$(j .signature.public_key_sha256)" "$fp"
assert_eq "$(j .camera.serial)" PRO-EV
assert_eq "$(j .camera.utc_offset)" "+02:00"
assert_eq "$(j .event.id)" "$ev"
assert_eq "$(j .tool.name)" nexcut
[ "$(j .tool.libraries)" != null ] || fail "no library versions"
# the window in camera-local time and UTC (two hours apart)
lf=$(j .window.local_from); uf=$(j .window.utc_from)
assert_eq "$(( $(date -u -d "${lf}Z" +%s) - $(date -u -d "$uf" +%s) ))" 7200
# every file listed with its size and SHA-256
while read -r path size sha; do
  assert_eq "$(stat -c %s "$b/$path")" "$size" "($path)"
  assert_eq "$(sha256sum "$b/$path" | cut -d' ' -f1)" "$sha" "($path)"
done < <(jq -r '.files[] | "\(.path) \(.size) \(.sha256)"' "$b/evidence.json")
assert_eq "$(find "$b" -type f | wc -l)" "$(( $(j '.files | length') + 3 ))"
# each clip's derivation: the frames add up, most of them stream-copied
for cam in road interior; do
  c=".clips[] | select(.camera == \"$cam\")"
  frames=$(j "$c.frames"); copied=$(j "$c.copied_frames"); re=$(j "$c.reencoded_frames")
  assert_eq "$(( copied + re ))" "$frames" "($cam frames)"
  [ "$copied" -gt $(( frames / 2 )) ] || fail "$cam: only $copied of $frames frames copied"
  assert_eq "$(j "[$c.runs[].frames] | add")" "$frames" "($cam runs)"
done

# --- nexls verify: good with the right key, with the key inside, JSON
expect_exit 0 nexls verify "$b" --key pub.pem
assert_contains "$WORK/out" "^ok: evidence.json.sig: Ed25519 signature good, key $fp (the given key)"
grep -E '^ok: [0-9]+ stream-copied runs \([0-9]+ frames\) match' "$WORK/out" >/dev/null || { cat "$WORK/out"; fail "no packet check"; }
expect_exit 0 nexls verify "$b"
assert_contains "$WORK/out" "give --key"
expect_exit 0 nexls verify "$b" --format json
jq -e 'map(select(.kind == "ok")) | length >= 2' "$WORK/out" >/dev/null || fail "verify JSON"
# another key: exit 3
verify_fails "$b" "^mismatch: evidence.json.sig: signed with key $fp, not with the given key" --key other.pub

# --- tampering, each caught (one byte, an added file, a removed file)
t() { rm -rf t; cp -a "$b" t; }
t; clip="clips/${ev}_road.mp4"; flip "t/$clip" "$(mid "t/$clip")"
verify_fails t "^mismatch: $clip: SHA-256 differs from evidence.json"
verify_fails t "^mismatch: $clip: SHA-256 differs from SHA256SUMS"
(cd t && ! sha256sum -c --quiet SHA256SUMS >/dev/null 2>&1) || fail "sha256sum -c misses a changed clip"
t; flip "t/$seg" "$(mid "t/$seg")"
verify_fails t "^mismatch: $seg: SHA-256 differs from evidence.json"
t; sed -i 's/"serial": "PRO-EV"/"serial": "PRO-EW"/' t/evidence.json
verify_fails t "^mismatch: evidence.json.sig: the Ed25519 signature does not match evidence.json"
verify_fails t "^mismatch: evidence.json: SHA-256 differs from SHA256SUMS"
t; flip t/evidence.json.sig 10
verify_fails t "^mismatch: evidence.json.sig: the Ed25519 signature does not match"
t; echo extra > t/clips/note.txt
verify_fails t "^unlisted: clips/note.txt: in the folder, not in evidence.json"
t; rm "t/clips/${ev}_interior.mp4"
verify_fails t "^missing: clips/${ev}_interior.mp4: listed in evidence.json, not in the folder"
t; rm t/evidence.json.sig
verify_fails t "^missing: evidence.json.sig"
# an attacker changes a copied frame, re-hashes everything and signs with a
# key of their own: the hashes and that signature agree, the source does not
t; flip "t/$clip" "$(mid "t/$clip")"
sha=$(sha256sum "t/$clip" | cut -d' ' -f1)
afp="SHA256:$(openssl pkey -pubin -in other.pub -outform DER | sha256sum | cut -d' ' -f1)"
jq --indent 2 --arg p "$clip" --arg s "$sha" --arg k "$(cat other.pub)" --arg f "$afp" \
  '(.files[] | select(.path == $p) | .sha256) = $s | .signature.public_key = $k | .signature.public_key_sha256 = $f' \
  "$b/evidence.json" > t/evidence.json
openssl pkeyutl -sign -inkey other.pem -rawin -in t/evidence.json -out t/evidence.json.sig
(cd t && sha256sum evidence.json evidence.json.sig $(jq -r '.files[].path' evidence.json) > SHA256SUMS)
(cd t && sha256sum -c --quiet SHA256SUMS) || fail "the forged bundle's sums"
verify_fails t "^mismatch: $clip: stream-copied frames [0-9]+\.\.[0-9]+ do not match $seg: frame [0-9]+ differs"
assert_not_contains "$WORK/out" "SHA-256 differs"
verify_fails t "not with the given key" --key pub.pem

# --- other selections; an unsigned bundle
expect_exit 0 nexcut card --from 08:12:05 --to +4s --camera road --copy --evidence plain -q
assert_eq "$(jq -r '.clips | length' plain/evidence.json)" 1
assert_eq "$(jq -r '.clips[0].mode, .clips[0].reencoded_frames, .signature, .event' plain/evidence.json | tr '\n' ' ')" "copy 0 null null "
expect_exit 0 nexls verify plain
assert_contains "$WORK/out" "^unsigned: evidence.json: not signed"
verify_fails plain "^mismatch: evidence.json: not signed, and --key asks for a signature" --key pub.pem
(cd plain && sha256sum -c --quiet SHA256SUMS) || fail "sha256sum -c, unsigned bundle"

# --- bad input: one error line, the documented exit code, no bundle and no temporary folder left
bad() { # bad CODE PATTERN nexcut-args...
  local code=$1 pat=$2; shift 2
  expect_exit "$code" "$@"
  assert_eq "$(grep -c 'error:' "$WORK/err")" 1 "($*)"
  assert_contains "$WORK/err" "$pat"
  [ ! -e bad/out ] || fail "'$*' left bad/out"
  [ -z "$(ls -A bad 2>/dev/null)" ] || fail "'$*' left $(ls -A bad)"
}
mkdir bad
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out ec.pem 2>/dev/null
echo "not a key" > junk.pem
sel=(card --event "$ev" --before 2s --after 2s)
bad 1 "no such file" nexcut "${sel[@]}" --evidence bad/out --sign-key missing.pem
bad 1 "is a folder" nexcut "${sel[@]}" --evidence bad/out --sign-key bad
bad 1 "not Ed25519" nexcut "${sel[@]}" --evidence bad/out --sign-key ec.pem
bad 1 "not a PEM private key" nexcut "${sel[@]}" --evidence bad/out --sign-key junk.pem
bad 1 "not a PEM private key" nexcut "${sel[@]}" --evidence bad/out --sign-key pub.pem
if [ "$(id -u)" != 0 ]; then
  cp key.pem locked.pem; chmod 000 locked.pem
  bad 1 "cannot read" nexcut "${sel[@]}" --evidence bad/out --sign-key locked.pem
fi
bad 1 "no event" nexcut card --event 20991231_000000_hard-brake --evidence bad/out --sign-key key.pem
bad 1 "already exists" nexcut "${sel[@]}" --evidence "$b" --sign-key key.pem
bad 2 "add --evidence" nexcut "${sel[@]}" -o x.mp4 --sign-key key.pem
bad 2 "drop -o" nexcut "${sel[@]}" -o x.mp4 --evidence bad/out
bad 2 "not --items" nexcut card --items - --evidence bad/out < /dev/null
bad 1 "not an evidence bundle" nexls verify card
bad 1 "not Ed25519" nexls verify "$b" --key ec.pem
bad 1 "no such file" nexls verify "$b" --key missing.pem
bad 2 "DIR is required" nexls verify
echo "ok"
