#!/usr/bin/env bash
# A new event on a recording camera, to S3 (#13): `nexsim serve --record`
# drives at real time (BENCH_SPEED, default 1x) with hard brakes planned,
# while `nexsync http://CAM s3://… --watch` follows it, to a radosgw of its
# own on 127.0.0.1. An event can be backed up once the camera has closed the
# segment that holds the end of its window (the event + --after 10s): from
# that close (the rename of its videos on the card, their ctime: the moment
# the camera lists them complete) to the watcher's report line saying the
# event is uploaded (both cameras' clips cut, every object verified, the
# manifest written). Target: < 3 s. Anchor: `rclone copy` of the event's
# backed-up folder (what the upload alone costs a user's tool).
# usage: bench/camera-watch.sh   (NEX_BIN=... to use built tools)
. "$(dirname "$0")/common.sh"
export NEX_CACHE_DIR="${NEX_CACHE_DIR:-$BENCH/cache}"
cd "$BENCH"
bench_s3
speed=${BENCH_SPEED:-1x}

nexsim init card --model pro --capacity 64G --serial PRO-CAMW -q
nexsim cache --warm >/dev/null 2>&1 || true
rclone copy "$root/README.md" "nex:$B/warm" >/dev/null 2>&1   # the server's first write is slower
nexsim serve card --listen 127.0.0.1:0 --ready-file ready --record 4m --speed "$speed" \
  --event hard-brake@30s --event hard-brake@1m35s --event collision@2m40s -q 2>serve.err &
for _ in $(seq 200); do [ -s ready ] && break; sleep 0.1; done
CAM=$(cat ready)
# Each report line stamped as it arrives.
nexsync "$CAM" "s3://$B/cw" --watch --format ndjson ${BENCH_VERBOSE:+-v} \
  2> >(while IFS= read -r l; do printf '%s %s\n' "$(date +%s.%N)" "$l"; done > w.err) \
  > >(while IFS= read -r l; do printf '%s %s\n' "$(date +%s.%N)" "$l"; done > w.out) &
w=$!
ctime() { python3 -c 'import os,sys; print("%.3f" % max(os.stat(p).st_ctime_ns / 1e9 for p in sys.argv[1:]))' "$@"; }
reported() { awk -v id="\"id\":\"$1\"" 'index($0, id) && index($0, "\"action\":\"uploaded\"") { print $1; exit }' w.out; }
lat=()
for k in 1 2 3; do
  until [ -s card/events.ndjson ] && [ "$(jq -s length card/events.ndjson)" -ge "$k" ]; do sleep 0.2; done
  ev=$(jq -s -c ".[$((k - 1))]" card/events.ndjson)
  id=$(jq -r .id <<<"$ev")
  until [ -n "$(reported "$id")" ]; do sleep 0.1; kill -0 "$w" || { cat w.err; exit 1; }; done
  # the segment holding the window's end (event + 10 s): the last one that starts at or before it
  end=$(date -d "$(jq -r .time <<<"$ev" | cut -c1-19 | tr T ' ') 10 seconds" +%Y%m%d_%H%M%S)
  seg=$(ls card/drive/*_1.mp4 | xargs -n1 basename | cut -c1-15 | awk -v e="$end" '$1 <= e' | tail -1)
  lat+=("$(awk -v a="$(ctime card/drive/"${seg}"_[12].mp4)" -v b="$(reported "$id")" 'BEGIN{printf "%.3f", b - a}')")
done
kill -INT "$w"; wait "$w" 2>/dev/null || true
[ -z "${BENCH_VERBOSE:-}" ] || cp w.out w.err card/events.ndjson "${BENCH_KEEP:-/tmp}/"
[ -z "${BENCH_VERBOSE:-}" ] || for f in card/drive/*_[12].mp4; do echo "$(ctime "$f") $f"; done > "${BENCH_KEEP:-/tmp}/ctimes"
kill "$(jobs -p)" 2>/dev/null || true
median=$(printf '%s\n' "${lat[@]}" | sort -n | awk 'NR == 2')
# Anchor: rclone copy of the first event's folder as nexsync made it.
mkdir ev && rclone copy "nex:$B/cw/PRO-CAMW/events" ev >/dev/null 2>&1
one=$(ls -d ev/*/ | head -1)
rc() { rclone copy "$one" "nex:$B/rclone-$RANDOM$RANDOM"; }
best_r=$(best rc)
echo "event -> S3 after its last segment closed (s, speed $speed): ${lat[*]}"
echo "median: ${median} s (target < 3 s); rclone copy of one event folder ($(du -sm "$one" | cut -f1) MB): ${best_r} s (best of 3): $(ratio "$median" "$best_r")x"
