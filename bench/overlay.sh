#!/usr/bin/env bash
# nexcut --overlay against what it costs on top of and what a user would run:
# the same 30 s 1080p clip with --reencode (the overlay's own cost is the
# difference; target <= 1.3x), and the ffmpeg command line drawing a clock
# with -vf drawtext on the same frames with the same encoder settings (ffmpeg
# knows neither the camera's sidecars nor the segment seams: its text is the
# stream's own pts). Also nexls --report for the event (target < 1 s).
# Each command runs 3 times after a warm-up; the best time counts.
# Measured 2026-12-06 (2 shared cores, release build): --reencode 31.1 s,
# --overlay 31.5 s (1.0x), ffmpeg -vf drawtext 25.7 s (--overlay 1.2x of it:
# nexcut also decodes through its frame reader and draws 5 lines, not 1);
# nexls --report 0.81 s.
# usage: bench/overlay.sh
. "$(dirname "$0")/common.sh"
export NEX_CACHE_DIR="${NEX_CACHE_DIR:-$BENCH/cache}"
cd "$BENCH"
font=/usr/share/fonts/truetype/dejavu/DejaVuSansMono-Bold.ttf
nexsim init card --model pro --capacity 64G --utc-offset +02:00 -q
nexsim drive card --start 2026-11-20T08:12:00 --duration 2m --interior --event hard-brake@45s -q >/dev/null
ev=$(nexls card --events --kind hard-brake --format ndjson | head -1 | sed 's/.*"id":"\([^"]*\)".*/\1/')
# 30 s inside the first segment, so ffmpeg reads one file as nexcut does
sel=(card --from 08:12:20 --to +30s)

reencode=$(best nexcut "${sel[@]}" --reencode --no-audio -o re.mp4 -y -q)
overlay=$(best nexcut "${sel[@]}" --overlay time,speed,g,gps,event --overlay-ms --no-audio -o ov.mp4 -y -q)
ffdraw=$(best ffmpeg -v error -y -ss 20 -t 30 -i card/drive/20261120_081200_1.mp4 -an \
  -vf "drawtext=fontfile=$font:text='%{pts\\:hms}':fontsize=40:fontcolor=white:box=1:boxcolor=black:x=24:y=144" \
  -c:v libx264 -preset veryfast -crf 21 ff.mp4)
report=$(best nexls card --report "$ev" -o report.html)

echo "nexcut --overlay: 30 s of 1080p road footage (900 frames), libx264 veryfast CRF 21, no audio"
echo "  nexcut --reencode:                          ${reencode} s"
echo "  nexcut --overlay time,speed,g,gps,event:    ${overlay} s  -> $(ratio "$overlay" "$reencode")x of --reencode (target <= 1.3x)"
echo "  ffmpeg -vf drawtext (pts clock only):       ${ffdraw} s  -> nexcut --overlay is $(ratio "$overlay" "$ffdraw")x of it"
echo "nexls --report (6 stills, 30 s of charts, 8 files hashed): ${report} s (target < 1 s)"
