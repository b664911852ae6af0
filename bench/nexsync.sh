#!/usr/bin/env bash
# nexsync against rclone (what a user would otherwise run), on a radosgw of
# its own on 127.0.0.1:
#   1. throughput: the same card (an 8-minute drive, both cameras, ~690 MB)
#      uploaded by `nexsync --drives full -j 4` and by `rclone copy
#      --transfers 4` (warm page cache, after a warm-up of the server; best
#      of 3 runs each, alternating, a fresh prefix each time; radosgw keeps
#      everything in RAM: the server gets 8 GiB);
#   2. a no-op re-run over ~2,000 files (500 short drives, --drives full);
#   3. --watch latency: from a parking clip's file being closed (its mtime)
#      to nexsync reporting it uploaded and verified.
# usage: bench/nexsync.sh        (NEX_BIN=... to use built tools)
. "$(dirname "$0")/common.sh"
export NEX_CACHE_DIR="${NEX_CACHE_DIR:-$BENCH/cache}"
cd "$BENCH"
NEX_RGW_MEMSTORE_BYTES=$((8 << 30)) bench_s3   # the server keeps the uploads in RAM

# --- 1. throughput
nexsim init card --model pro --capacity 64G --serial PRO-BENCH -q
nexsim drive card --start 2026-11-20T08:00:00 --duration 8m --interior -q >/dev/null
bytes=$(du -sb card/drive | cut -f1)
files=$(ls card/drive | wc -l)
cat card/drive/* > /dev/null
rclone copy card/drive "nex:$B/warm" --transfers 4 >/dev/null 2>&1   # the server's first writes are slower
best_n=999 best_r=999
for i in 1 2 3; do
  rm -rf "$NEX_SYNC_WORK_DIR"   # no hash cache, no state: a first upload
  t=$(now); nexsync card "s3://$B/n$i" --drives full -j 4 -q >/dev/null; e=$(elapsed "$t")
  best_n=$(awk -v a="$best_n" -v c="$e" 'BEGIN{print (c<a)?c:a}')
  t=$(now); rclone copy card/drive "nex:$B/r$i" --transfers 4 >/dev/null 2>&1; e=$(elapsed "$t")
  best_r=$(awk -v a="$best_r" -v c="$e" 'BEGIN{print (c<a)?c:a}')
done
t=$(now); nexsync card "s3://$B/n1" --drives full -j 4 -q >/dev/null; noop_n=$(elapsed "$t")
t=$(now); rclone copy card/drive "nex:$B/r1" --transfers 4 >/dev/null 2>&1; noop_r=$(elapsed "$t")
mbs() { awk -v b="$bytes" -v s="$1" 'BEGIN{printf "%.0f", b/s/1048576}'; }
echo "nexsync: upload of one card ($files files, $(numfmt --to=iec "$bytes")) to radosgw, 4 in flight"
echo "  nexsync --drives full -j 4:     ${best_n} s  ($(mbs "$best_n") MiB/s; hashes, multipart, HEAD-verified)"
echo "  rclone copy --transfers 4:      ${best_r} s  ($(mbs "$best_r") MiB/s)  -> nexsync at $(ratio "$best_r" "$best_n")x rclone's speed"
echo "  no-op re-run: nexsync ${noop_n} s, rclone ${noop_r} s"

# --- 2. a no-op re-run over ~2,000 files: 500 one-second drives (4 files each + a manifest)
nexsim init many --model pro --capacity 256G --serial PRO-MANY -q
nexsim drive many --start 2026-11-20T00:00:00 --duration 1s -q >/dev/null
python3 - <<'PY'
import os, datetime
d = "many/drive"
src = sorted(os.listdir(d))
t0 = datetime.datetime(2026, 11, 20, 0, 0, 0)
for i in range(1, 500):
    key = (t0 + datetime.timedelta(minutes=2 * i)).strftime("%Y%m%d_%H%M%S")
    for f in src:
        os.link(os.path.join(d, f), os.path.join(d, key + f[15:]))
PY
mfiles=$(ls many/drive | wc -l)
nexsync many "s3://$B/many" --drives full -j 4 -q >/dev/null
objects=$(rclone lsf -R --files-only "nex:$B/many" | wc -l)
best=999
for _ in 1 2 3; do
  t=$(now); nexsync many "s3://$B/many" --drives full -q >/dev/null; e=$(elapsed "$t")
  best=$(awk -v a="$best" -v c="$e" 'BEGIN{print (c<a)?c:a}')
done
t=$(now); rclone copy many/drive "nex:$B/rmany" --transfers 4 >/dev/null 2>&1
t=$(now); rclone copy many/drive "nex:$B/rmany" --transfers 4 >/dev/null 2>&1; rnoop=$(elapsed "$t")
echo "nexsync: no-op re-run, card of $mfiles files, backup of $objects objects"
echo "  nexsync (scan + one LIST + compare): ${best} s   rclone copy (same files): ${rnoop} s"

# --- 3. --watch latency
nexsim init live --model pro --capacity 8G --serial PRO-LIVE -q
nexsim drive live --start 2026-11-20T08:00:00 --duration 1m -q >/dev/null
nexsync live "s3://$B/live" --watch --drives none --format ndjson 2>watch.err \
  > >(while IFS= read -r line; do echo "$(date +%s.%N) $line"; done > watch.out) &
wpid=$!
sleep 3
lat=()
for i in 1 2 3 4 5; do
  nexsim park live --duration 30m --incident "impact@$((i + 1))m" -q >/dev/null
  clip=$(ls -t live/drive/*_U.mp4 | head -1)
  id=$(nexls live --events --kind parking-impact --format ndjson | jq -r .id | sort | tail -1)
  for _ in $(seq 100); do grep -q "\"$id\".*\"uploaded\"" watch.out && break; sleep 0.05; done
  done_t=$(grep "\"$id\".*\"uploaded\"" watch.out | head -1 | cut -d' ' -f1)
  closed=$(stat -c %.9Y "$clip")
  lat+=("$(awk -v a="$closed" -v b="$done_t" 'BEGIN{printf "%.2f", b-a}')")
  sleep 1
done
kill -INT "$wpid"
wait "$wpid" 2>/dev/null || true
echo "nexsync --watch: parking clip closed -> uploaded and verified in the cloud: ${lat[*]} s"
