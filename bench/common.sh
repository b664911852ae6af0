# Shared by the benchmarks (sourced). Builds the release tools once.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
if [ -z "${NEX_BIN:-}" ]; then
  "$root/scripts/build" release >/dev/null
  NEX_BIN="$root/build/release/tools"
fi
PATH="$NEX_BIN:$PATH"
BENCH=$(mktemp -d "${BENCH_DIR:-/tmp}/nex-bench.XXXXXX")
trap 'rm -rf "$BENCH"' EXIT
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN{printf "%.3f", b-a}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.1f", a/b}'; }
best() {  # best of 3 wall-clock times of a command (after one warm-up run)
  "$@" >/dev/null 2>&1
  local b=999999 t e
  for _ in 1 2 3; do
    t=$(now); "$@" >/dev/null 2>&1; e=$(elapsed "$t")
    b=$(awk -v a="$b" -v c="$e" 'BEGIN{print (c<a)?c:a}')
  done
  echo "$b"
}
# bench_s3: a radosgw of the bench's own on 127.0.0.1 (stopped on exit with
# the bench's background jobs), its env loaded, a work dir and no config for
# nexsync, rclone's remote "nex:" on it, and $B, its bucket. Needs rclone.
bench_s3() {
  command -v rclone >/dev/null || { echo "rclone missing (apt-get install rclone)" >&2; exit 1; }
  rgw="$BENCH/rgw"
  "$root/scripts/radosgw" start "$rgw" >/dev/null 2>&1 || { echo "cannot start radosgw" >&2; exit 1; }
  # (each step may fail without skipping the next: set -e holds in a trap too)
  trap 'kill $(jobs -p) 2>/dev/null || true; "$root/scripts/radosgw" stop "$rgw" >/dev/null 2>&1 || true; rm -rf "$BENCH"' EXIT
  # shellcheck disable=SC1091
  . "$rgw/env"
  export NEX_SYNC_WORK_DIR="$BENCH/work" NEX_CONFIG=/dev/null
  export RCLONE_CONFIG_NEX_TYPE=s3 RCLONE_CONFIG_NEX_PROVIDER=Ceph RCLONE_CONFIG_NEX_ENDPOINT="$AWS_ENDPOINT_URL" \
    RCLONE_CONFIG_NEX_ACCESS_KEY_ID="$AWS_ACCESS_KEY_ID" RCLONE_CONFIG_NEX_SECRET_ACCESS_KEY="$AWS_SECRET_ACCESS_KEY" \
    RCLONE_CONFIG_NEX_REGION="$AWS_REGION"
  B=$NEX_S3_BUCKET
}
# rclone 1.60's AWS SDK fails on AWS_CA_BUNDLE with its own HTTP transport (plain http here anyway)
rclone() { env -u AWS_CA_BUNDLE rclone "$@"; }
