#!/usr/bin/env bash
# nexcut end to end: clips that ffprobe/ffmpeg read without a single error,
# frame counts and A/V durations as the window asks, seams across segments,
# both cameras, telemetry, stills, --items from nexls, salvage of a power
# cut, a second decoder (GStreamer + OpenH264, when installed) agreeing bit
# for bit, and every failure: one-line error, documented exit code, nothing
# left under the final name. Frame-by-frame timecode checks live in the unit
# tests ([cut]).
. "$(dirname "$0")/lib.sh"
cd "$WORK"
command -v ffprobe >/dev/null && command -v ffmpeg >/dev/null || { echo "ffmpeg/ffprobe missing" >&2; exit 125; }
command -v jq >/dev/null || { echo "jq missing" >&2; exit 125; }

nexsim init card --model pro --capacity 32G --utc-offset +02:00 -q
nexsim drive card --start 2026-11-20T08:12:00 --duration 6m --interior --event hard-brake@2m -q >/dev/null
mkdir clips

frames() { ffprobe -v error -select_streams "$2" -count_packets -show_entries stream=nb_read_packets -of csv=p=0 "$1"; }
sdur() { ffprobe -v error -select_streams "$2" -show_entries stream=duration -of csv=p=0 "$1"; }
# No error from the demuxer or the decoders, DTS strictly increasing per stream.
probe_clean() {
  ffprobe -v error -show_entries packet=stream_index,dts -of csv=p=0 "$1" >"$WORK/pk" 2>"$WORK/probe.err"
  [ ! -s "$WORK/probe.err" ] || { cat "$WORK/probe.err"; fail "ffprobe complains about $1"; }
  awk -F, '{ if (($1 in last) && $2 <= last[$1]) { print "non-monotonic dts " $0; bad=1 } last[$1]=$2 } END { exit bad }' \
    "$WORK/pk" || fail "$1: DTS not monotonic"
}
clean() {
  probe_clean "$1"
  ffmpeg -v error -i "$1" -f null - 2>"$WORK/dec.err"
  [ ! -s "$WORK/dec.err" ] || { cat "$WORK/dec.err"; fail "ffmpeg cannot decode $1 cleanly"; }
}
av_sync() {  # audio and video durations within one AAC frame
  local v a; v=$(sdur "$1" v:0); a=$(sdur "$1" a:0)
  awk -v v="$v" -v a="$a" 'BEGIN { d = v - a; if (d < 0) d = -d; exit !(d <= 1024 / 48000) }' \
    || fail "$1: video $v s, audio $a s"
}

# --- exact clip across 5 segment boundaries, both cameras, telemetry
expect_exit 0 nexcut card --from 08:12:59.9 --to 08:17:00.1 --camera both --telemetry -o clips/five.mp4 --format json
assert_eq "$(jq -r '.[0].camera' "$WORK/out")" road
assert_eq "$(jq -r '.[1].camera' "$WORK/out")" interior
assert_eq "$(jq -r '.[0].start' "$WORK/out")" 2026-11-20T08:12:59.900
assert_eq "$(jq -r '.[0].end' "$WORK/out")" 2026-11-20T08:17:00.100
# frames 08:12:59.900 .. 08:17:00.066: 3 + 4 x 1800 + 3 = 7206
assert_eq "$(jq -r '.[0].frames' "$WORK/out")" 7206
for f in clips/five_road.mp4 clips/five_interior.mp4; do
  assert_eq "$(frames "$f" v:0)" 7206
done
probe_clean clips/five_road.mp4   # decoding 4 min of 1080p is the unit tests' job
clean clips/five_interior.mp4
av_sync clips/five_interior.mp4
[ -s clips/five.gpx ] && [ -s clips/five.csv ] || fail "telemetry files missing"
assert_eq "$(grep -c '<trkpt' clips/five.gpx)" 241   # 08:13:00 .. 08:17:00, 1 Hz
assert_eq "$(head -1 clips/five.csv)" "time,ms,x,y,z"
# faststart: the moov comes before the mdat; metadata as the camera writes it
{ ffprobe -v trace clips/five_road.mp4 2>&1 || true; } | grep -m2 -oE "type:'(moov|mdat)'" | tr '\n' ' ' > boxes
assert_eq "$(cat boxes)" "type:'moov' type:'mdat' "
ffprobe -v error -show_entries format_tags -of json clips/five_road.mp4 > tags.json
assert_eq "$(jq -r '.format.tags.creation_time' tags.json)" 2026-11-20T06:12:59.900000Z
assert_eq "$(jq -r '.format.tags.make' tags.json)" Nexar
jq -e '.format.tags.location | test("^[+-][0-9.]+[+-][0-9.]+/$")' tags.json >/dev/null || fail "no location tag"

# --- exact clip inside one segment; at the very start and the end of the drive
expect_exit 0 nexcut card --from 2026-11-20T08:13:04.450 --to 2026-11-20T08:13:10 -o clips/one.mp4 --json
assert_eq "$(jq -r '.[0].start' "$WORK/out")" 2026-11-20T08:13:04.466
assert_eq "$(frames clips/one.mp4 v:0)" 166
clean clips/one.mp4
expect_exit 0 nexcut card --from 08:11:00 --to 08:12:01 --camera interior -o clips/start.mp4 --json
assert_contains "$WORK/err" "footage starts at"
assert_eq "$(frames clips/start.mp4 v:0)" 30
clean clips/start.mp4
av_sync clips/start.mp4
expect_exit 0 nexcut card --from 08:17:58.5 --to 08:19 --camera interior -o clips/end.mp4 --json
assert_eq "$(jq -r '.[0].end' "$WORK/out")" 2026-11-20T08:18:00.000
assert_eq "$(frames clips/end.mp4 v:0)" 45
clean clips/end.mp4
av_sync clips/end.mp4

# --- --copy starts at the keyframe before the start and says so
expect_exit 0 nexcut card --from 08:13:04.450 --to 08:13:30 --copy -o clips/copy.mp4 --json
assert_contains "$WORK/err" "keyframe at 2026-11-20T08:13:04.000"
assert_eq "$(jq -r '.[0].start' "$WORK/out")" 2026-11-20T08:13:04.000
assert_eq "$(frames clips/copy.mp4 v:0)" 780
clean clips/copy.mp4

# --- event clip, layouts, timelapse, re-encode, still
ev=$(nexls card --events --format ndjson | jq -r .id)
expect_exit 0 nexcut card --event "$ev" --camera both --layout pip -o clips/event.mp4 --preset ultrafast
clean clips/event.mp4
assert_eq "$(frames clips/event.mp4 v:0)" 900   # 20 s before + 10 s after
av_sync clips/event.mp4
expect_exit 0 nexcut card --drive 20261120_081200 --timelapse 30x -o clips/tl.mp4 --preset ultrafast
assert_eq "$(frames clips/tl.mp4 v:0)" 360
clean clips/tl.mp4
expect_exit 0 nexcut card --at 08:15:00 --before 1s --after 1s --camera interior --reencode --crf 30 -o clips/re.mp4
assert_eq "$(frames clips/re.mp4 v:0)" 60
clean clips/re.mp4
av_sync clips/re.mp4
expect_exit 0 nexcut card --still 08:14:00.5 -o clips/still.jpg
assert_eq "$(head -c 12 clips/still.jpg | tail -c 6 | tr -d '\0')" Exif
ffprobe -v error clips/still.jpg || fail "still is not a JPEG"

# --- --items: one clip per nexls line into a folder; a bad line -> exit 3
mkdir items
nexls card --segments --format ndjson | head -2 > segs.ndjson
expect_exit 0 nexcut card --items segs.ndjson -o items --copy
[ -s items/segment_20261120_081200.mp4 ] && [ -s items/segment_20261120_081300.mp4 ] || fail "--items clips missing"
assert_eq "$(frames items/segment_20261120_081300.mp4 v:0)" 1800
{ nexls card --events --format ndjson; echo '{"type":"event","id":"20261120_090000_collision"}'; } \
  | expect_exit 3 nexcut card --items - -o items
[ -s "items/$ev.mp4" ] || fail "event clip from --items missing"
assert_contains "$WORK/err" "no event '20261120_090000_collision'"

# --- a second decoder: GStreamer's demuxer and parser with Cisco's OpenH264
# decoder must give the same pixels as FFmpeg, bit for bit, for a smart cut
# (camera's parameter sets) and for one whose head carries its own (2 SPS/PPS).
if command -v gst-launch-1.0 >/dev/null && gst-inspect-1.0 openh264dec >/dev/null 2>&1; then
  for ps in 0 1; do
    NEX_CUT_DISTINCT_PARAMETER_SETS=$ps nexcut card --from 08:12:59.5 --to 08:13:01 --camera interior \
      -o "clips/gst$ps.mp4" -q >/dev/null
    gst-launch-1.0 -q filesrc location="clips/gst$ps.mp4" ! qtdemux ! h264parse ! openh264dec \
      ! video/x-raw,format=I420 ! filesink location=gst.yuv 2>gst.err || { cat gst.err; fail "GStreamer failed"; }
    ffmpeg -v error -f rawvideo -framerate 30 -pix_fmt yuv420p -s 1280x720 -i gst.yuv -i "clips/gst$ps.mp4" \
      -lavfi "[0][1:v]psnr=stats_file=psnr.log" -f null -
    assert_eq "$(wc -l < psnr.log)" 45
    assert_eq "$(grep -c 'psnr_avg:inf' psnr.log)" 45
    rm -f gst.yuv
  done
else
  echo "note: GStreamer/OpenH264 not installed; second-decoder check skipped" >&2
fi

# --- failures: one line, exit code, nothing under the final name
expect_exit 1 nexcut card --event 20261120_090000_collision -o clips/x.mp4
assert_eq "$(wc -l < "$WORK/err")" 2   # the error and its hint
assert_contains "$WORK/err" "nexcut: error: no event '20261120_090000_collision'"
expect_exit 1 nexcut card --from 2026-11-21T08:00:00 --to +10s -o clips/x.mp4
assert_contains "$WORK/err" "nexcut: error: no footage between"
expect_exit 1 nexcut card --from 08:13:00 --to +10s -o nowhere/x.mp4
assert_contains "$WORK/err" "does not exist"
expect_exit 2 nexcut card --from 8h61 --to +10s -o clips/x.mp4
expect_exit 2 nexcut card --from 08:13:00 --to +10s --copy --reencode -o clips/x.mp4
expect_exit 2 nexcut card -o clips/x.mp4
expect_exit 1 nexcut card --from 08:13:00 --to +1s -o clips/one.mp4   # exists: --force needed
assert_contains "$WORK/err" "file exists"
[ ! -e clips/x.mp4 ] && [ ! -e nowhere ] || fail "output left behind"

# --- Ctrl-C: exit 130, no partial file
# SIGINT once the cut has visibly started (its temporary output exists): from
# there, re-encoding the 6-minute drive at preset medium takes minutes.
nexcut card --drive 20261120_081200 --reencode --preset medium -o clips/int.mp4 2>int.err & pid=$!
cutting() { [ -e "clips/.int.mp4.tmp-$pid" ] || ! kill -0 "$pid" 2>/dev/null; }
wait_for 300 "nexcut to start writing clips/int.mp4" cutting
[ -e "clips/.int.mp4.tmp-$pid" ] || { cat int.err; fail "nexcut ended before it was interrupted"; }
kill -INT $pid; set +e; wait $pid; rc=$?; set -e
assert_eq "$rc" 130 "(interrupted)"
[ ! -e clips/int.mp4 ] || fail "interrupted cut left clips/int.mp4"
! ls -a clips | grep -q '\.tmp-' || fail "temporary file left behind"

# --- power cut: a cut through the truncated segment is refused; salvage rebuilds it
nexsim init cut --model pro --capacity 32G -q
nexsim drive cut --start 2026-11-20T08:12:00 --duration 2m --interior --power-cut -q >/dev/null
nexsim init twin --model pro --capacity 32G -q
nexsim drive twin --start 2026-11-20T08:12:00 --duration 2m --interior -q >/dev/null
expect_exit 1 nexcut cut --from 08:12:50 --to 08:13:10 -o clips/trunc.mp4
assert_contains "$WORK/err" "truncated"
assert_contains "$WORK/err" "nexcut salvage"
[ ! -e clips/trunc.mp4 ] || fail "output left behind"
for tag in 1 2; do
  f=cut/drive/20261120_081300_$tag.mp4
  expect_exit 0 nexcut salvage "$f" -o "clips/salvaged_$tag.mp4" --json
  clean "clips/salvaged_$tag.mp4"
  size=$(stat -c %s "$f")
  # every sample of the intact twin that lies wholly in the bytes the cut file kept
  ffprobe -v error -show_entries packet=codec_type,pos,size -of csv=p=0 "twin/drive/20261120_081300_$tag.mp4" \
    | awk -F, -v s="$size" '$2 + $3 <= s { n[$1]++ } END { print n["video"] + 0, n["audio"] + 0 }' > want
  read -r wv wa < want
  assert_eq "$(jq -r '.[0].video_frames // .video_frames' "$WORK/out")" "$wv"
  assert_eq "$(frames "clips/salvaged_$tag.mp4" v:0)" "$wv"
  [ "$tag" = 2 ] && assert_eq "$(frames "clips/salvaged_$tag.mp4" a:0)" "$wa"
done
expect_exit 1 nexcut salvage twin/drive/20261120_081300_1.mp4 -o clips/nothing.mp4
assert_contains "$WORK/err" "not truncated"
echo "nexcut CLI: all checks passed"
