#!/usr/bin/env bash
# nexsim emulating other cameras (nexsim init --codec/--fps/--bframes/--gop/
# --container): what ffprobe sees in the footage (codec, frame rate,
# B-frames, keyframe spacing, container brand, audio codec), the burnt-in
# timecode at 29.97 fps, camera.yaml round trip, nexls and nexcut on the
# cards, a power cut in a MOV, bad values refused in one line, and the
# default profile's template unchanged. Templates are cached in
# NEX_CACHE_DIR between runs; the HEVC ones take the longest to make once.
. "$(dirname "$0")/lib.sh"
cd "$WORK"
for cmd in ffmpeg ffprobe jq; do
  command -v "$cmd" >/dev/null || { echo "$cmd missing" >&2; exit 125; }
done

probe() { ffprobe -v error -select_streams "$2" -show_entries "$3" -of default=nw=1:nk=1 "$1"; }
# Key-frame presentation times (s, 3 decimals) of the first N seconds of video.
key_times() {
  ffprobe -v error -select_streams v:0 -read_intervals "%+$2" -show_entries packet=pts_time,flags -of csv=p=0 "$1" |
    awk -F, '$2 ~ /K/ { printf "%.3f\n", $1 }' | sort -n | tr '\n' ' '
}
# Picture types of the first N seconds, e.g. "B I P".
pict_types() {
  ffprobe -v error -select_streams v:0 -read_intervals "%+$2" -show_entries frame=pict_type -of csv=p=0 "$1" |
    sort -u | tr '\n' ' '
}
frames_of() { ffprobe -v error -count_frames -select_streams v:0 -show_entries stream=nb_read_frames -of csv=p=0 "$1"; }

# --- bad values: one line, exit 2, no card left
for bad in "--codec vp9" "--fps 27" "--fps 30000/1000" "--bframes 5" "--bframes -1" "--gop 0s" "--gop 11s" \
           "--gop fast" "--container avi" "--bframes 3 --gop 100ms"; do
  # shellcheck disable=SC2086
  expect_exit 2 nexsim init badcard --model pro --capacity 8G $bad
  assert_eq "$(wc -l < "$WORK/err")" 1 "(lines of the error for $bad)"
  assert_contains "$WORK/err" 'nexsim: error: '
  [ ! -e badcard/camera.yaml ] || fail "$bad left a camera.yaml"
done
expect_exit 2 nexsim init badcard --model pro --capacity 8G --fps 27
assert_contains "$WORK/err" "bad --fps '27': use 24, 25, 30"

# --- the default profile keeps its template (cache key) and explicit
# defaults give the same card, byte for byte, as no options.
nexsim init plain --model pro --capacity 8G --serial SAME >/dev/null
nexsim init explicit --model pro --capacity 8G --serial SAME --codec h264 --fps 30 --bframes 0 --gop 1s \
  --container mp4 >/dev/null
assert_contains explicit/camera.yaml 'codec: h264'
assert_contains explicit/camera.yaml 'fps: "30"'
assert_not_contains plain/camera.yaml 'codec'
for c in plain explicit; do
  expect_exit 0 nexsim drive $c --start 2026-11-20T08:12:00 --duration 20s --seed 5 --quiet
done
[ -f "$NEX_CACHE_DIR/nexfoot-v1-road-day-1920x1080-30fps-gop30-v8000000-noaudio-a64000-60000ms.mp4" ] ||
  fail "the default road template's cache key changed"
cmp plain/drive/20261120_081200_1.mp4 explicit/drive/20261120_081200_1.mp4 || fail "explicit defaults differ"

# --- HEVC, 25 fps, 2 B-frames, MOV with PCM audio (a Novatek-style camera)
expect_exit 0 nexsim init mov --model pro --capacity 8G --serial MOV-1 --codec HEVC --fps 25 --bframes 2 \
  --container mov
for kv in 'codec: hevc' 'fps: "25"' 'bframes: 2' 'container: mov'; do assert_contains mov/camera.yaml "$kv"; done
assert_not_contains mov/camera.yaml 'gop:'
expect_exit 0 nexsim drive mov --start 2026-11-20T08:12:00 --duration 2m --interior --seed 2 --format json
assert_contains "$WORK/out" '"written": 2'
for f in 20261120_081200_1.MOV 20261120_081200_2.MOV 20261120_081300_1.MOV 20261120_081300_2.MOV \
         20261120_081200_1.jpg 20261120_081200.gps 20261120_081200.acc; do
  [ -f "mov/drive/$f" ] || { ls mov/drive; fail "missing $f"; }
done
[ -z "$(ls mov/drive | grep -i '\.mp4$')" ] || fail "mp4 files on a MOV card"
seg=mov/drive/20261120_081200_1.MOV
assert_eq "$(probe $seg v:0 stream=codec_name,codec_tag_string,width,height,r_frame_rate | tr '\n' ' ')" \
  "hevc hvc1 1920 1080 25/1 "
[ "$(probe $seg v:0 stream=has_b_frames)" -ge 1 ] || fail "no B-frames announced in $seg"
assert_contains <(pict_types $seg 3) 'B'
assert_eq "$(key_times $seg 3.5)" "0.000 1.000 2.000 3.000 "
assert_eq "$(probe $seg v:0 format_tags=major_brand)" "qt  "
assert_eq "$(probe $seg v:0 stream=nb_frames)" 1500
int=mov/drive/20261120_081200_2.MOV
assert_eq "$(probe $int a:0 stream=codec_name,codec_tag_string,sample_rate | tr '\n' ' ')" "pcm_s16le sowt 48000 "
assert_eq "$(probe $int v:0 stream=codec_name,width,height,r_frame_rate | tr '\n' ' ')" "hevc 1280 720 25/1 "
# nexls lists the MOV segments with their codec and frame rate; nothing to report
expect_exit 0 nexls mov --segments --format json
assert_eq "$(jq -r '[.[] | .id] | join(" ")' "$WORK/out")" "20261120_081200 20261120_081300"
assert_eq "$(jq -r '[.[] | .road_codec, .road_fps] | unique | join(" ")' "$WORK/out")" "25 hvc1"
assert_eq "$(jq -r '.[0].road' "$WORK/out")" "drive/20261120_081200_1.MOV"
assert_eq "$(jq -r '.[0].audio' "$WORK/out")" "sowt"
expect_exit 0 nexls mov --check
# a clip across the segment boundary holds exactly the frames of [from, to)
expect_exit 0 nexcut mov --from 08:12:58.5 --to 08:13:01.5 --camera road -o mov-cut.mp4 --format json
assert_eq "$(frames_of mov-cut.mp4)" 75 "(frames of a 3 s clip at 25 fps)"
# a power cut leaves the last MOV without its index; nexls says so
expect_exit 0 nexsim drive mov --duration 1m --power-cut --seed 3 --quiet
last=$(ls mov/drive/*_1.MOV | tail -1)
! ffprobe -v error "$last" 2>/dev/null || fail "$last still has its index"
expect_exit 3 nexls mov --check
assert_contains "$WORK/out" "$(basename "$last")"

# --- H.264 at 29.97 fps, 3 B-frames, a keyframe every 2 s, MP4 with AAC
expect_exit 0 nexsim init ntsc --model pro --capacity 8G --serial NTSC-1 --fps 29.97 --bframes 3 --gop 2s
# its templates warmed ahead (nexsim cache --warm CARD): road, interior by
# day and by night, in its format (H.264: quick to make)
expect_exit 0 nexsim cache --warm ntsc --quiet
for t in road-day-1920x1080 interior-day-1280x720 interior-night-1280x720; do
  ls "$NEX_CACHE_DIR"/nexfoot-v1-$t-30000_1001fps-gop60-*-b3.mp4 >/dev/null 2>&1 || fail "no warmed $t template"
done
expect_exit 2 nexsim cache ntsc
assert_contains "$WORK/err" "a CARD is only for --warm"
for kv in 'fps: "30000/1001"' 'bframes: 3' 'gop: 2s'; do assert_contains ntsc/camera.yaml "$kv"; done
assert_not_contains ntsc/camera.yaml 'container:'
expect_exit 0 nexsim drive ntsc --start 2026-11-20T08:12:00 --duration 2m --interior --seed 4 --quiet
seg=ntsc/drive/20261120_081200_1.mp4
assert_eq "$(probe $seg v:0 stream=codec_name,codec_tag_string,profile,r_frame_rate | tr '\n' ' ')" \
  "h264 High avc1 30000/1001 "
[ "$(probe $seg v:0 stream=has_b_frames)" -ge 1 ] || fail "no B-frames announced in $seg"
assert_contains <(pict_types $seg 2) 'B'
assert_eq "$(key_times $seg 6.5)" "0.000 2.002 4.004 6.006 "
assert_eq "$(probe $seg v:0 format_tags=major_brand)" "isom"
# the frames whose time is below 60 s: k * 1001/30000 < 60 for k < 1799
assert_eq "$(probe $seg v:0 stream=nb_frames)" 1799
assert_eq "$(probe ntsc/drive/20261120_081200_2.mp4 a:0 stream=codec_name)" "aac"
# the burnt-in timecode of frame k is its offset k*1001/30 ms, rounded down
ffmpeg -v error -i ntsc/drive/20261120_081300_2.mp4 -frames:v 40 -f rawvideo -pix_fmt gray tc.raw
python3 "$NEX_SOURCE_DIR/tests/harness/timecode.py" 1280 720 tc.raw > tc
python3 -c 'print("\n".join(str(k * 1001 // 30) for k in range(40)))' > tc.want
cmp tc tc.want || fail "timecodes at 29.97 fps: $(diff tc tc.want | head -5)"
expect_exit 0 nexls ntsc --segments --format json
assert_eq "$(jq -r '[.[] | .road_codec] | unique | join(" ")' "$WORK/out")" "avc1"
assert_eq "$(jq -r '.[0].road_fps' "$WORK/out")" "29.97"
expect_exit 0 nexls ntsc --check
# [08:12:58, 08:13:02): 60 frames before the boundary (k = 1739..1798), 60 after (k = 0..59)
expect_exit 0 nexcut ntsc --from 08:12:58 --to 08:13:02 --camera road -o ntsc-cut.mp4 --format json
assert_eq "$(frames_of ntsc-cut.mp4)" 120 "(frames of [08:12:58, 08:13:02) at 29.97 fps)"

# --- camera.yaml round trip and strict parsing
sed -i 's/^fps: .*/fps: "27"/' ntsc/camera.yaml
expect_exit 1 nexsim drive ntsc --duration 1m
assert_contains "$WORK/err" "camera.yaml: bad fps '27'"
echo ok
