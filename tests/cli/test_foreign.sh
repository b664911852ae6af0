#!/usr/bin/env bash
# Footage nex did not write: cards made by the ffmpeg command line in other
# cameras' settings (tests/harness/foreign_card.sh: H.264 with B-frames,
# B-pyramid and open GOPs, H.264 Baseline with scene-cut keyframes, HEVC
# Main (hvc1, CRA open GOPs) and Main10 (hev1), 25 / 29.97 / 30 / 60 fps and
# variable frame rate, MP4 and MOV, AAC, PCM (sowt, twos, lpcm) or no
# audio, B-frames in an MP4 without an edit list (the first frame shown at
# the B-frame delay, the AAC priming kept); the boxes each profile is for
# are checked when its card is used).
# For each: nexls lists the real codec, frame rate and audio; nexcut's
# clips (and nexsync's: a clip and a timelapse to a folder) are checked against the source by an independent decoder
# (tests/harness/framecmp.py: every frame at the same capture time, copied
# frames bit-identical, the interior's sound the source's at the same
# capture time across every seam, GStreamer agrees), in every mode; bad
# input is refused in one line.
. "$(dirname "$0")/lib.sh"
cd "$WORK"
for cmd in ffmpeg ffprobe jq gst-launch-1.0; do
  command -v "$cmd" >/dev/null || { echo "$cmd missing" >&2; exit 125; }
done
/usr/bin/python3 -c 'import numpy' 2>/dev/null || { echo "python3-numpy missing" >&2; exit 125; }
gst-inspect-1.0 avdec_h265 >/dev/null 2>&1 || { echo "gstreamer1.0-libav missing" >&2; exit 125; }
harness="$NEX_SOURCE_DIR/tests/harness"
cmp_frames() { /usr/bin/python3 "$harness/framecmp.py" "$@" > cmp.out || fail "framecmp $*"; echo "framecmp $3 $5: $(cat cmp.out)"; }

clean() {
  ffmpeg -v error -i "$1" -f null - 2>dec.err
  [ ! -s dec.err ] || { cat dec.err; fail "ffmpeg cannot decode $1 cleanly"; }
}
# gst_plays CLIP: GStreamer decodes as many frames as FFmpeg, and the audio
gst_plays() { /usr/bin/python3 "$harness/framecmp.py" --gst-only "$1" > cmp.out || fail "GStreamer on $1"; }
# exact CARD CAMERA FROM TO OUT [framecmp args]: an exact clip, checked frame by frame.
exact() {
  local card=$1 cam=$2 from=$3 to=$4 out=$5; shift 5
  expect_exit 0 nexcut "$card" --from "$from" --to "$to" --camera "$cam" -o "$out" --format json
  local n r
  n=$(jq -r '.[0].frames' "$WORK/out"); r=$(jq -r '.[0].reencoded_frames' "$WORK/out")
  clean "$out"
  cmp_frames "$card" "$cam" "2026-11-20T$from" "2026-11-20T$to" "$out" --copied $((n - r)) --gst "$@"
  assert_eq "$(jq -r .frames cmp.out)" "$n" "($card $from-$to: frames nexcut reported)"
  # a smart cut, not a re-encode: at least half of a clip of 15 s or more is copied
  [ "$n" -lt 400 ] || [ $((2 * r)) -lt "$n" ] || fail "$card $from-$to: $r of $n frames re-encoded"
  # the source's codec, profile and pixel format
  local src; src=$(ls "$card"/drive/*_"$([ "$cam" = road ] && echo 1 || echo 2)".* | head -1)
  assert_eq "$(vparams "$out")" "$(vparams "$src")" "($card $from-$to: codec, profile, pixel format)"
}
vparams() { ffprobe -v error -select_streams v:0 -show_entries stream=codec_name,profile,pix_fmt -of csv=p=0 "$1"; }

declare -A CODEC=([h264-high-noelst]=h264 [h264-high-b3]=h264 [h264-main-b1-open]=h264 [h264-baseline-25]=h264 [h264-high-60]=h264
  [hevc-main]=hevc [hevc-main10]=hevc [h264-vfr]=h264 [h264-main-60s]=h264
  [h264-b2-180s]=h264 [hevc-180s]=hevc [h264-5b]=h264 [hevc-5b]=hevc [h264-main-lpcm]=h264)
declare -A FPS=([h264-high-noelst]=30 [h264-high-b3]=30 [h264-main-b1-open]=29.97 [h264-baseline-25]=25 [h264-high-60]=60
  [hevc-main]=30 [hevc-main10]=25 [h264-vfr]=any [h264-main-60s]=30
  [h264-b2-180s]=30 [hevc-180s]=25 [h264-5b]=29.97 [hevc-5b]=30 [h264-main-lpcm]=30)
declare -A SEGS=([h264-high-noelst]=2 [h264-high-b3]=3 [h264-main-b1-open]=3 [h264-baseline-25]=3 [h264-high-60]=2
  [hevc-main]=3 [hevc-main10]=2 [h264-vfr]=2 [h264-main-60s]=2
  [h264-b2-180s]=2 [hevc-180s]=2 [h264-5b]=6 [hevc-5b]=6 [h264-main-lpcm]=2)
# the interior's audio as nexls names it (its sample entry; null: none)
declare -A AUDIO=([h264-high-noelst]=mp4a [h264-high-b3]=mp4a [h264-main-b1-open]=sowt [h264-baseline-25]=null [h264-high-60]=mp4a
  [h264-vfr]=mp4a [h264-main-60s]=twos [h264-b2-180s]=mp4a [h264-5b]=sowt [h264-main-lpcm]=lpcm)
declare -A SEGLEN=([h264-main-60s]=60 [h264-b2-180s]=180 [hevc-180s]=180 [h264-5b]=10 [hevc-5b]=10)
# what the road camera's SPS signals where foreign_card.sh gives it more than
# the encoder's defaults: colour (VUI full range flag, colour primaries) and
# a level above the lowest that fits (level_idc)
declare -A VUI=([h264-high-b3]="0 1" [h264-main-b1-open]="1 6" [hevc-main]="1 1")
declare -A LEVEL=([h264-baseline-25]=40 [hevc-main10]=123)
# at SECONDS: the camera time SECONDS after 08:12:00 (HH:MM:SS.f)
at() { date -u -d "@$(( $(date -u -d 2026-11-20T08:12:00 +%s) + ${1%.*} ))" +%H:%M:%S.${1#*.}; }

# NEX_FOREIGN_PROFILES="a b" runs only those (test_foreign_more.sh runs the
# other half, so that ctest spreads them over two cores); NEX_FOREIGN_BAD=0
# leaves the bad-input part out.
for p in ${NEX_FOREIGN_PROFILES:-h264-high-b3 h264-main-b1-open h264-baseline-25 h264-high-60}; do
  echo "--- $p"
  foreign_card "$p"
  interior=0; ls "$p"/drive/*_2.* >/dev/null 2>&1 && interior=1
  # the interior's clips are checked for sound too (continuous and in sync at every seam)
  aud=(); [ "$interior" = 1 ] && [ "${AUDIO[$p]}" != null ] && aud=(--audio)

  # nexls: every segment, its real codec and frame rate; one drive; nothing wrong but missing sidecars
  expect_exit 0 nexls "$p" --segments --format ndjson
  assert_eq "$(wc -l < "$WORK/out")" "${SEGS[$p]}" "($p: segments listed)"
  assert_eq "$(jq -r .codec "$WORK/out" | sort -u)" "${CODEC[$p]}" "($p: codec)"
  if [ "${FPS[$p]}" != any ]; then
    jq -e --argjson f "${FPS[$p]}" '(.fps - $f) | fabs < 0.01' "$WORK/out" >/dev/null ||
      fail "$p: frame rate $(jq -r .fps "$WORK/out" | head -1), expected ${FPS[$p]}"
  fi
  if [ "$interior" = 1 ]; then
    assert_eq "$(jq -r .audio "$WORK/out" | sort -u)" "${AUDIO[$p]}" "($p: audio)"
  fi
  seglen=${SEGLEN[$p]:-20}
  # the real durations (the cards' segments are SEGLEN long), and the files' sizes
  jq -e --argjson l "$seglen" '(.duration_s - $l) | fabs < 0.1' "$WORK/out" >/dev/null ||
    fail "$p: segment durations $(jq -r .duration_s "$WORK/out" | tr '\n' ' '), expected $seglen s"
  while read -r id bytes; do
    assert_eq "$bytes" "$(cat "$p"/drive/"$id"_* | wc -c)" "($p $id: bytes)"
  done < <(jq -r '"\(.id) \(.bytes)"' "$WORK/out")
  expect_exit 0 nexls "$p" --format ndjson
  assert_eq "$(wc -l < "$WORK/out")" 1 "($p: one drive: segments join on their real durations)"
  jq -e --argjson d "$(( ${SEGS[$p]} * seglen ))" '(.duration_s - $d) | fabs < 0.2' "$WORK/out" >/dev/null ||
    fail "$p: the drive lasts $(jq -r .duration_s "$WORK/out") s, expected $(( ${SEGS[$p]} * seglen ))"
  set +e; nexls "$p" --check --format json > check.json; rc=$?; set -e
  [ "$rc" = 0 ] || [ "$rc" = 3 ] || fail "$p: nexls --check exited $rc"
  other=$(jq -r '.findings[] | select(.severity != "info" and .code != "missing-sidecar") | "\(.code) \(.path) \(.message)"' check.json)
  [ -z "$other" ] || fail "$p: nexls --check reports $other"

  # exact: inside one segment, across one boundary, across every boundary
  exact "$p" road 08:12:03.3 08:12:09.1 "$p-in.mp4"
  # its re-encoded head coded like the camera's pictures: the same profile,
  # level, colour description and aspect ratio, at the camera's bitrate
  # (tests/harness/encparams.py reads the parameter sets itself)
  r=$(jq -r '.[0].reencoded_frames' "$WORK/out")
  /usr/bin/python3 "$harness/encparams.py" "$p" road 2026-11-20T08:12:03.3 2026-11-20T08:12:09.1 "$p-in.mp4" \
    --same-level > enc.out || fail "$p: the re-encoded pictures are not coded like the camera's"
  echo "encparams $p: $(cat enc.out)"
  assert_eq "$(jq -r .reencoded_frames enc.out)" "$r" "($p: re-encoded frames found by their bytes)"
  [ "$r" -gt 0 ] || fail "$p: nothing re-encoded to check"
  jq -e '[.runs[] | select(.checked)] | length > 0' enc.out >/dev/null || fail "$p: no re-encoded run long enough for its bitrate"
  if [ -n "${VUI[$p]:-}" ]; then
    assert_eq "$(jq -r '"\(.camera_sps.full_range) \(.camera_sps.primaries)"' enc.out)" "${VUI[$p]}" "($p: the card's colour)"
  fi
  if [ -n "${LEVEL[$p]:-}" ]; then
    assert_eq "$(jq -r .camera_sps.level enc.out)" "${LEVEL[$p]}" "($p: the card's level)"
  fi
  exact "$p" road "$(at $((seglen - 8)).4)" "$(at $((seglen + 7)).9)" "$p-one.mp4"
  last=$(( ${SEGS[$p]} * seglen ))
  to=$(at $((last - 1)).3)
  if [ "$interior" = 1 ]; then
    exact "$p" road 08:12:05.55 "$to" "$p-all.mp4"
    exact "$p" interior 08:12:05.55 "$to" "$p-all-i.mp4" "${aud[@]}"
    # both cameras in one call: the same frames (and sound) as each alone
    expect_exit 0 nexcut "$p" --from 08:12:12.4 --to 08:12:27.9 --camera both -o "$p-both.mp4" --format json
    clean "$p-both_road.mp4"; clean "$p-both_interior.mp4"
    cmp_frames "$p" road 2026-11-20T08:12:12.400 2026-11-20T08:12:27.900 "$p-both_road.mp4" --gst
    cmp_frames "$p" interior 2026-11-20T08:12:12.400 2026-11-20T08:12:27.900 "$p-both_interior.mp4" --gst "${aud[@]}"
    if [ ${#aud[@]} -gt 0 ]; then
      # --copy of the interior: the copied pictures, and the sound under them across the seam
      expect_exit 0 nexcut "$p" --from 08:12:12.4 --to 08:12:27.9 --copy --camera interior -o "$p-copy-i.mp4" --format json
      s=$(jq -r '.[0].start' "$WORK/out"); e=$(jq -r '.[0].end' "$WORK/out"); n=$(jq -r '.[0].frames' "$WORK/out")
      clean "$p-copy-i.mp4"
      cmp_frames "$p" interior "$s" "$e" "$p-copy-i.mp4" --copied "$n" --audio
    fi
    case ${AUDIO[$p]} in sowt | twos | lpcm)
      # a QuickTime clip (-o .MOV) of PCM footage keeps the camera's PCM (its
      # codec and sample format), cut on sample boundaries across the seam:
      # every frame's sound the source's sample for sample (correlation 1,
      # SNR at framecmp's 99 dB cap); an MP4 clip of the same footage has AAC
      acodec() { ffprobe -v error -select_streams a -show_entries stream=codec_name -of csv=p=0 "$1"; }
      expect_exit 0 nexcut "$p" --from 08:12:12.4 --to 08:12:27.9 --camera interior -o "$p-pcm.MOV" --format json
      clean "$p-pcm.MOV"
      assert_eq "$(ffprobe -v error -show_entries format_tags=major_brand -of csv=p=0 "$p-pcm.MOV" | tr -d ' ')" qt \
        "($p: a QuickTime clip)"
      assert_eq "$(acodec "$p-pcm.MOV")" "$(acodec "$(ls "$p"/drive/*_2.* | head -1)")" "($p: the source's PCM)"
      cmp_frames "$p" interior 2026-11-20T08:12:12.400 2026-11-20T08:12:27.900 "$p-pcm.MOV" --gst --audio
      assert_eq "$(jq -r '"\(.audio_min_corr) \(.audio_median_snr)"' cmp.out)" "1 99" "($p: the source's samples)"
      assert_eq "$(acodec "$p-all-i.mp4")" aac "($p: an MP4 clip's sound)"
      rm -f "$p-pcm.MOV" ;;
    esac
  else
    exact "$p" road 08:12:05.55 "$to" "$p-all.mp4"
  fi

  # --copy: from the keyframe at or before the start, every frame bit-identical
  expect_exit 0 nexcut "$p" --from 08:12:12.4 --to 08:12:27.9 --copy -o "$p-copy.mp4" --format json
  s=$(jq -r '.[0].start' "$WORK/out"); e=$(jq -r '.[0].end' "$WORK/out"); n=$(jq -r '.[0].frames' "$WORK/out")
  [[ "$s" < "2026-11-20T08:12:12.401" ]] || fail "$p: --copy starts at $s, after the start"
  # and says so
  [ "$s" = 2026-11-20T08:12:12.400 ] || assert_contains "$WORK/err" "the clip starts at the keyframe at"
  clean "$p-copy.mp4"
  cmp_frames "$p" road "$s" "$e" "$p-copy.mp4" --copied "$n" --gst

  # --reencode (the whole clip through x264): the same frames, re-encoded
  expect_exit 0 nexcut "$p" --from 08:12:12.4 --to 08:12:27.9 --reencode -o "$p-re.mp4" --format json
  clean "$p-re.mp4"
  cmp_frames "$p" road 2026-11-20T08:12:12.400 2026-11-20T08:12:27.900 "$p-re.mp4" --gst
  # the default keeps the footage's codec; --codec picks the other
  vcodec() { ffprobe -v error -select_streams v -show_entries stream=codec_name -of csv=p=0 "$1"; }
  assert_eq "$(vcodec "$p-re.mp4")" "${CODEC[$p]}" "($p: --reencode keeps the codec)"
  if [ "${CODEC[$p]}" = hevc ]; then
    expect_exit 0 nexcut "$p" --from 08:12:12.4 --to 08:12:17.9 --codec h264 -o "$p-h264.mp4"
    assert_contains "$WORK/err" "re-encoding the whole clip"
    assert_eq "$(vcodec "$p-h264.mp4")" h264 "($p: --codec h264)"
    clean "$p-h264.mp4"
    cmp_frames "$p" road 2026-11-20T08:12:12.400 2026-11-20T08:12:17.900 "$p-h264.mp4" --gst
  fi

  # --timelapse, --layout, --still: made, and decodable
  expect_exit 0 nexcut "$p" --from 08:12:00 --to 08:12:30 --timelapse 10 -o "$p-tl.mp4" --format json
  clean "$p-tl.mp4"; gst_plays "$p-tl.mp4"
  tl=$(jq -r '.[0].frames' "$WORK/out")
  [ "$tl" -ge 2 ] || fail "$p: timelapse of $tl frames"
  if [ "$interior" = 1 ]; then
    expect_exit 0 nexcut "$p" --from 08:12:12.4 --to 08:12:17.9 --layout pip --camera both -o "$p-pip.mp4"
    clean "$p-pip.mp4"; gst_plays "$p-pip.mp4"
  fi
  expect_exit 0 nexcut "$p" --still 08:12:21.5 -o "$p.jpg"
  [ -s "$p.jpg" ] || fail "$p: no still"

  # nexsync's clips and drive timelapses come out of the same code: a clip
  # and a timelapse backed up to a folder, the clip checked like nexcut's
  export NEX_SYNC_WORK_DIR="$WORK/sync-state" NEX_CONFIG="$WORK/sync-config.yaml"
  : > "$NEX_CONFIG"; rm -rf backup
  expect_exit 0 nexsync "$p" "$WORK/backup" --clip 08:12:12.4/08:12:27.9=x --drives timelapse
  c=$(ls -d backup/*/clips/*_x)
  clean "$c/road.mp4"
  cmp_frames "$p" road 2026-11-20T08:12:12.400 2026-11-20T08:12:27.900 "$c/road.mp4" --gst
  if [ "$interior" = 1 ]; then
    clean "$c/interior.mp4"
    cmp_frames "$p" interior 2026-11-20T08:12:12.400 2026-11-20T08:12:27.900 "$c/interior.mp4" --gst "${aud[@]}"
  fi
  tl=$(ls backup/*/drives/*/road-timelapse.mp4) || fail "$p: nexsync made no timelapse"
  clean "$tl"; gst_plays "$tl"
  rm -f "$p"-*.mp4   # keep $WORK small
done

if [ "${NEX_FOREIGN_BAD:-1}" = 0 ]; then echo "foreign footage: ok"; exit 0; fi
# --- bad input: one error line naming the file, exit 1, nothing left behind
foreign_card h264-high-b3
mkdir -p mixed/drive; cp h264-high-b3/camera.yaml mixed/
cp h264-high-b3/drive/20261120_081200_1.mp4 mixed/drive/
# the next segment from another camera: HEVC
foreign_card hevc-main
cp hevc-main/drive/20261120_081220_1.mp4 mixed/drive/
# a codec change at a boundary: only the segment in the other codec is
# re-encoded (a warning names it), into the first's codec; the rest is cut
# as usual (the copied frames bit-identical), in --exact and in --copy
mixed_clip() { # CARD MODE CODEC OUT [framecmp args]: a clip across the change, checked
  local card=$1 mode=$2 codec=$3 out=$4 n r s e; shift 4
  expect_exit 0 nexcut "$card" --from 08:12:15 --to 08:12:25 --$mode -o "$out" --format json
  n=$(jq -r '.[0].frames' "$WORK/out"); r=$(jq -r '.[0].reencoded_frames' "$WORK/out")
  s=$(jq -r '.[0].start' "$WORK/out"); e=$(jq -r '.[0].end' "$WORK/out")
  assert_eq "$(ffprobe -v error -select_streams v -show_entries stream=codec_name -of csv=p=0 "$out")" "$codec" "($card: the clip's codec)"
  [ "$r" -lt "$n" ] && [ "$r" -ge 150 ] || fail "$card --$mode: $r of $n frames re-encoded"
  clean "$out"
  cmp_frames "$card" road "$s" "$e" "$out" --copied $((n - r)) --gst "$@"
}
mixed_clip mixed exact h264 mixed.mp4
assert_contains "$WORK/err" "20261120_081220_1.mp4 is hevc, the clip h264: its 150 frame(s) in the clip are re-encoded"
! grep -q "whole clip" "$WORK/err" || fail "the whole clip re-encoded"
mixed_clip mixed copy h264 mixed-copy.mp4
# the other way round: an HEVC clip, the H.264 segment re-encoded
mkdir -p mixed2/drive; cp h264-high-b3/camera.yaml mixed2/
cp hevc-main/drive/20261120_081200_1.mp4 mixed2/drive/
cp h264-high-b3/drive/20261120_081220_1.mp4 mixed2/drive/
mixed_clip mixed2 exact hevc mixed2.mp4
assert_contains "$WORK/err" "20261120_081220_1.mp4 is h264, the clip hevc"
# H.264 from another camera (29.97 fps, a 1/30000 time base, MOV, full-range
# BT.601): its parameter sets differ, so it is re-encoded, its pictures
# moved into the clip's video-range BT.709 (compared by their RGB's luma);
# the two time bases share the clip's timeline (1/90000)
foreign_card h264-main-b1-open
mkdir -p mixed3/drive; cp h264-high-b3/camera.yaml mixed3/
cp h264-high-b3/drive/20261120_081200_1.mp4 mixed3/drive/
cp h264-main-b1-open/drive/20261120_081220_1.MOV mixed3/drive/
mixed_clip mixed3 exact h264 mixed3.mp4 --rgb
assert_contains "$WORK/err" "has other H.264 parameter sets than 20261120_081200_1.mp4"
assert_eq "$(ffprobe -v error -select_streams v -show_entries stream=time_base -of csv=p=0 mixed3.mp4)" 1/90000 "(the clip's time base)"
# HEVC of the same profile and colour description with other parameter
# sets (2 B-frames, 0.5 s GOPs): copied, with its parameter sets in-band
# (hev1) and an end of sequence before it; nothing re-encoded but the head
# and a tail
mkdir -p mixed4/drive; cp h264-high-b3/camera.yaml mixed4/
cp hevc-main/drive/20261120_081200_1.mp4 mixed4/drive/
ffmpeg -nostdin -v error -f lavfi -i testsrc2=size=480x272:rate=30 -t 10 -c:v libx265 -tag:v hvc1 \
  -color_range pc -color_primaries bt709 -color_trc bt709 -colorspace bt709 \
  -x265-params log-level=error:keyint=15:min-keyint=15:bframes=2:scenecut=0 mixed4/drive/20261120_081220_1.mp4
expect_exit 0 nexcut mixed4 --from 08:12:15.5 --to 08:12:25 -o mixed4.mp4 --format json
n=$(jq -r '.[0].frames' "$WORK/out"); r=$(jq -r '.[0].reencoded_frames' "$WORK/out")
[ "$r" -lt 30 ] || fail "mixed4: $r of $n frames re-encoded"
! grep -q "are re-encoded" "$WORK/err" || fail "mixed4: a segment re-encoded"
assert_eq "$(ffprobe -v error -select_streams v -show_entries stream=codec_tag_string -of csv=p=0 mixed4.mp4)" hev1 "(in-band parameter sets)"
clean mixed4.mp4
cmp_frames mixed4 road 2026-11-20T08:12:15.500 2026-11-20T08:12:25.000 mixed4.mp4 --copied $((n - r)) --gst
# the same segment stating no colour description (ffmpeg's default: video
# range, as decoders take it) in the full-range clip: re-encoded, its
# pictures moved into the clip's range
mkdir -p mixed5/drive; cp mixed4/camera.yaml mixed5/; cp mixed4/drive/20261120_081200_1.mp4 mixed5/drive/
ffmpeg -nostdin -v error -f lavfi -i testsrc2=size=480x272:rate=30 -t 10 -c:v libx265 -tag:v hvc1 \
  -x265-params log-level=error:keyint=15:min-keyint=15:bframes=2:scenecut=0 mixed5/drive/20261120_081220_1.mp4
mixed_clip mixed5 exact hevc mixed5.mp4
assert_contains "$WORK/err" "20261120_081220_1.mp4 has another colour description than 20261120_081200_1.mp4"
# a mid-drive change of picture size (480x272 -> 320x240, H.264 both): one
# error line naming the file and both sizes, exit 1, nothing left behind (a
# clip on either side of the change is made as usual)
mkdir -p resized/drive; cp h264-high-b3/camera.yaml resized/
cp h264-high-b3/drive/20261120_081200_1.mp4 resized/drive/
cp h264-high-b3/drive/20261120_081220_2.mp4 resized/drive/20261120_081220_1.mp4
for m in exact copy reencode; do
  expect_exit 1 nexcut resized --from 08:12:15 --to 08:12:25 --$m -o resized.mp4
  assert_eq "$(grep -c 'error:' "$WORK/err")" 1 "(one error line, --$m)"
  assert_contains "$WORK/err" "drive/20261120_081220_1.mp4 is 320x240, the footage before it 480x272"
  [ ! -e resized.mp4 ] || fail "output left behind (--$m)"
  ! ls -a | grep -q '\.tmp-' || fail "temporary file left behind (--$m)"
done
expect_exit 0 nexcut resized --from 08:12:21 --to 08:12:25 -o resized.mp4
assert_eq "$(ffprobe -v error -show_entries stream=width,height -of csv=p=0 resized.mp4)" "320,240"
clean resized.mp4
# ProRes (intra-only, not for MP4): re-encoded, with a warning saying why
mkdir -p odd/drive; cp h264-high-b3/camera.yaml odd/
ffmpeg -nostdin -v error -f lavfi -i testsrc2=size=320x240:rate=25 -t 3 -c:v prores_ks -f mov odd/drive/20261120_081200_1.mov
expect_exit 0 nexcut odd --from 08:12:00.5 --to 08:12:02 -o odd.mp4
assert_contains "$WORK/err" "prores"
clean odd.mp4
cmp_frames odd road 2026-11-20T08:12:00.500 2026-11-20T08:12:02.000 odd.mp4
# a codec this FFmpeg cannot decode (the sample entry renamed): one error line naming the file
sed 's/avc1/qq42/g' h264-high-b3/drive/20261120_081200_1.mp4 > odd/drive/20261120_081200_1.mov
expect_exit 1 nexcut odd --from 08:12:00.5 --to 08:12:02 -o odd2.mp4
assert_eq "$(grep -c 'error:' "$WORK/err")" 1 "(one error line)"
assert_contains "$WORK/err" "20261120_081200_1.mov"
assert_contains "$WORK/err" "no decoder"
[ ! -e odd2.mp4 ] || fail "output left behind"
! ls -a | grep -q '\.tmp-' || fail "temporary file left behind"
echo "foreign footage: ok"
