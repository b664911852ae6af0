#!/usr/bin/env bash
# nexcut on footage nex did not write: a 3-minute clip across 4 segments of
# 60 s (from 30.5 s into the first) of 720p footage made by the ffmpeg
# command line, for two cameras' encoders:
#   h264-b3: x264 High, 3 B-frames with B-pyramid, 2 s GOP, 30 fps
#   hevc:    x265 Main, 4 B-frames, CRA open GOPs every 1 s, 30 fps
# Anchors: nexcut --copy, and a full re-encode of the same clip with the
# ffmpeg command line at the source's codec (x264 / x265 at preset ultrafast,
# the most favourable to ffmpeg). The footage is cached in $NEX_CACHE_DIR.
# usage: bench/nexcut-foreign.sh
. "$(dirname "$0")/common.sh"
export NEX_CACHE_DIR="${NEX_CACHE_DIR:-$HOME/.cache/nex}"
cd "$BENCH"
start_epoch=$(date -u -d 2026-11-20T08:12:00 +%s)

make_card() {  # make_card NAME ENCODER-ARGS...
  local name=$1; shift
  local dir="$NEX_CACHE_DIR/bench-foreign/$name"
  if [ ! -f "$dir/.done" ]; then
    rm -rf "$dir"; mkdir -p "$dir/drive"
    printf 'model: pro\nserial: "BENCH-%s"\nutc_offset: "+00:00"\ncapacity: 68719476736\n' "$name" > "$dir/camera.yaml"
    for k in 0 1 2 3; do
      local f; f=$(date -u -d "@$(( start_epoch + k * 60 ))" +%Y%m%d_%H%M%S)_1.mp4
      ffmpeg -nostdin -v error -f lavfi -i "testsrc2=size=1280x720:rate=30" \
        -vf "trim=start=$(( k * 60 )):duration=60,setpts=PTS-STARTPTS" -t 60 "$@" -y "$dir/drive/$f"
    done
    touch "$dir/.done"
  fi
  rm -rf "$name"; cp -r "$dir" "$name"; rm -f "$name/.done"
}
make_card h264-b3 -c:v libx264 -preset veryfast -b:v 4M -x264-params keyint=60:bframes=3:b-pyramid=normal:scenecut=0
make_card hevc -c:v libx265 -preset ultrafast -b:v 3M -tag:v hvc1 \
  -x265-params keyint=30:bframes=4:open-gop=1:scenecut=0:log-level=error


for card in h264-b3 hevc; do
  : > list.txt
  for f in "$card"/drive/*_1.mp4; do echo "file '$PWD/$f'" >> list.txt; done
  from=2026-11-20T08:12:30.500 to=2026-11-20T08:15:30.500
  copy=$(best nexcut "$card" --from $from --to $to --copy -o copy.mp4 -y -q)
  exact=$(best nexcut "$card" --from $from --to $to -o exact.mp4 -y -q)
  enc=(-c:v libx264 -preset ultrafast -b:v 4M)
  [ "$card" = hevc ] && enc=(-c:v libx265 -preset ultrafast -b:v 3M -x265-params log-level=error)
  t=$(now)
  ffmpeg -v error -y -f concat -safe 0 -ss 30.5 -t 180 -i list.txt "${enc[@]}" full.mp4
  full=$(elapsed "$t")
  frames=$(ffprobe -v error -select_streams v -count_packets -show_entries stream=nb_read_packets -of csv=p=0 exact.mp4)
  re=$(nexcut "$card" --from $from --to $to -o exact.mp4 -y --format json 2>/dev/null | jq -r '.[0].reencoded_frames')
  echo "nexcut on $card footage (ffmpeg CLI, 720p30): 3-minute clip across 4 segments ($frames frames, $re re-encoded)"
  echo "  nexcut --copy:                    ${copy} s"
  echo "  nexcut --exact (smart cut):       ${exact} s  -> $(ratio "$exact" "$copy")x --copy (target <= 3x)"
  echo "  ffmpeg full re-encode (ultrafast): ${full} s  -> --exact is $(ratio "$full" "$exact")x faster (target >= 10x)"
done
