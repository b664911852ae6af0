#!/usr/bin/env bash
# nexls on a card of N segments (default 4,000, about a 256 GB card), against
# a loop of ffprobe over the same files and against `ls -l`. The big card is
# made from one real drive by hard-linking its files under later instants,
# so every file nexls and ffprobe read is a real nexsim recording.
# usage: bench/nexls.sh [segments]
. "$(dirname "$0")/common.sh"
n=${1:-4000}
export NEX_CACHE_DIR="$BENCH/cache"
cd "$BENCH"
nexsim init card --model pro --capacity 256G -q
nexsim drive card --start 2026-11-20T08:00:00 --duration 10m --interior -q >/dev/null
python3 - "$n" <<'PY'
import os, sys, datetime
n = int(sys.argv[1]); d = "card/drive"
src = sorted({f[:15] for f in os.listdir(d)})
t0 = datetime.datetime(2026, 11, 20, 8, 0, 0)
for i in range(len(src), n):
    s = src[i % len(src)]
    # 40-minute drives with 20-minute breaks
    t = t0 + datetime.timedelta(minutes=i + (i // 40) * 20)
    key = t.strftime("%Y%m%d_%H%M%S")
    for f in os.listdir(d):
        if f.startswith(s) and not f.startswith(key):
            os.link(os.path.join(d, f), os.path.join(d, key + f[15:]))
PY
files=$(ls card/drive/*.mp4 | wc -l)
nexls card >/dev/null   # warm the page cache
t=$(now); nexls card --segments --format json > segs.json; nls=$(elapsed "$t")
t=$(now); nexls card > drives.txt; nlsd=$(elapsed "$t")
t=$(now); ls -l card/drive > /dev/null; lsl=$(elapsed "$t")
t=$(now)
for f in card/drive/*.mp4; do
  ffprobe -v error -show_entries format=duration:stream=codec_name,width,height -of json "$f" >/dev/null
done
ffp=$(elapsed "$t")
echo "nexls: $n segments ($files MP4 files)"
echo "  nexls --segments (headers of every MP4): ${nls} s"
echo "  nexls (drives, reads every .gps too):     ${nlsd} s"
echo "  ffprobe loop over the same files:         ${ffp} s  -> nexls is $(ratio "$ffp" "$nls")x faster"
echo "  ls -l of drive/:                          ${lsl} s  -> nexls costs $(ratio "$nls" "$lsl")x ls -l"
