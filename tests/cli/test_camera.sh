#!/usr/bin/env bash
# Reading a camera over Wi-Fi (docs/camera-api.md): nexsim serve on
# 127.0.0.1 with a free port, and the real tools against it. nexls lists the
# same records as from the card; nexcut makes the same clip (decoded frames
# equal); nexsync pulls the card into a mirror and backs it up, with every
# saved file byte-identical to the card's, through drops, 500s, ignored and
# shifted ranges, and an empty listing; a camera that goes away mid-run ends
# with exit 3 and the next run resumes. Bad input: nothing listening, an HTTP
# server that is not a camera, a bad address.
. "$(dirname "$0")/lib.sh"
cd "$WORK"
command -v ffmpeg >/dev/null && command -v jq >/dev/null && command -v python3 >/dev/null ||
  { echo "ffmpeg, jq or python3 missing" >&2; exit 125; }

nexsim init card --model nexc1 --capacity 32G --utc-offset +02:00 -q
nexsim drive card --start 2026-11-20T08:12:00 --duration 3m --interior --event hard-brake@1m30s -q >/dev/null
nexsim park card --duration 1h --incident impact@20m --clip-length 10s -q >/dev/null
event=$(nexls card --events --format ndjson | jq -r 'select(.kind=="hard-brake") | .id' | head -1)
[ -n "$event" ] || fail "no hard-brake event on the card"

SERVER_PID=""
serve() {  # serve [nexsim serve options...]: (re)start the camera, set $CAM
  stop_server
  rm -f ready
  nexsim serve card --listen 127.0.0.1:0 --ready-file ready "$@" >serve.out 2>serve.err &
  SERVER_PID=$!
  wait_for 60 "nexsim serve to be ready" test -s ready
  CAM=$(cat ready)
  case "$CAM" in http://127.0.0.1:*) ;; *) fail "ready file says '$CAM'" ;; esac
}
stop_server() {
  if [ -n "$SERVER_PID" ]; then
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=""
  fi
}
# same_files A B: every video and sidecar of card A is in B, byte for byte
same_files() {
  local n=0 f
  for f in $(cd "$1" && find drive sos -type f 2>/dev/null | sort); do
    cmp -s "$1/$f" "$2/$f" || fail "$2/$f differs from $1/$f (or is missing)"
    n=$((n + 1))
  done
  [ "$n" -gt 0 ] || fail "no files compared"
  if find "$2" -name '*.part' -o -name '*.tmp-*' | grep -q .; then fail "partial files left under $2"; fi
}

serve

# --- nexls: the same records from the camera as from the card
for view in "" --segments --events --parking; do
  nexls card $view --format ndjson | jq -S 'del(.path?)' >"card$view.json"
  expect_exit 0 nexls "$CAM" $view --format ndjson
  jq -S 'del(.path?)' "$WORK/out" >"cam$view.json"
  cmp -s "card$view.json" "cam$view.json" || { diff "card$view.json" "cam$view.json" | head; fail "nexls $view differs over the camera"; }
done
expect_exit 0 nexls "$CAM" --check
assert_not_contains "$WORK/out" camera-clock
expect_exit 0 nexls "$CAM/" --format json
assert_contains "$WORK/out" '"drive"'

# --- nexcut: the same clip from the camera as from the card
expect_exit 0 nexcut card --event "$event" -o card-clip.mp4 -q
expect_exit 0 nexcut "$CAM" --event "$event" -o cam-clip.mp4 -q
ffmpeg -v error -i card-clip.mp4 -map 0:v -f framemd5 - | grep -v '^#' >card-clip.md5
ffmpeg -v error -i cam-clip.mp4 -map 0:v -f framemd5 - | grep -v '^#' >cam-clip.md5
cmp -s card-clip.md5 cam-clip.md5 || fail "the clip cut over the camera decodes differently"
[ "$(wc -l <cam-clip.md5)" -gt 100 ] || fail "clip too short"

# --- nexcut --live: the camera's live view recorded; its frames carry the
# camera's clock, which advances over the recording as real time does
expect_exit 0 nexcut "$CAM" --live --camera road --duration 3s -o live.mp4 --format json
assert_eq "$(jq -r '.[0].camera' "$WORK/out")" road
# frames keep their arrival times (variable rate, on a 1/30 s grid): decoded
# as they are, and as the ffmpeg command line resamples them (with times in
# ms, a burst's frames a few ms apart on a busy machine shared a tick of its
# guessed frame rate: "non monotonically increasing dts", CI run 2 of stop 24)
ffmpeg -v error -i live.mp4 -fps_mode passthrough -enc_time_base -1 -f rawvideo -pix_fmt gray -y live.raw
[ -z "$(ffmpeg -v error -i live.mp4 -f null - 2>&1)" ] || fail "live.mp4 does not decode cleanly"
[ -z "$(ffmpeg -v error -i live.mp4 -fps_mode passthrough -enc_time_base -1 -f null - 2>&1)" ] ||
  fail "live.mp4 does not decode cleanly frame by frame"
python3 "$NEX_SOURCE_DIR/tests/harness/timecode.py" 640 360 live.raw | grep -v '^-$' >live.tc
[ "$(wc -l <live.tc)" -ge 5 ] || fail "live: only $(wc -l <live.tc) frames with a readable clock"
span=$(awk 'NR == 1 { f = $1 } { l = $1 } END { d = l - f; if (d < 0) d += 86400000; print d }' live.tc)
[ "$span" -ge 1000 ] && [ "$span" -le 4000 ] || fail "live: the camera clock spans ${span} ms over a 3 s recording"
awk 'NR > 1 && $1 < p && p - $1 < 80000000 { exit 1 } { p = $1 }' live.tc || fail "live: the clock goes backwards"
expect_exit 2 nexcut card --live --duration 3s -o x.mp4
expect_exit 2 nexcut "$CAM" --live -o x.mp4
expect_exit 2 nexcut "$CAM" --live --duration 3s --camera both -o x.mp4
[ ! -e x.mp4 ] || fail "an output was left by a refused --live"

# --- nexsync: pull into a mirror and back up; the mirror reads like the card
mkdir backup
expect_exit 0 nexsync "$CAM" backup --mirror mirror --work-dir work --format json
[ "$(jq '.camera.pulled' "$WORK/out")" -gt 0 ] || fail "nothing pulled"
assert_eq "$(jq '.camera.gone | length' "$WORK/out")" 0
same_files card mirror
cmp -s card/camera.yaml mirror/camera.yaml || fail "camera.yaml differs"
nexls mirror --events --format ndjson | jq -S . >m.json
nexls card --events --format ndjson | jq -S . >c.json
cmp -s m.json c.json || fail "the mirror lists other events than the card"
[ -f "backup/$(jq -r .serial <(nexls card --format json | jq '{serial: .[0].serial}' 2>/dev/null) 2>/dev/null)" ] || true
find backup -name event.json | grep -q . || fail "no event backed up from the camera"
# A second run has nothing to pull.
expect_exit 0 nexsync "$CAM" backup --mirror mirror --work-dir work --format json
assert_eq "$(jq '.camera.pulled' "$WORK/out")" 0

# --- faults: every saved file still byte-identical
for spec in "drop-after=300K" "http500=0.3" "ignore-range,drop-after=1M" "short-range,drop-after=700K" \
            "empty-listing-once" "reset=0.2"; do
  serve --fault "$spec" --seed 7
  rm -rf m2 w2 b2 && mkdir b2
  expect_exit 0 nexsync "$CAM" b2 --mirror m2 --work-dir w2 --format json --retries 20
  same_files card m2
  case "$spec" in drop-after*) [ "$(jq '.camera.resumed' "$WORK/out")" -gt 0 ] || fail "$spec: nothing resumed" ;; esac
done

# --- the camera goes away mid-run (power-off: it goes dark after a set number
# of body bytes, in the middle of a file): exit 3, nothing half-saved under a
# final name, the partial kept; the next run resumes it
total=$(cd card && find drive sos -type f -printf '%s\n' | awk '{ s += $1 } END { print s }')
serve --fault "power-off=$((total / 2 + 12345))" -v
rm -rf m3 w3 b3 && mkdir b3
set +e; nexsync "$CAM" b3 --mirror m3 --work-dir w3 --format json >run1.json 2>run1.err; rc=$?; set -e
assert_eq "$rc" 3 "(nexsync after the camera went dark)"
[ "$(jq '.camera.camera_lost' run1.json)" = true ] || { cat run1.json run1.err; fail "camera loss not reported"; }
assert_contains serve.err "fault power-off"
if find m3 -name '*.part' | grep -q .; then fail "partial file under the mirror"; fi
for f in $(cd m3 && find drive sos -type f 2>/dev/null); do cmp -s "card/$f" "m3/$f" || fail "m3/$f is not the card's"; done
find w3 -name '*.part' -size +0 | grep -q . || fail "no partial download kept for the next run"
serve
expect_exit 0 nexsync "$CAM" b3 --mirror m3 --work-dir w3 --format json
same_files card m3
[ "$(jq '.camera.resumed' "$WORK/out")" -ge 1 ] || fail "the second run did not resume the cut-off download"

# --- a camera clock far off (--fault clock-skew): a finding of --check, a
# warning of nexsync (once a run), and the footage still pulled whole
serve --fault clock-skew=3600
expect_exit 3 nexls "$CAM" --check --format json
jq -e 'any(.findings[]; .severity == "warning" and .code == "camera-clock" and (.message | test("(59m[0-9]+s|1h00m[0-9]+s) ahead of this computer")))' "$WORK/out" >/dev/null ||
  { cat "$WORK/out"; fail "no camera-clock finding for a clock an hour ahead"; }
rm -rf m6 w6 b6 && mkdir b6
expect_exit 0 nexsync "$CAM" b6 --mirror m6 --work-dir w6 --format json
# (an hour, give or take the seconds a busy machine takes between the camera's answer and the check)
assert_eq "$(grep -cE "the camera's clock is (59m[0-9]+s|1h00m[0-9]+s) ahead" "$WORK/err")" 1 "(warnings of the clock)"
same_files card m6

# --- footage nex did not write (ffmpeg-made, B-frames and open GOPs) over
# the camera: the index comes from the sample tables through a reader that
# never fetches media data, so a cut reads the byte ranges it needs, not
# whole segments, and decodes to the same frames as the cut from the card
for p in h264-high-b3 h264-main-b1-open hevc-main; do
  stop_server
  foreign_card "$p"
  rm -f ready
  nexsim serve "$p" --listen 127.0.0.1:0 --ready-file ready >serve.out 2>serve.err &
  SERVER_PID=$!
  wait_for 60 "nexsim serve to be ready" test -s ready
  CAM=$(cat ready)
  nexls "$p" --segments --format ndjson | jq -S 'del(.path?)' >fc.json
  expect_exit 0 nexls "$CAM" --segments --format ndjson
  jq -S 'del(.path?)' "$WORK/out" | cmp -s fc.json - || fail "$p: nexls --segments differs over the camera"
  # 4 s across the first seam, starting mid-GOP (a re-encoded head)
  expect_exit 0 nexcut "$p" --from 2026-11-20T08:12:17.5 --to +4s -o "fc-$p.mp4" -q
  expect_exit 0 nexcut "$CAM" --from 2026-11-20T08:12:17.5 --to +4s -o "cc-$p.mp4" -v
  read=$(grep -o 'read [0-9]* bytes' "$WORK/err" | awk '{ print $2 }')
  touched=$(( $(stat -c %s "$p"/drive/20261120_081200_1.*) + $(stat -c %s "$p"/drive/20261120_081220_1.*) ))
  # (reading every packet for the index took both segments whole, and more;
  # small pictures make the headers and the decoded GOPs a large share)
  [ "$read" -lt $((touched * 4 / 5)) ] || fail "$p: a 4 s cut over the camera read $read bytes of the $touched its two segments hold"
  ffmpeg -v error -i "fc-$p.mp4" -map 0:v -f framemd5 - | grep -v '^#' >fc.md5
  ffmpeg -v error -i "cc-$p.mp4" -map 0:v -f framemd5 - | grep -v '^#' >cc.md5
  cmp -s fc.md5 cc.md5 || fail "$p: the clip cut over the camera decodes differently from the card's"
  [ "$(wc -l <cc.md5)" -ge 100 ] || fail "$p: clip too short ($(wc -l <cc.md5) frames)"
done

# --- the phone app: a folder capped by --max-size keeps the newest drives;
# a drive the camera records later replaces the oldest (rolled over)
stop_server
nexsim init phonecam --model pro --capacity 8G --serial PRO-PHONE -q
nexsim drive phonecam --start 2026-11-20T07:00:00 --duration 1m -q >/dev/null
rm -f ready
nexsim serve phonecam --listen 127.0.0.1:0 --ready-file ready >serve.out 2>serve.err &
SERVER_PID=$!
wait_for 60 "nexsim serve to be ready" test -s ready
CAM=$(cat ready)
expect_exit 0 nexsync "$CAM" phone --mirror pm --work-dir pw --drives full --format ndjson
assert_eq "$(jq -r 'select(.action=="uploaded")|.item' "$WORK/out")" "PRO-PHONE/drives/20261120_070000"
one=$(du -sb phone | cut -f1)
# the camera records another drive (the served folder is its card)
nexsim drive phonecam --start 2026-11-20T09:00:00 --duration 1m -q >/dev/null
cap=$((one + one / 4))
expect_exit 0 nexsync "$CAM" phone --mirror pm --work-dir pw --drives full --max-size "$cap" --format ndjson
assert_eq "$(jq -r 'select(.action=="deleted")|.item' "$WORK/out")" "PRO-PHONE/drives/20261120_070000"
assert_eq "$(jq -r 'select(.action=="uploaded")|.item' "$WORK/out")" "PRO-PHONE/drives/20261120_090000"
[ "$(du -sb phone | cut -f1)" -le "$cap" ] || fail "the phone folder is over its --max-size"
[ ! -e phone/PRO-PHONE/footage/20261120/20261120_070000_1.mp4 ] || fail "the replaced drive's footage is still there"
cmp -s phonecam/drive/20261120_090000_1.mp4 phone/PRO-PHONE/footage/20261120/20261120_090000_1.mp4 ||
  fail "the newer drive is not the camera's, byte for byte"

# --- bad input
stop_server
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
expect_exit 1 nexls "http://127.0.0.1:$port"
assert_contains "$WORK/err" "no camera answers"
[ "$(wc -l <"$WORK/err")" -le 2 ] || fail "more than an error line and a hint"
mkdir www && echo '<html>hello</html>' >www/index.html
(cd www && exec python3 -m http.server --bind 127.0.0.1 "$port" >/dev/null 2>&1) &
web=$!
wait_for 30 "a plain web server" curl -sf "http://127.0.0.1:$port/" -o /dev/null
expect_exit 1 nexls "http://127.0.0.1:$port"
assert_contains "$WORK/err" "not a nex camera"
expect_exit 1 nexsync "http://127.0.0.1:$port" b4 --work-dir w4
assert_contains "$WORK/err" "not a nex camera"
[ ! -e b4 ] || [ -z "$(ls -A b4)" ] || fail "something written for a server that is not a camera"
kill "$web"
expect_exit 2 nexls "http://127.0.0.1:$port/api/files"
expect_exit 2 nexsync card b5 --mirror m5
echo "ok"
