#!/usr/bin/env bash
# nexcut: a 3-minute road clip across 4 segments (from 30.5 s into the first
# segment), against what a user would run instead:
#   --copy  vs `ffmpeg -f concat -ss … -t … -c copy` and vs `cat` of as many bytes
#   --exact vs --copy and vs a full ffmpeg re-encode of the same clip (libx264
#           ultrafast, the fastest preset: the most favourable to ffmpeg)
# Each fast command runs 3 times after a warm-up; the best time counts.
# usage: bench/nexcut.sh
. "$(dirname "$0")/common.sh"
export NEX_CACHE_DIR="${NEX_CACHE_DIR:-$BENCH/cache}"
cd "$BENCH"
nexsim init card --model pro --capacity 64G -q
nexsim drive card --start 2026-11-20T08:12:00 --duration 5m --interior -q >/dev/null
segs=(card/drive/20261120_081200_1.mp4 card/drive/20261120_081300_1.mp4 card/drive/20261120_081400_1.mp4
      card/drive/20261120_081500_1.mp4)
: > list.txt
for f in "${segs[@]}"; do echo "file '$PWD/$f'" >> list.txt; done
from=2026-11-20T08:12:30.500 to=2026-11-20T08:15:30.500


copy=$(best nexcut card --from $from --to $to --copy -o copy.mp4 -y -q)
exact=$(best nexcut card --from $from --to $to -o exact.mp4 -y -q)
concat=$(best ffmpeg -v error -y -f concat -safe 0 -ss 30.5 -t 180 -i list.txt -c copy concat.mp4)
bytes=$(stat -c %s copy.mp4)
# cat: whole segments while they fit, then the rest of the next one (no pipe)
catcmd="cat" sum=0 i=0
while [ $i -lt ${#segs[@]} ] && [ $((sum + $(stat -c %s "${segs[$i]}"))) -le "$bytes" ]; do
  catcmd="$catcmd ${segs[$i]}"; sum=$((sum + $(stat -c %s "${segs[$i]}"))); i=$((i + 1))
done
catcmd="$catcmd > cat.bin"
[ $i -lt ${#segs[@]} ] && [ "$sum" -lt "$bytes" ] && catcmd="$catcmd; head -c $((bytes - sum)) ${segs[$i]} >> cat.bin"
catt=$(best sh -c "$catcmd")
icopy=$(best nexcut card --from $from --to $to --camera interior --copy -o icopy.mp4 -y -q)
iexact=$(best nexcut card --from $from --to $to --camera interior -o iexact.mp4 -y -q)
t=$(now)
ffmpeg -v error -y -f concat -safe 0 -ss 30.5 -t 180 -i list.txt -c:v libx264 -preset ultrafast full.mp4
full=$(elapsed "$t")

frames=$(ffprobe -v error -select_streams v -show_entries stream=nb_frames -of csv=p=0 exact.mp4)
echo "nexcut: 3-minute road clip across 4 segments ($frames frames, $((bytes / 1000000)) MB)"
echo "  nexcut --copy:                     ${copy} s"
echo "  ffmpeg -f concat -ss -t -c copy:   ${concat} s  -> --copy takes $(ratio "$copy" "$concat")x (target <= 1.0x)"
echo "  cat of the same bytes:             ${catt} s  -> --copy takes $(ratio "$copy" "$catt")x (target <= 2x)"
echo "  nexcut --exact (smart cut):        ${exact} s  -> $(ratio "$exact" "$copy")x --copy (target <= 3x)"
echo "  ffmpeg full re-encode (ultrafast): ${full} s  -> --exact is $(ratio "$full" "$exact")x faster (target >= 10x)"
echo "  interior (720p + AAC, audio re-encoded once): --copy ${icopy} s, --exact ${iexact} s"
