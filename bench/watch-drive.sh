#!/usr/bin/env bash
# Upload while driving (#17), on a radosgw of its own on 127.0.0.1:
#   1. latency: nexsim records a drive at real time (BENCH_PACE, default 1x;
#      BENCH_MINUTES, default 4) while `nexsync --watch --drives full`
#      follows the card; for each segment, from its close (the rename of its
#      video, the commit point: the file's ctime) to the watcher's report
#      line saying it is backed up (every file HEAD-verified, drive.json
#      written again). Anchor: `rclone copy` of the same segment's files
#      (what a user would otherwise run on each close), best of 3.
#   2. idle: the watcher's CPU use between two segments (from 10 s after a
#      segment's report to just before the next close), in % of one core.
# usage: bench/watch-drive.sh   (NEX_BIN=... to use built tools)
. "$(dirname "$0")/common.sh"
export NEX_CACHE_DIR="${NEX_CACHE_DIR:-$BENCH/cache}"
cd "$BENCH"
bench_s3
pace=${BENCH_PACE:-1x}
minutes=${BENCH_MINUTES:-4}

nexsim init card --model pro --capacity 64G --serial PRO-WATCH -q
nexsim cache --warm >/dev/null 2>&1 || true
rclone copy "$root/README.md" "nex:$B/warm" >/dev/null 2>&1   # the server's first write is slower

# Each report line stamped as it arrives.
nexsync card "s3://$B/w" --watch --drives full --format ndjson 2>w.err \
  > >(while IFS= read -r l; do printf '%s %s\n' "$(date +%s.%N)" "$l"; done > w.out) &
w=$!
sleep 2
nexsim drive card --start 2026-11-20T08:00:00 --duration "${minutes}m" --pace "$pace" -q >/dev/null &
cam=$!
ctime() { python3 -c 'import os,sys; print("%.3f" % (os.stat(sys.argv[1]).st_ctime_ns / 1e9))' "$1"; }
cpu() { awk '{print $14 + $15}' "/proc/$w/stat"; }
reported() {  # reported K: the stamp of the line that first says K segments are backed up
  awk -v k="$1" -v n="$minutes" '
    index($0, "\"id\":\"20261120_080000\"") && (index($0, "still recording: " k " segment") || (k == n && index($0, "\"action\":\"uploaded\""))) { print $1; exit }' w.out
}
lat=() idle=""
for k in $(seq 1 "$minutes"); do
  until [ -n "$(reported "$k")" ]; do sleep 0.05; kill -0 "$w" || { cat w.err; exit 1; }; done
  v=$(printf 'card/drive/%s_1.mp4' "$(date -d "2026-11-20 08:00:00 $((k - 1)) min" +%Y%m%d_%H%M%S)")
  lat+=("$(awk -v a="$(ctime "$v")" -v b="$(reported "$k")" 'BEGIN{printf "%.3f", b - a}')")
  if [ "$k" = 2 ] && [ "$k" -lt "$minutes" ]; then
    # idle: from 10 s after this report to 5 s before the next close
    seg_s=$(awk -v p="${pace%x}" 'BEGIN{print 60 / p}')
    span=$(awk -v s="$seg_s" 'BEGIN{print s - 15}')
    if awk -v s="$span" 'BEGIN{exit !(s >= 10)}'; then
      sleep 10; c0=$(cpu); t0=$(now); sleep "$span"; c1=$(cpu)
      idle=$(awk -v c="$((c1 - c0))" -v hz="$(getconf CLK_TCK)" -v e="$(elapsed "$t0")" 'BEGIN{printf "%.2f", 100 * c / hz / e}')
    fi
  fi
done
wait "$cam"
kill -INT "$w"; wait "$w" || true
median=$(printf '%s\n' "${lat[@]}" | sort -n | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}')

# Anchor: rclone copy of one segment's files (video, thumbnail, sidecars).
mkdir seg && cp card/drive/20261120_080100* seg/
rc() { rclone copy seg "nex:$B/rclone-$RANDOM$RANDOM"; }  # a new prefix each time: rclone skips what is there
best_r=$(best rc)

echo "segments closed -> backed up (s, pace $pace): ${lat[*]}"
echo "median close -> verified: ${median} s; rclone copy of one segment: ${best_r} s (best of 3): $(ratio "$median" "$best_r")x"
echo "watcher CPU between segments: ${idle:-n/a} % of a core"
