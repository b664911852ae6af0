#!/usr/bin/env bash
# nexls --report of a backed-up item (nexsync) against a real S3 server (Ceph
# radosgw on 127.0.0.1) and a folder: nexsync keeps the window's untouched
# .gps/.acc sidecars with the event; the page made from the backup, opened
# in headless Chromium, has the stills decoded (and they are the very frames
# of the card's page, by nexsim's pixel timecode), one chart point per
# sidecar sample of the window, the event marker at the event, the same
# facts as the page made from the card. Then an encrypted backup, a clip
# item, an item backed up without sidecars, and bad input.
. "$(dirname "$0")/lib.sh"
cd "$WORK"
s3_test chromium python3 ffmpeg

# Two minutes, an event across the seam (window 08:12:39.060 .. 08:13:09.060).
nexsim init card --model pro --capacity 8G --serial PRO-RP --utc-offset +02:00 -q
nexsim drive card --start 2026-11-20T08:12:00 --duration 2m --interior --event hard-brake@59s -q >/dev/null
ev=$(nexls card --events --kind hard-brake --format ndjson | jq -r .id)
assert_eq "$ev" 20261120_081259_hard-brake
openssl rand -hex 32 > fleet.key
chmod 600 fleet.key

expect_exit 0 nexsync card "$S3" --drives none -q
expect_exit 0 nexsync card bk --drives none -q
man=bk/PRO-RP/events/$ev/event.json
# the item holds the two clips and the sidecars of the two segments it touches, untouched
assert_eq "$(jq -r '[.files[].name] | sort | join(" ")' "$man")" \
  "20261120_081200.acc 20261120_081200.gps 20261120_081300.acc 20261120_081300.gps interior.mp4 road.mp4"
for s in 20261120_081200.gps 20261120_081200.acc 20261120_081300.gps 20261120_081300.acc; do
  cmp "card/drive/$s" "bk/PRO-RP/events/$ev/$s" || fail "$s differs in the backup"
  assert_eq "$(jq -r --arg n "$s" '.files[] | select(.name == $n) | "\(.camera) \(.source)"' "$man")" "null drive/$s"
done
# nexsync pull brings them back (verified against the manifest)
expect_exit 0 nexsync pull "$S3/PRO-RP/events/$ev" --to pulled -q
cmp card/drive/20261120_081300.acc "pulled/PRO-RP/events/$ev/20261120_081300.acc" || fail "pull lost a sidecar"

browser() {  # headless Chromium, a fresh profile, nothing from the network
  timeout 120 chromium --headless --no-sandbox --disable-gpu --disable-background-networking \
    --disable-component-update --disable-sync --no-first-run --user-data-dir="$(mktemp -d "$WORK/profile.XXXX")" \
    "$@" 2>>"$WORK/chromium.log"
}
dom() {  # dom PAGE: the DOM after load, every image's natural size on <body data-natural>
  sed 's|</body>|<script>window.onload = () => { document.body.dataset.natural = [...document.images].map(i => i.naturalWidth + "x" + i.naturalHeight).join(" "); };</script></body>|' \
    "$1" > "$WORK/probe.html"
  browser --virtual-time-budget=10000 --dump-dom "file://$WORK/probe.html"
}
attr() { grep -oE "<$2[^>]*>" "$1" | head -1 | grep -oE "$3=\"[^\"]*\"" | cut -d'"' -f2; }
facts() {  # the facts that must not depend on where the page was made from
  grep -oE '<td class="(event-id|kind|time|peak-g|window|speed|position)">[^<]*</td>' "$1"
}
stills() {  # the stills' camera and nexsim timecode (ms), in page order
  python3 - "$NEX_SOURCE_DIR/tests/harness" "$1" <<'EOF'
import base64, re, subprocess, sys
sys.path.insert(0, sys.argv[1])
import timecode
out = []
for cam, uri in re.findall(r'<img class="still" data-camera="([a-z]+)"[^>]*src="data:image/jpeg;base64,([^"]*)"',
                           open(sys.argv[2]).read()):
    w, h = (1920, 1080) if cam == "road" else (1280, 720)
    raw = subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-f", "mjpeg", "-i", "-", "-f", "rawvideo",
                          "-pix_fmt", "gray", "-"], input=base64.b64decode(uri), capture_output=True, check=True).stdout
    ms = timecode.read(raw, w, h)
    out.append("%s:%s" % (cam, "-" if ms is None else ms))
print(" ".join(out))
EOF
}
# acc_in DIR: the .acc samples of DIR's sidecars inside the window (ms since the segment's start)
acc_in() {
  for f in "$1"/*.acc; do
    s=$(basename "$f" .acc); t0=$(( (10#${s:9:2} * 3600 + 10#${s:11:2} * 60 + 10#${s:13:2}) * 1000 ))
    awk -F, -v t0="$t0" -v a=$(( (8 * 3600 + 12 * 60 + 39) * 1000 + 60 )) -v b=$(( (8 * 3600 + 13 * 60 + 9) * 1000 + 60 )) \
      '$1 ~ /^[0-9]+$/ && t0 + $1 >= a && t0 + $1 < b' "$f"
  done | wc -l
}
# gps_in DIR: the valid fixes ($GPRMC ... A) of DIR's sidecars inside the window
gps_in() {
  for f in "$1"/*.gps; do
    s=$(basename "$f" .gps); t0=$(( 10#${s:9:2} * 3600 + 10#${s:11:2} * 60 + 10#${s:13:2} ))
    awk -F, -v t0="$t0" -v a=$(( (8 * 3600 + 12 * 60 + 39) * 1000 + 60 )) -v b=$(( (8 * 3600 + 13 * 60 + 9) * 1000 + 60 )) '
      $1 == "$GPRMC" && $3 == "A" {
        u = substr($2, 1, 2) * 3600 + substr($2, 3, 2) * 60 + substr($2, 5)
        if (first == "") first = u
        t = (t0 + u - first) * 1000
        if (t >= a && t < b) n++
      } END { print n + 0 }' "$f"
  done | awk '{ s += $1 } END { print s + 0 }'
}

# --- the page of the card, and of the backup: by location (S3), by id (folder)
expect_exit 0 nexls card --report "$ev" -o card.html
expect_exit 0 nexls "$S3/PRO-RP/events/$ev" --report -o s3.html --format json
assert_eq "$(jq -r '.[0] | "\(.stills) \(.fixes) \(.samples) \(.files)"' "$WORK/out")" "6 30 1500 6"
expect_exit 0 nexls bk --report "$ev" -o bk.html
expect_exit 0 nexls "bk/PRO-RP/events/$ev" --report -o bk2.html
cmp <(grep -v 'class="backup"' bk.html) <(grep -v 'class="backup"' bk2.html) || fail "by id and by location differ"
[ -z "$(find "${TMPDIR:-/tmp}" -maxdepth 1 -name '.nex-report-*' -newer card.html 2>/dev/null)" ] ||
  fail "the report left its temporary folder"

dom s3.html > s3.dom
[ -s s3.dom ] || { cat chromium.log; fail "chromium gave no DOM"; }
assert_eq "$(grep -oE 'data-natural="[^"]*"' s3.dom | cut -d'"' -f2)" \
  "1920x1080 1920x1080 1920x1080 1280x720 1280x720 1280x720" "(natural sizes of the stills)"
# one point per sidecar sample in the window, counted from the backed-up sidecars themselves
n_acc=$(acc_in "bk/PRO-RP/events/$ev") n_gps=$(gps_in "bk/PRO-RP/events/$ev")
assert_eq "$n_acc" 1500
assert_eq "$n_gps" 30
for a in g-x g-y g-z; do assert_eq "$(attr s3.dom "polyline class=\"$a\"" data-points)" "$n_acc"; done
assert_eq "$(attr s3.dom 'polyline class="speed-line"' data-points)" "$n_gps"
assert_eq "$(attr s3.dom 'polyline class="gps-track"' data-points)" "$n_gps"
assert_eq "$(grep -oE '<line class="event-marker" data-ms="[0-9]+"' s3.dom | cut -d'"' -f4 | tr '\n' ' ')" "20000 20000 "
# the same facts, pictures, charts and track as the card's page
assert_eq "$(facts s3.html)" "$(facts card.html)"
[ "$(facts s3.html | wc -l)" -eq 7 ] || fail "facts missing from the page"
assert_eq "$(stills s3.html)" "$(stills card.html)" "(the stills' frames, by timecode)"
assert_eq "$(stills s3.html)" "road:54033 road:59033 road:4033 interior:54033 interior:59033 interior:4033"
for c in 'polyline class="speed-line"' 'polyline class="g-x"' 'polyline class="gps-track"' 'circle class="event-point"'; do
  assert_eq "$(grep -oE "<$c[^>]*>" s3.html)" "$(grep -oE "<$c[^>]*>" card.html)" "($c)"
done
grep -q 'serial PRO-RP, firmware' s3.html || fail "no camera identity in the page"
assert_contains s3.html 'class="no-findings">not known: a backup holds no scan of the card'
# every file with the manifest's SHA-256; the sidecars' are the card files'
jq -r '.files[] | "\(.key) \(.size) \(.sha256)"' "$man" | while read -r key size sha; do
  grep -q "<tr><td>$key</td><td>$size</td><td class=\"sha256\">$sha</td>" s3.html || fail "$key missing from the page"
done
grep -q "$(sha256sum card/drive/20261120_081300.gps | cut -d' ' -f1)" s3.html || fail "the sidecar's SHA-256 is not the card's"
! grep -oE '(src|href)="(https?:)?//' s3.html || fail "the report references the network"
! grep -q "$AWS_SECRET_ACCESS_KEY" s3.html "$WORK/err" || fail "a secret in the report"
browser --window-size=1400,2400 --screenshot="$WORK/report-backup.png" "file://$WORK/s3.html" >/dev/null
[ "$(stat -c %s report-backup.png)" -gt 100000 ] || fail "the screenshot is (nearly) empty"
mkdir -p "$NEX_BIN/../test-artifacts" && cp report-backup.png "$NEX_BIN/../test-artifacts/"
expect_exit 0 nexls "$S3" --report "$ev" --pdf -o s3.pdf
assert_eq "$(head -c 5 s3.pdf)" "%PDF-"

# --- an encrypted backup: the key is honoured, and needed
expect_exit 0 nexsync card "$S3/enc" --drives none --encrypt fleet.key -q
expect_exit 0 nexls "$S3/enc/PRO-RP/events/$ev" --report --encrypt fleet.key -o enc.html
assert_eq "$(facts enc.html)" "$(facts card.html)"
assert_eq "$(attr enc.html 'polyline class="g-z"' data-points)" 1500
expect_exit 1 nexls "$S3/enc/PRO-RP/events/$ev" --report -o noenc.html
assert_eq "$(wc -l < "$WORK/err")" 1
assert_contains "$WORK/err" "encrypted"
[ ! -e noenc.html ] || fail "a failed report left its file"

# --- a clip item works like a window (no event marker); a drive is refused
expect_exit 0 nexsync card bk --drives full --clip 08:13:00/+10s=look -q
clip=$(jq -r '.id' bk/PRO-RP/clips/*_look/clip.json)
expect_exit 0 nexls bk --report "$clip" -o clip.html --format json
assert_eq "$(jq -r '.[0] | "\(.stills) \(.fixes) \(.samples)"' "$WORK/out")" "6 10 500"
assert_not_contains clip.html 'class="event-marker"'
assert_eq "$(stills clip.html | cut -d' ' -f1)" "road:0"
expect_exit 2 nexls bk --report 20261120_081200 -o drive.html
assert_contains "$WORK/err" "is a drive"
[ ! -e drive.html ] || fail "a refused report left its file"

# --- an item backed up before nexsync kept the sidecars: up to date as it is,
# and its page says there is no telemetry rather than draw any
old=bk/PRO-RP/events/$ev
jq 'del(.files[] | select(.camera == null))' "$man" > m.json && mv m.json "$man"
rm "$old"/*.gps "$old"/*.acc
expect_exit 0 nexsync card bk --drives none --all --format ndjson
assert_eq "$(jq -r 'select(.item == "PRO-RP/events/'"$ev"'") | .action' "$WORK/out")" "up to date"
[ ! -e "$old/20261120_081200.gps" ] || fail "the re-run sent the sidecars of an item that is up to date"
expect_exit 0 nexls bk --report "$ev" -o old.html --format json
assert_eq "$(jq -r '.[0] | "\(.stills) \(.fixes) \(.samples)"' "$WORK/out")" "6 0 0"
assert_eq "$(grep -c 'class="no-telemetry' old.html)" 3
assert_contains old.html 'no telemetry in this backup'
assert_not_contains old.html '<polyline'
assert_eq "$(facts old.html)" "$(facts card.html)"   # the event's record still gives speed and position

# --- a parking incident: its own clip, its event's marker; a parking clip records no sidecars
nexsim park card --duration 1h --incident impact@10m -q >/dev/null
pk=$(nexls card --events --kind parking-impact --format ndjson | jq -r .id)
expect_exit 0 nexsync card bk --drives none -q
expect_exit 0 nexls bk --report "$pk" -o park.html --format json
assert_eq "$(jq -r '.[0] | "\(.stills) \(.fixes) \(.samples)"' "$WORK/out")" "3 0 0"
assert_eq "$(grep -oE '<line class="event-marker"' park.html | wc -l)" 0   # (no chart without telemetry)
assert_contains park.html "<td class=\"kind\">parking-impact</td>"
assert_contains park.html 'no telemetry in this backup: the item holds no .gps sidecar'

# --- bad input: one error line, exit 1 or 2, no file
expect_exit 1 nexls bk --report 20261120_081300_collision -o bad.html
assert_contains "$WORK/err" "no item '20261120_081300_collision'"
expect_exit 1 nexls "$S3/PRO-RP/events/20261120_081300_collision" --report -o bad.html
assert_eq "$(wc -l < "$WORK/err")" 1
expect_exit 2 nexls "$S3" --report -o bad.html
expect_exit 2 nexls "$S3" --report --from 08:13:00 --to +10s -o bad.html
expect_exit 2 nexls "$S3" --report "$ev"
# a tampered clip: verification fails, nothing is written
printf 'X' | dd of="bk/PRO-RP/clips/$clip/road.mp4" bs=1 seek=100000 conv=notrunc 2>/dev/null
expect_exit 1 nexls bk --report "$clip" -o bad.html
assert_eq "$(wc -l < "$WORK/err")" 1
assert_contains "$WORK/err" "does not match the manifest"
[ ! -e bad.html ] || fail "a failed report left bad.html"
[ -z "$(ls -A | grep -E '^\.bad')" ] || fail "a failed report left a temporary file"
echo ok
