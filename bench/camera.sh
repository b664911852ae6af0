#!/usr/bin/env bash
# The camera over Wi-Fi (docs/camera-api.md): pulling a card from
# `nexsim serve` on loopback against `curl` fetching the same files one
# after another; the same pull from a camera whose link carries 20 MiB/s
# (`nexsim serve --rate 20M`, Wi-Fi-like) against that link; and how many bytes `nexcut
# http://cam --event` reads for the clip it writes, against the same cut
# from the card.
#   bench/camera.sh [MINUTES]   (default 12: ~1 GB of road + interior footage)
. "$(dirname "$0")/common.sh"
minutes=${1:-12}
cd "$BENCH"
nexsim init card --model pro --capacity 256G -q
nexsim drive card --start 2026-11-20T08:00:00 --duration "${minutes}m" --interior --event hard-brake@3m -q >/dev/null
bytes=$(cd card && find drive $(ls -d sos 2>/dev/null) -type f -printf '%s\n' | awk '{ s += $1 } END { print s }')
nexsim serve card --listen 127.0.0.1:0 --ready-file ready --max-clients 3 >serve.log 2>&1 &
srv=$!
trap 'kill $srv 2>/dev/null || true; rm -rf "$BENCH"' EXIT
for _ in $(seq 100); do [ -s ready ] && break; sleep 0.1; done
CAM=$(cat ready)
curl -sf "$CAM/api/files" | jq -r '.files[].path' >paths

curl_all() {  # curl_all [curl options]: every listed file, one after another
  rm -rf got && mkdir -p got
  while read -r p; do curl -sf "$@" --create-dirs -o "got/$p" "$CAM/files/$p"; done <paths
}
pull() {  # pull [nexsync options]: the pull phase's own seconds, from nexsync's report
  rm -rf mirror work dest && mkdir dest
  nexsync "$CAM" dest --mirror mirror --work-dir work --drives full --format json "$@" | jq -r .camera.seconds
}
mb=$(awk -v b="$bytes" 'BEGIN{printf "%.0f", b/1e6}')
t=$(now); curl_all; t_curl=$(elapsed "$t")
t_pull=$(pull)
echo "pull ${mb} MB from nexsim serve, loopback: nexsync ${t_pull}s, curl one by one ${t_curl}s:" \
     "nexsync at $(awk -v a="$t_curl" -v b="$t_pull" 'BEGIN{printf "%.2f", a/b}')x curl's throughput"
kill $srv; wait $srv 2>/dev/null || true; rm -f ready
nexsim serve card --listen 127.0.0.1:0 --ready-file ready --rate 20M >serve.log 2>&1 &
srv=$!
for _ in $(seq 100); do [ -s ready ] && break; sleep 0.1; done
CAM=$(cat ready)
t=$(now); curl_all; t_curl20=$(elapsed "$t")
t_pull20=$(pull)
link=$(awk -v b="$bytes" 'BEGIN{printf "%.2f", b/20971520}')
echo "camera link 20 MiB/s (--rate 20M; the link alone: ${link}s): nexsync ${t_pull20}s" \
     "($(awk -v a="$t_pull20" -v b="$link" 'BEGIN{printf "%.1f", (a/b-1)*100}')% over the link), curl ${t_curl20}s"
kill $srv; wait $srv 2>/dev/null || true; rm -f ready
nexsim serve card --listen 127.0.0.1:0 --ready-file ready >serve.log 2>&1 &
srv=$!
for _ in $(seq 100); do [ -s ready ] && break; sleep 0.1; done
CAM=$(cat ready)

# nexcut over the camera: bytes read vs the clip written; time vs the same
# cut from the card plus the transfer of the bytes it read (curl fetching as
# many bytes from the camera's road segments, one after another).
ev=$(nexls card --events --format ndjson | jq -r .id | head -1)
transfer() {  # transfer BYTES: curl fetches BYTES from the camera's files
  local left=$1 p size
  while read -r p size && [ "$left" -gt 0 ]; do
    local n=$((left < size ? left : size))
    curl -sf -r "0-$((n - 1))" -o /dev/null "$CAM/files/$p"
    left=$((left - n))
  done < <(curl -sf "$CAM/api/files" | jq -r '.files[] | select(.path | endswith("_1.mp4")) | "\(.path) \(.size)"')
}
for _ in 1 2 3; do
  t=$(now); nexcut card --event "$ev" -o card.mp4 -q -y >/dev/null; t_card=$(elapsed "$t")
  t=$(now); nexcut "$CAM" --event "$ev" -o cam.mp4 -v -y 2>cut.log >/dev/null; t_cam=$(elapsed "$t")
  read_bytes=$(grep -o 'read [0-9]* bytes' cut.log | awk '{ s += $2 } END { print s + 0 }')
  t=$(now); transfer "$read_bytes"; t_xfer=$(elapsed "$t")
  clip=$(stat -c %s cam.mp4)
  anchor=$(awk -v a="$t_card" -v b="$t_xfer" 'BEGIN{printf "%.3f", a + b}')
  echo "nexcut --event over the camera: read $(awk -v a="$read_bytes" -v b="$clip" 'BEGIN{printf "%.2f", a/b}')x the clip's bytes (${read_bytes} for ${clip});" \
       "${t_cam}s vs ${t_card}s from the card + ${t_xfer}s to transfer those bytes ($(awk -v a="$t_cam" -v b="$anchor" 'BEGIN{printf "%.2f", a/b}')x)"
done
