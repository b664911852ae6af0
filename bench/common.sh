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
