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
