#!/usr/bin/env bash
# nexsync --encrypt against nexsync without it, on a radosgw of its own on
# 127.0.0.1: the same card (an 8-minute drive, both cameras, ~690 MB) backed
# up with `--drives full -j 4`, plain and encrypted (AES-256-GCM, sealed on
# the fly per part), alternating, a fresh prefix and work dir each time, best
# of 5 each (warm page cache, after a warm-up of the server). Then a pull of
# the backup, plain and encrypted (every chunk authenticated). The issue's
# bar: encrypted throughput >= 0.9x unencrypted.
# usage: bench/nexsync-encrypt.sh   (NEX_BIN=... to use built tools; NEX_BENCH_RUNS=5)
. "$(dirname "$0")/common.sh"
export NEX_CACHE_DIR="${NEX_CACHE_DIR:-$BENCH/cache}"
command -v openssl >/dev/null || { echo "openssl missing" >&2; exit 1; }
cd "$BENCH"
rgw="$BENCH/rgw"
NEX_RGW_MEMSTORE_BYTES=$((8 << 30)) "$root/scripts/radosgw" start "$rgw" >/dev/null 2>&1 ||
  { echo "cannot start radosgw" >&2; exit 1; }
trap '"$root/scripts/radosgw" stop "$rgw" >/dev/null 2>&1; rm -rf "$BENCH"' EXIT
. "$rgw/env"
export NEX_SYNC_WORK_DIR="$BENCH/work" NEX_CONFIG=/dev/null
B=$NEX_S3_BUCKET
runs=${NEX_BENCH_RUNS:-5}
openssl rand -hex 32 > key

nexsim init card --model pro --capacity 64G --serial PRO-BENCH -q
nexsim drive card --start 2026-11-20T08:00:00 --duration 8m --interior -q >/dev/null
bytes=$(du -sb card/drive | cut -f1)
files=$(ls card/drive | wc -l)
cat card/drive/* > /dev/null
nexsync card "s3://$B/warm" --drives full -j 4 -q >/dev/null   # the server's first writes are slower
best_p=999 best_e=999
for i in $(seq "$runs"); do
  rm -rf "$NEX_SYNC_WORK_DIR"
  t=$(now); nexsync card "s3://$B/p$i" --drives full -j 4 -q >/dev/null; e=$(elapsed "$t")
  best_p=$(awk -v a="$best_p" -v c="$e" 'BEGIN{print (c<a)?c:a}')
  rm -rf "$NEX_SYNC_WORK_DIR"
  t=$(now); nexsync card "s3://$B/e$i" --drives full -j 4 -q --encrypt key >/dev/null; e=$(elapsed "$t")
  best_e=$(awk -v a="$best_e" -v c="$e" 'BEGIN{print (c<a)?c:a}')
done
pull_p=999 pull_e=999
for i in 1 2 3; do
  rm -rf got
  t=$(now); nexsync pull "s3://$B/p1/PRO-BENCH/drives/20261120_080000" --to got -q >/dev/null; e=$(elapsed "$t")
  pull_p=$(awk -v a="$pull_p" -v c="$e" 'BEGIN{print (c<a)?c:a}')
  rm -rf got
  t=$(now); nexsync pull "s3://$B/e1/PRO-BENCH/drives/20261120_080000" --to got -q --encrypt key >/dev/null; e=$(elapsed "$t")
  pull_e=$(awk -v a="$pull_e" -v c="$e" 'BEGIN{print (c<a)?c:a}')
done
mbs() { awk -v b="$bytes" -v s="$1" 'BEGIN{printf "%.0f", b/s/1048576}'; }
r2() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.2f", a/b}'; }
echo "nexsync --encrypt: upload of one card ($files files, $(numfmt --to=iec "$bytes")) to radosgw, 4 in flight, best of $runs"
echo "  plain:      ${best_p} s  ($(mbs "$best_p") MiB/s)"
echo "  encrypted:  ${best_e} s  ($(mbs "$best_e") MiB/s)  -> encrypted at $(r2 "$best_p" "$best_e")x the plain throughput"
echo "  pull of the drive (all segments, best of 3): plain ${pull_p} s, encrypted ${pull_e} s -> $(r2 "$pull_p" "$pull_e")x"
