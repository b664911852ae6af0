#!/usr/bin/env bash
# foreign_card.sh PROFILE CARD: a card whose footage nex did not write, made
# by the ffmpeg command line in the settings of other cameras' encoders.
# Each segment is encoded on its own (as a camera starts a new file with a
# new IDR), from one continuous synthetic scene (testsrc2: moving, every
# frame different), so consecutive segments join up. Small pictures keep
# the suite fast; the structure (GOPs, B-frames, timescales, containers)
# is what matters. The cards are cached: NEX_FOREIGN_CACHE/<profile>-<hash>.
#
# Profiles: see the table below; each gets a camera.yaml (model pro) and
# drive/<YYYYMMDD_HHMMSS>_1.<ext> (road), plus _2 (interior) for H.264.
#
# What a profile is there to test is also claimed of its files' boxes (table
# C, checked by tests/harness/mp4boxes.py, which reads the boxes itself): the
# sample entries, the track timescales, a ctts box or none, the edit list. A
# card whose files do not hold what the profile claims is not made (a future
# ffmpeg that writes otherwise fails here instead of silently testing less);
# `foreign_card.sh --verify PROFILE CARD` checks an existing card.
set -euo pipefail
verify_only=0; [ "${1:-}" = --verify ] && { verify_only=1; shift; }
profile=$1 card=$2
start_epoch=$(date -u -d 2026-11-20T08:12:00 +%s)

# name        codec  fps         bframes gop(s) open container audio   seglen nseg extra
declare -A P=(
  [h264-high-b3]="h264 30 3 2 0 mp4 aac 20 3 pyramid"
  [h264-main-b1-open]="h264 30000/1001 1 1 1 MOV sowt 20 3 -"
  [h264-baseline-25]="h264 25 0 4 0 mp4 none 20 3 scenecut"
  [h264-high-60]="h264 60 2 0.5 0 mp4 aac 20 2 nopyramid"
  [h264-main-60s]="h264 30 2 2 1 mov twos 60 2 -"
  [hevc-main]="hevc 30 4 1 1 mp4 aac 20 3 hvc1"
  [hevc-main10]="hevc 25 2 2 0 MOV none 20 2 hev1"
  [h264-vfr]="h264 vfr 2 2 0 mp4 aac 20 2 -"
  [h264-b2-180s]="h264 30 2 2 0 mp4 aac 180 2 pyramid"
  [hevc-180s]="hevc 25 3 2 1 MOV none 180 2 hvc1"
  [h264-5b]="h264 30000/1001 3 1 1 mov sowt 10 6 pyramid"
  [hevc-5b]="hevc 30 2 1 1 mp4 none 10 6 hev1"
  [h264-main-lpcm]="h264 30 0 1 0 MOV lpcm 20 2 late-audio"
  [h264-high-noelst]="h264 30 2 1 0 mp4 aac 20 2 noelst"
)
# Claims on every file (v.*) and on the interior's (a.*; "a=none": no audio
# track). elst: the edits, "shift" = media_time > 0 (the B-frame delay cut
# off at the start), "zero" = media_time 0, "empty+zero" = an empty edit
# first (audio starting 40 ms after the video), "none" = no edit list (the
# first frame shown at the B-frame delay, the AAC priming not cut off: what
# cameras that write no edit list record, ffmpeg's -use_editlist 0).
# nexsim writes 90 kHz video timescales; only h264-vfr shares it.
declare -A C=(
  [h264-high-b3]="v.entry=avc1 v.timescale=15360 v.ctts=yes v.elst=shift a.entry=mp4a a.elst=shift"
  [h264-main-b1-open]="v.entry=avc1 v.timescale=30000 v.ctts=yes v.elst=shift a.entry=sowt a.timescale=48000 a.elst=zero"
  [h264-baseline-25]="v.entry=avc1 v.timescale=12800 v.ctts=no v.elst=zero a=none"
  [h264-high-60]="v.entry=avc1 v.timescale=15360 v.ctts=yes v.elst=shift a.entry=mp4a"
  [h264-main-60s]="v.entry=avc1 v.timescale=30000 v.ctts=yes v.elst=shift a.entry=twos a.timescale=48000"
  [hevc-main]="v.entry=hvc1 v.timescale=15360 v.ctts=yes v.elst=shift"
  [hevc-main10]="v.entry=hev1 v.timescale=30000 v.ctts=yes v.elst=shift"
  [h264-vfr]="v.entry=avc1 v.timescale=90000 v.ctts=yes v.elst=shift a.entry=mp4a"
  [h264-b2-180s]="v.entry=avc1 v.timescale=15360 v.ctts=yes v.elst=shift a.entry=mp4a"
  [hevc-180s]="v.entry=hvc1 v.timescale=30000 v.ctts=yes v.elst=shift"
  [h264-5b]="v.entry=avc1 v.timescale=30000 v.ctts=yes v.elst=shift a.entry=sowt"
  [hevc-5b]="v.entry=hev1 v.timescale=15360 v.ctts=yes v.elst=shift"
  [h264-main-lpcm]="v.entry=avc1 v.timescale=30000 v.ctts=no v.elst=zero v.stss=yes a.entry=lpcm a.timescale=96000 a.elst=empty+zero"
  [h264-high-noelst]="v.entry=avc1 v.timescale=15360 v.ctts=yes v.elst=none a.entry=mp4a a.timescale=48000 a.elst=none"
)
spec=${P[$profile]:-}
[ -n "$spec" ] || { echo "foreign_card.sh: unknown profile $profile" >&2; exit 2; }
read -r codec fps bf gop open container audio seglen nseg extra <<<"$spec"
interior=1; [ "$codec" = hevc ] && interior=0
w=480 h=272
# The colour description some cameras write in the SPS's VUI (the others
# write none): BT.709 at video range, and full range as Novatek-based
# cameras and HEVC ones record it (BT.601 / BT.709), so that a smart cut's
# re-encoded pictures are checked to say the same (tests/harness/encparams.py).
declare -A COLOUR=(
  [h264-high-b3]="-color_range tv -color_primaries bt709 -color_trc bt709 -colorspace bt709"
  [h264-main-b1-open]="-color_range pc -color_primaries smpte170m -color_trc smpte170m -colorspace smpte170m"
  [hevc-main]="-color_range pc -color_primaries bt709 -color_trc bt709 -colorspace bt709"
)
# A level above what the picture needs, as cameras signal one level for
# every resolution they record (x264/x265 choose the lowest by themselves).
declare -A LEVEL=([h264-baseline-25]=4.0 [hevc-main10]=4.1)

[ "$verify_only" = 1 ] || mkdir -p "$card/drive"
[ "$verify_only" = 1 ] || printf 'model: pro\nserial: "FOREIGN-%s"\nfirmware: "ffmpeg"\nutc_offset: "+00:00"\ncapacity: 8589934592\n' \
  "${profile^^}" > "$card/camera.yaml"

rate=$fps; [ "$fps" = vfr ] && rate=30
# GOP in frames (the rate's integer part is enough for this).
ifps=$(awk -v r="$rate" 'BEGIN { split(r, a, "/"); v = (a[2] ? a[1] / a[2] : a[1]); printf "%d", v + 0.5 }')
g=$(awk -v s="$gop" -v f="$ifps" 'BEGIN { printf "%d", s * f + 0.5 }')

encode() { # encode SEG_INDEX CAMERA OUT
  local k=$1 cam=$2 out=$3 size=$w"x"$h src vf venc aenc=() ain=()
  [ "$cam" = 2 ] && size=320x240
  local t0=$(( k * seglen ))
  src="testsrc2=size=$size:rate=$rate"
  vf="trim=start=$t0:duration=$seglen,setpts=PTS-STARTPTS"
  if [ "$fps" = vfr ]; then
    # frame times that are not a constant step: drop every 7th frame and
    # jitter the rest (a night-mode camera lowering its rate).
    vf="$vf,select='not(eq(mod(n\,7)\,3))',settb=1/90000,setpts='PTS+270*sin(N)'"
  fi
  case $codec in
    h264)
      local x264="keyint=$g:min-keyint=$(( g > 4 ? g / 2 : 1 )):bframes=$bf"
      [ "$extra" = scenecut ] || x264="$x264:scenecut=0"
      [ "$extra" = pyramid ] && x264="$x264:b-pyramid=normal"
      [ "$extra" = nopyramid ] && x264="$x264:b-pyramid=none"
      [ "$open" = 1 ] && x264="$x264:open-gop=1"
      [ -n "${LEVEL[$profile]:-}" ] && x264="$x264:level=${LEVEL[$profile]}"
      local prof=high; [ "$bf" = 0 ] && prof=baseline; case $profile in *main*) prof=main ;; esac
      venc=(-c:v libx264 -preset veryfast -profile:v "$prof" -b:v 600k -x264-params "$x264")
      if [ "$extra" = scenecut ]; then
        # scene-cut keyframes at irregular places, besides the GOP
        venc+=(-force_key_frames "expr:eq(n,37)+eq(n,211)+eq(n,390)")
      fi ;;
    hevc)
      local x265="keyint=$g:min-keyint=1:bframes=$bf:scenecut=0:log-level=error"
      [ "$open" = 1 ] && x265="$x265:open-gop=1" || x265="$x265:open-gop=0"
      [ -n "${LEVEL[$profile]:-}" ] && x265="$x265:level-idc=${LEVEL[$profile]}"
      local pix=yuv420p; [[ $profile == *main10* ]] && pix=yuv420p10le
      venc=(-c:v libx265 -preset ultrafast -pix_fmt "$pix" -b:v 500k -x265-params "$x265" -tag:v "$extra") ;;
  esac
  # shellcheck disable=SC2206
  venc+=(${COLOUR[$profile]:-})
  if [ "$cam" = 2 ] && [ "$audio" != none ]; then
    # one continuous chirp over the whole card (400 Hz rising 2 Hz a
    # second): no stretch of it repeats, so a clip's audio matches the
    # source's only at its own capture time (tests/harness/framecmp.py --audio)
    local arate=48000 a0=$t0 aoff=()
    [ "$audio" = lpcm ] && arate=96000
    if [ "$extra" = late-audio ]; then
      # the audio starts 40 ms after the video (an empty edit first), at
      # its own capture time
      a0=$(awk -v t="$t0" 'BEGIN { printf "%.2f", t + 0.04 }') aoff=(-itsoffset 0.04)
    fi
    ain=("${aoff[@]}" -f lavfi -i "aevalsrc=0.4*sin(2*PI*(400*t+t*t)):s=$arate,atrim=start=$a0:duration=$seglen,asetpts=PTS-STARTPTS")
    case $audio in
      aac) aenc=(-c:a aac -b:a 64k) ;;
      sowt) aenc=(-c:a pcm_s16le) ;;
      twos) aenc=(-c:a pcm_s16be) ;;
      # ffmpeg's MOV muxer writes the 'lpcm' sample entry (a version 2
      # sound description) for PCM whose rate does not fit 16 bits
      lpcm) aenc=(-c:a pcm_s24le) ;;
    esac
  fi
  local fmt=mp4; [[ ${container,,} == mov ]] && fmt=mov
  local vsync=(); [ "$fps" = vfr ] && vsync=(-fps_mode passthrough -video_track_timescale 90000)
  [ "$extra" = noelst ] && vsync+=(-use_editlist 0)
  # other timescales than nexsim's: MOV at 600 (QuickTime's), 29.97 at 30000
  local ts=(); [ "$fmt" = mov ] && [ "$fps" != vfr ] && ts=(-video_track_timescale 30000)
  local maps=(-map 0:v); [ ${#ain[@]} -gt 0 ] && maps+=(-map 1:a)
  ffmpeg -nostdin -v error -f lavfi -i "$src" "${ain[@]}" -vf "$vf" -t "$seglen" "${venc[@]}" "${aenc[@]}" \
    "${vsync[@]}" "${ts[@]}" "${maps[@]}" -f "$fmt" -y "$out"
}

verify() { # verify FILE CAMERA: the profile's claims hold for FILE
  local claims=() c
  for c in ${C[$profile]}; do
    [[ $c == a* ]] && [ "$2" = 1 ] && continue
    claims+=("$c")
  done
  [ "$2" = 1 ] && claims+=(a=none)
  /usr/bin/python3 "$(dirname "$0")/mp4boxes.py" "$1" "${claims[@]}" >&2 ||
    { echo "foreign_card.sh: $profile: ffmpeg did not write what the profile is for" >&2; exit 1; }
}

ext=$container
for ((k = 0; k < nseg; k++)); do
  name=$(date -u -d "@$(( start_epoch + k * seglen ))" +%Y%m%d_%H%M%S)
  [ "$verify_only" = 1 ] || encode "$k" 1 "$card/drive/${name}_1.$ext"
  verify "$card/drive/${name}_1.$ext" 1
  if [ "$interior" = 1 ]; then
    [ "$verify_only" = 1 ] || encode "$k" 2 "$card/drive/${name}_2.$ext"
    verify "$card/drive/${name}_2.$ext" 2
  fi
done
echo "$card"
