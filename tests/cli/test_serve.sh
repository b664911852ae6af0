#!/usr/bin/env bash
# nexsim serve end to end: real servers on 127.0.0.1 (free ports), read with
# curl, ffprobe and ffmpeg: info, listing, file bodies byte for byte, ranges,
# If-Range, HEAD, 404 after the loop removed a file, 400 for unsafe paths,
# 503 past --max-clients, every fault's observable effect, the live view's
# timecode, SIGTERM/SIGINT -> exit 0, bad options -> exit 2.
# No sleeps: every wait is wait_for on something the server shows.
. "$(dirname "$0")/lib.sh"
for c in curl jq ffmpeg ffprobe python3; do command -v $c >/dev/null || { echo "$c missing" >&2; exit 125; }; done
TIMECODE="$NEX_SOURCE_DIR/tests/harness/timecode.py"
cd "$WORK"

nexsim init card --model pro --capacity 8G --serial SRV-T1 --utc-offset +00:00 -q
nexsim drive card --start 2026-11-20T08:12:00 --duration 30s --event hard-brake@10s -q >/dev/null
SEG=drive/20261120_081200_1.mp4
THUMB=drive/20261120_081200_1.jpg
[ -s "card/$SEG" ] && [ -s "card/$THUMB" ] || fail "the drive wrote no $SEG / $THUMB"
SIZE=$(stat -c %s "card/$SEG")

# start_server NAME ARGS...: nexsim serve card in the background; sets URL, PID, NAME.
start_server() {
  NAME=$1; shift
  rm -f "$NAME.ready"
  nexsim serve card --listen 127.0.0.1:0 --ready-file "$NAME.ready" "$@" > "$NAME.out" 2> "$NAME.err" &
  PID=$!
  up() { [ -s "$NAME.ready" ] || ! kill -0 "$PID" 2>/dev/null; }
  wait_for 120 "the $NAME server to listen" up
  [ -s "$NAME.ready" ] || { cat "$NAME.err"; fail "the $NAME server did not start"; }
  URL=$(cat "$NAME.ready")
  [[ $URL =~ ^http://127\.0\.0\.1:[0-9]+$ ]] || fail "ready file holds '$URL'"
  assert_eq "$(head -1 "$NAME.out")" "$URL" "(the first stdout line is the base URL)"
}
# stop_server [SIGNAL]: the server ends cleanly: exit 0, ready file gone.
stop_server() {
  kill "-${1:-TERM}" "$PID"
  local rc=0; wait "$PID" || rc=$?
  [ "$rc" = 0 ] || { cat "$NAME.err"; fail "$NAME server exited $rc after SIG${1:-TERM}"; }
  [ ! -e "$NAME.ready" ] || fail "$NAME server left its ready file"
  assert_not_contains "$NAME.err" 'error:'
}
# get URL-PATH [curl args]: headers in h, body in b; prints the status.
get() {
  local path=$1; shift
  rm -f h b
  curl -s -D h -o b "$@" "$URL$path" || true
  [ -s h ] && head -1 h | cut -d' ' -f2 || echo 000
}
hdr() { grep -i "^$1:" h | head -1 | cut -d' ' -f2- | tr -d '\r'; }

# ---------------------------------------------------------------- the API
start_server main
assert_eq "$(get /api/info)" 200
assert_eq "$(hdr Content-Type)" application/json
assert_eq "$(jq -r '[.api, .kind, .model, .model_name, .serial, .utc_offset, .recording, .active] | join(" ")' b)" \
  "1 nex-camera pro Nexar Pro SRV-T1 +00:00 false "
assert_eq "$(jq -r 'keys_unsorted | join(",")' b)" \
  "api,kind,model,model_name,serial,firmware,clock,utc_offset,recording,active,capacity,used,generation"
assert_eq "$(jq -r .capacity b)" $((8 * 1024 * 1024 * 1024))
assert_eq "$(jq -r .used b)" "$(find card -maxdepth 2 -type f -printf '%s\n' | awk '{ s += $1 } END { print s }')"
gen0=$(jq -r .generation b)

# listing: every regular file of the card, sorted by path, with its size
assert_eq "$(get /api/files)" 200
jq -r '.files[] | "\(.path) \(.size)"' b > listed
(cd card && find . -maxdepth 2 -type f -printf '%P %s\n' | LC_ALL=C sort) > on_card
diff on_card listed || fail "the listing is not the card"
assert_eq "$(jq -r '[.files[] | .complete] | all' b)" true
assert_eq "$(jq -r '[.files[].etag] | unique | length' b)" "$(wc -l < on_card)" "(one etag per file)"
assert_eq "$(jq -r '.files[0] | keys_unsorted | join(",")' b)" "path,size,mtime,complete,etag"
ETAG=$(jq -r --arg p "$SEG" '.files[] | select(.path == $p) | .etag' b)
[[ $ETAG =~ ^\"[0-9a-f]+\"$ ]] || fail "etag $ETAG is not a quoted strong tag"
assert_eq "$(jq -r .generation b)" "$gen0" "(nothing changed)"

# events: the card's records
assert_eq "$(get /api/events)" 200
assert_eq "$(jq '.events | length' b)" "$(wc -l < card/events.ndjson)"
assert_eq "$(jq -r '.events[0].kind' b)" hard-brake

# whole file, byte for byte, with its headers
assert_eq "$(get /files/$SEG)" 200
cmp b "card/$SEG" || fail "GET body differs from the card's file"
assert_eq "$(hdr Content-Length)" "$SIZE"
assert_eq "$(hdr Content-Type)" video/mp4
assert_eq "$(hdr ETag)" "$ETAG"
assert_eq "$(hdr Accept-Ranges)" bytes
[ -n "$(hdr Last-Modified)" ] || fail "no Last-Modified"
assert_eq "$(get /files/$THUMB)" 200
assert_eq "$(hdr Content-Type)" image/jpeg
cmp b "card/$THUMB" || fail "thumbnail differs"
assert_eq "$(get /files/camera.yaml)" 200
cmp b card/camera.yaml || fail "camera.yaml differs"

# ranges: N-M, N-, -K
assert_eq "$(get /files/$SEG -H 'Range: bytes=100-199')" 206
assert_eq "$(hdr Content-Range)" "bytes 100-199/$SIZE"
assert_eq "$(hdr Content-Length)" 100
dd if="card/$SEG" bs=1 skip=100 count=100 status=none | cmp - b || fail "bytes 100-199 differ"
assert_eq "$(get /files/$SEG -H "Range: bytes=$((SIZE - 1000))-")" 206
assert_eq "$(hdr Content-Range)" "bytes $((SIZE - 1000))-$((SIZE - 1))/$SIZE"
tail -c 1000 "card/$SEG" | cmp - b || fail "open range differs"
assert_eq "$(get /files/$SEG -H 'Range: bytes=-500')" 206
assert_eq "$(hdr Content-Range)" "bytes $((SIZE - 500))-$((SIZE - 1))/$SIZE"
tail -c 500 "card/$SEG" | cmp - b || fail "suffix range differs"
assert_eq "$(get /files/$SEG -H "Range: bytes=$((SIZE - 10))-$((SIZE + 5000))")" 206
assert_eq "$(hdr Content-Range)" "bytes $((SIZE - 10))-$((SIZE - 1))/$SIZE" "(clamped to the end)"
# past the end: 416 with the size
assert_eq "$(get /files/$SEG -H "Range: bytes=$SIZE-")" 416
assert_eq "$(hdr Content-Range)" "bytes */$SIZE"
assert_eq "$(jq -r .error b)" range-not-satisfiable
# If-Range: a stale tag gets the whole file, the current one the range
assert_eq "$(get /files/$SEG -H 'Range: bytes=0-9' -H 'If-Range: "0123456789abcdef"')" 200
cmp b "card/$SEG" || fail "If-Range mismatch: not the whole file"
assert_eq "$(get /files/$SEG -H 'Range: bytes=0-9' -H "If-Range: $ETAG")" 206
assert_eq "$(hdr Content-Length)" 10
# HEAD: the headers of the GET, no body
rm -f h; curl -s -I "$URL/files/$SEG" > h
assert_eq "$(head -1 h | cut -d' ' -f2)" 200
assert_eq "$(hdr Content-Length)" "$SIZE"
assert_eq "$(hdr ETag)" "$ETAG"
assert_eq "$(hdr Accept-Ranges)" bytes
[ -n "$(hdr Last-Modified)" ] || fail "HEAD without Last-Modified"

# unsafe paths: 400 (as typed, not normalised by curl)
for p in "/files/../camera.yaml" "/files/drive/../../etc/passwd" "/files/%2e%2e/camera.yaml" "/files/drive/x/y.mp4" \
         "/files/etc/passwd" "/files//etc/passwd"; do
  assert_eq "$(get "$p" --path-as-is)" 400 "($p)"
  assert_eq "$(jq -r .error b)" bad-path
done
# the loop overwrote a file: 404, gone from the listing, a new generation
gps=drive/20261120_081200.gps
assert_eq "$(get /files/$gps)" 200
rm "card/$gps"
assert_eq "$(get /files/$gps)" 404
assert_eq "$(jq -r .error b)" not-found
assert_eq "$(get /api/files)" 200
assert_eq "$(jq --arg p "$gps" '[.files[] | select(.path == $p)] | length' b)" 0
[ "$(jq -r .generation b)" -gt "$gen0" ] || fail "generation did not go up after a file went"
assert_eq "$(get /nowhere)" 404
assert_eq "$(jq -r .error b)" not-found
assert_eq "$(get /api/info -X POST)" 405
# a growing file is listed as it grows (no stale-size here)
before=$(stat -c %s card/events.ndjson)
echo '{"torn' >> card/events.ndjson
assert_eq "$(get /api/files)" 200
assert_eq "$(jq -r '.files[] | select(.path == "events.ndjson") | .size' b)" $((before + 7))
assert_eq "$(get /api/events)" 200
assert_eq "$(jq '.events | length' b)" 1 "(the torn line is left out)"

# ---------------------------------------------------------------- live view
assert_eq "$(get '/live.jpg?camera=road')" 200
assert_eq "$(hdr Content-Type)" image/jpeg
assert_eq "$(ffprobe -v error -show_entries stream=codec_name,width,height -of csv=p=0 b)" "mjpeg,640,360"
assert_eq "$(get '/live.jpg?camera=interior')" 200 "(a Pro has an interior camera)"
assert_eq "$(get '/live.jpg?camera=rear')" 400
# the stream's headers and framing (curl ends when head has enough)
{ curl -s -N -D h "$URL/live.mjpg" || true; } | head -c 300000 > mj
assert_eq "$(hdr Content-Type)" "multipart/x-mixed-replace; boundary=nexframe"
head -c 12 mj | grep -q -- '--nexframe' || fail "the stream does not begin with its boundary"
# read as MJPEG by ffmpeg: three frames whose burnt-in clock goes forward
# (milliseconds since the camera's local midnight: a run across midnight wraps)
ffmpeg -v error -f mjpeg -i "$URL/live.mjpg" -frames:v 3 -f rawvideo -pix_fmt gray -y frames.raw
python3 "$TIMECODE" 640 360 frames.raw > tc || { cat tc; fail "no timecode in the live frames"; }
assert_eq "$(wc -l < tc)" 3
awk 'NR > 1 && !($1 > prev || prev - $1 > 80000000) { bad = 1 } { prev = $1 } END { exit bad }' tc ||
  { cat tc; fail "live frames' timecode does not go forward"; }
# and as the multipart stream it is (ffmpeg's mpjpeg demuxer, found by the Content-Type)
ffmpeg -v error -i "$URL/live.mjpg?camera=interior" -frames:v 2 -f rawvideo -pix_fmt gray -y frames2.raw
python3 "$TIMECODE" 640 360 frames2.raw > tc2 || fail "no timecode in the interior live frames"

# a second server on the same port: exit 1, one error line
port=${URL##*:}
expect_exit 1 nexsim serve card --listen "127.0.0.1:$port"
assert_contains "$WORK/err" "cannot listen on 127.0.0.1:$port"
stop_server TERM

# ---------------------------------------------------------------- bad options: exit 2, one line
for bad in "--fault bogus" "--fault reset=2" "--fault drop-after" "--fault stall=0,reset=0.1" "--listen nowhere" \
           "--listen 127.0.0.1:99999" "--max-clients 0" "--live-fps 0"; do
  # shellcheck disable=SC2086
  expect_exit 2 nexsim serve card $bad
  if [[ $bad == --fault* ]]; then
    assert_eq "$(wc -l < "$WORK/err")" 1 "(stderr lines for '$bad')"
    assert_contains "$WORK/err" "nexsim: error: bad --fault"
  fi
done
expect_exit 1 nexsim serve nosuchcard --listen 127.0.0.1:0

# ---------------------------------------------------------------- faults
# drop-after: each file body ends after SIZE bytes (the connection closes)
start_server drop --fault drop-after=1000,ignore-range
rc=0; curl -s -o b "$URL/files/$SEG" || rc=$?
assert_eq "$rc" 18 "(curl: partial file)"
assert_eq "$(stat -c %s b)" 1000
head -c 1000 "card/$SEG" | cmp - b || fail "the cut body is not the file's start"
# ignore-range: 200 with the whole file (camera.yaml is shorter than the cut)
assert_eq "$(get /files/camera.yaml -H 'Range: bytes=0-9')" 200
cmp b card/camera.yaml || fail "ignore-range: not the whole file"
assert_eq "$(get /api/info)" 200 "(JSON answers are not cut)"
stop_server INT

# short-range, stale-size, empty-listing-once, clock-skew
start_server odd --fault short-range,stale-size,empty-listing-once,clock-skew=3600
assert_eq "$(get /api/files)" 200
assert_eq "$(jq -c .files b)" "[]" "(empty-listing-once: first listing)"
assert_eq "$(get /api/files)" 200
[ "$(jq '.files | length' b)" -gt 3 ] || fail "empty-listing-once: the second listing is empty too"
first=$(jq -r '.files[] | select(.path == "events.ndjson") | .size' b)
echo '{"torn' >> card/events.ndjson
assert_eq "$(get /api/files)" 200
assert_eq "$(jq -r '.files[] | select(.path == "events.ndjson") | .size' b)" "$first" "(stale-size)"
assert_eq "$(get /files/$SEG -H 'Range: bytes=100-199')" 206
assert_eq "$(hdr Content-Range)" "bytes 99-199/$SIZE" "(short-range)"
dd if="card/$SEG" bs=1 skip=99 count=101 status=none | cmp - b || fail "short-range body is not bytes 99-199"
assert_eq "$(get /files/$SEG -H 'Range: bytes=0-9')" 206
assert_eq "$(hdr Content-Range)" "bytes 0-9/$SIZE" "(short-range cannot start before 0)"
assert_eq "$(get /api/info)" 200
skewed=$(date -d "$(jq -r .clock b)" +%s)
now=$(date +%s)
diff=$((skewed - now))
[ "$diff" -gt 3000 ] && [ "$diff" -lt 4200 ] || fail "clock-skew=3600: the camera is $diff s off"
stop_server

# reset and http500 fire by chance, the same way for the same seed
pattern() {
  local i out=""
  for i in 1 2 3 4 5 6 7 8 9 10 11 12; do out="$out $(curl -s -o /dev/null -w '%{http_code}' "$URL/api/info" || true)"; done
  echo "$out"
}
start_server chance --fault reset=0.3,http500=0.3 --seed 11
p1=$(pattern)
assert_eq "$(get /api/info)" "$(get /api/info)" || true
stop_server
start_server chance --fault reset=0.3,http500=0.3 --seed 11
p2=$(pattern)
assert_eq "$p2" "$p1" "(same seed, same faults)"
[[ " $p1 " == *" 000 "* ]] || fail "reset=0.3 never reset a connection: $p1"
[[ " $p1 " == *" 500 "* ]] || fail "http500=0.3 never answered 500: $p1"
[[ " $p1 " == *" 200 "* ]] || fail "no request got through: $p1"
stop_server
start_server always --fault http500=1
assert_eq "$(get /api/info)" 500
assert_eq "$(jq -r .error b)" internal
stop_server
start_server never --fault reset=1
rm -f b; rc=0; curl -s -o b "$URL/api/info" || rc=$?
[ "$rc" = 52 ] || [ "$rc" = 56 ] || fail "reset=1: curl exited $rc (want 52 or 56: no answer)"
[ ! -s b ] || fail "reset=1: an answer came"
stop_server

# stall + --max-clients: two bodies stall (the server says so), the third
# request is refused with 503; SIGTERM still ends the server at once.
start_server busy --fault stall=600 --max-clients 2 -v
curl -s -o stall1 "$URL/files/$SEG" & c1=$!
curl -s -o stall2 "$URL/files/$THUMB" & c2=$!
stalled() { [ "$(grep -c 'fault stall:' busy.err)" = 2 ]; }
wait_for 120 "two stalled downloads" stalled
assert_eq "$(get /api/info)" 503
assert_eq "$(hdr Retry-After)" 1
assert_eq "$(hdr Connection)" close
assert_eq "$(jq -r .error b)" busy
assert_contains busy.err 'busy: GET /api/info refused'
stop_server TERM
wait $c1 $c2 || true
# each body stopped halfway
assert_eq "$(stat -c %s stall1)" $((SIZE / 2))
assert_eq "$(stat -c %s stall2)" $(($(stat -c %s "card/$THUMB") / 2))
head -c $((SIZE / 2)) "card/$SEG" | cmp - stall1 || fail "the stalled body is not the file's first half"

echo "ok: nexsim serve"
