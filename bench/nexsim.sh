#!/usr/bin/env bash
# nexsim: one hour of road + interior footage, against real time and against
# generating the same footage with the ffmpeg command line.
# usage: bench/nexsim.sh [minutes]   (default 60)
. "$(dirname "$0")/common.sh"
minutes=${1:-60}
export NEX_CACHE_DIR="$BENCH/cache"
cd "$BENCH"

t=$(now); nexsim cache --warm -q; warm=$(elapsed "$t")
nexsim init card --model pro --capacity 1T -q
t=$(now)
nexsim drive card --start 2026-11-20T08:00:00 --duration "${minutes}m" --interior --event hard-brake@10m -q >/dev/null
sim=$(elapsed "$t")
bytes=$(du -sb card | cut -f1)

# The ffmpeg CLI making one minute of the same footage: 1080p30 H.264 ~8 Mbit/s
# road, 720p30 H.264 ~3 Mbit/s + AAC interior, same x264 preset as nexsim.
t=$(now)
ffmpeg -v error -y -f lavfi -i "testsrc2=size=1920x1080:rate=30,noise=alls=12:allf=t" -t 60 \
  -c:v libx264 -preset superfast -b:v 8M -maxrate 9.6M -bufsize 16M -g 30 -bf 0 road.mp4
ffmpeg -v error -y -f lavfi -i "testsrc2=size=1280x720:rate=30,noise=alls=12:allf=t" \
  -f lavfi -i "anoisesrc=r=48000:a=0.05" -t 60 -c:v libx264 -preset superfast -b:v 3M -maxrate 3.6M \
  -bufsize 6M -g 30 -bf 0 -c:a aac -b:a 64k -ac 1 interior.mp4
ff=$(elapsed "$t")
ff_total=$(awk -v f="$ff" -v m="$minutes" 'BEGIN{printf "%.1f", f*m}')

echo "nexsim: ${minutes} min of road+interior footage ($(numfmt --to=iec "$bytes")) in ${sim} s"
echo "  real time:      $(ratio $((minutes * 60)) "$sim")x faster than real time"
echo "  ffmpeg CLI:     1 min took ${ff} s, so ${minutes} min ~ ${ff_total} s: nexsim is $(ratio "$ff_total" "$sim")x faster"
echo "  one-time template encode (cache --warm): ${warm} s"
