#!/usr/bin/env bash
# nexls --report: the incident page opened in a real browser (headless
# Chromium from Debian, no network): the stills decode (natural size > 0),
# the charts hold one point per GPS fix and per G-sensor sample of the window,
# the event marker sits at the event's time, the files' SHA-256 are right;
# a screenshot shows it renders; --pdf prints it. Then a --from/--to window
# and the errors.
. "$(dirname "$0")/lib.sh"
cd "$WORK"
command -v jq >/dev/null || { echo "jq missing" >&2; exit 125; }
command -v chromium >/dev/null || { echo "chromium missing" >&2; exit 125; }

nexsim init card --model pro --capacity 8G --utc-offset +02:00 -q
nexsim drive card --start 2026-11-20T08:12:00 --duration 2m --interior --event hard-brake@59s -q >/dev/null
ev=$(nexls card --events --format ndjson | jq -r 'select(.kind == "hard-brake") | .id')
assert_eq "$ev" 20261120_081259_hard-brake

browser() {  # browser ARGS... : headless Chromium, a fresh profile, nothing from the network
  timeout 120 chromium --headless --no-sandbox --disable-gpu --disable-background-networking \
    --disable-component-update --disable-sync --no-first-run --user-data-dir="$(mktemp -d "$WORK/profile.XXXX")" \
    "$@" 2>>"$WORK/chromium.log"
}
# dom PAGE: the DOM after load, with every image's natural size on <body data-natural>
dom() {
  sed 's|</body>|<script>window.onload = () => { document.body.dataset.natural = [...document.images].map(i => i.naturalWidth + "x" + i.naturalHeight).join(" "); };</script></body>|' \
    "$1" > "$WORK/probe.html"
  browser --virtual-time-budget=10000 --dump-dom "file://$WORK/probe.html"
}
attr() {  # attr DOMFILE SELECTOR-REGEX ATTR: the attribute of the first element matching
  grep -oE "<$2[^>]*>" "$1" | head -1 | grep -oE "$3=\"[^\"]*\"" | cut -d'"' -f2
}

# --- an event across a segment seam: window 08:12:39.060 .. 08:13:09.060
expect_exit 0 nexls card --report "$ev" -o report.html --format json
assert_eq "$(jq -r '.[0].stills' "$WORK/out")" 6
assert_eq "$(jq -r '.[0].fixes' "$WORK/out")" 30     # 1 Hz: 08:12:40 .. 08:13:09
assert_eq "$(jq -r '.[0].samples' "$WORK/out")" 1500  # 50 Hz over 30 s
# self-contained: nothing it would fetch (the SVG namespace is a name, not a request)
! grep -oE '(src|href)="(https?:)?//' report.html || fail "the report references the network"
dom report.html > dom.html
[ -s dom.html ] || { cat chromium.log; fail "chromium gave no DOM"; }
natural=$(grep -oE 'data-natural="[^"]*"' dom.html | cut -d'"' -f2)
assert_eq "$natural" "1920x1080 1920x1080 1920x1080 1280x720 1280x720 1280x720" "(natural sizes of the stills)"
assert_eq "$(attr dom.html 'polyline class="speed-line"' data-points)" 30
for a in g-x g-y g-z; do assert_eq "$(attr dom.html "polyline class=\"$a\"" data-points)" 1500; done
assert_eq "$(attr dom.html 'polyline class="gps-track"' data-points)" 30
# the marker at the event's time (20 s into the window) in both charts, the point on the track
assert_eq "$(grep -oE '<line class="event-marker" data-ms="[0-9]+"' dom.html | cut -d'"' -f4 | tr '\n' ' ')" "20000 20000 "
assert_eq "$(attr dom.html 'circle class="event-point"' data-lat)" \
  "$(nexls card --events --format ndjson | jq -r 'select(.kind == "hard-brake") | .lat' | xargs printf '%.6f')"
grep -q '<td class="kind">hard-brake</td>' dom.html || fail "no event kind in the page"
grep -q 'serial PRO-' dom.html || fail "no camera identity in the page"
# every file of the window with its SHA-256
for f in card/drive/20261120_0812* card/drive/20261120_0813*; do
  case $f in *.jpg) continue ;; esac
  grep -q "$(sha256sum "$f" | cut -d' ' -f1)" dom.html || fail "$f: SHA-256 missing from the report"
done
# it renders: a screenshot, kept for a person to look at (BUILD/test-artifacts/report.png;
# not compared pixel by pixel)
browser --window-size=1400,2400 --screenshot="$WORK/report.png" "file://$WORK/report.html" >/dev/null
[ "$(stat -c %s report.png)" -gt 100000 ] || fail "the screenshot is (nearly) empty"
mkdir -p "$NEX_BIN/../test-artifacts" && cp report.png report.html "$NEX_BIN/../test-artifacts/"

# --- the same page as PDF, printed by Chromium
expect_exit 0 nexls card --report "$ev" --pdf -o report.pdf
assert_eq "$(head -c 5 report.pdf)" "%PDF-"
[ "$(stat -c %s report.pdf)" -gt 100000 ] || fail "the PDF lacks its pictures"
NEX_CHROMIUM=/nonexistent/chromium expect_exit 1 nexls card --report "$ev" --pdf -o bad.pdf
assert_contains "$WORK/err" "cannot run /nonexistent/chromium"
expect_exit 2 nexls card --pdf -o bad.pdf
[ ! -e bad.pdf ] || fail "a failed --pdf left bad.pdf"

# --- a window: no event marker, stills in the middle
expect_exit 0 nexls card --report --from 08:13:00 --to +10s -o window.html --format json
assert_eq "$(jq -r '.[0].stills' "$WORK/out")" 6
assert_eq "$(jq -r '.[0].fixes' "$WORK/out")" 10
assert_not_contains window.html 'class="event-marker"'

# --- errors: one line, documented exit code, no file
expect_exit 1 nexls card --report 20261120_081300_collision -o bad.html
assert_contains "$WORK/err" "no event '20261120_081300_collision'"
expect_exit 1 nexls card --report --from 2026-11-21T08:00:00 --to +10s -o bad.html
expect_exit 2 nexls card --report "$ev"
expect_exit 2 nexls card --from 08:13:00 --to +10s
expect_exit 2 nexls card --report -o bad.html
[ ! -e bad.html ] || fail "a failed report left bad.html"
[ -z "$(ls -A | grep -E '^\.bad')" ] || fail "a failed report left a temporary file"
echo ok
