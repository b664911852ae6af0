#!/usr/bin/env bash
# nexcut --evidence: the signed bundle of a 30 s event from both cameras
# against what it replaces: the same nexcut without --evidence plus a `cp` of
# the source segments and sidecars (what someone assembling a bundle by hand
# would start from, before any hashing). The bundle hashes every file once,
# copying the sources while hashing them. Target: <= 1.3x.
# Each command runs 3 times after a warm-up; the best time counts.
# usage: bench/evidence.sh
. "$(dirname "$0")/common.sh"
export NEX_CACHE_DIR="${NEX_CACHE_DIR:-$BENCH/cache}"
cd "$BENCH"
nexsim init card --model pro --capacity 64G -q
nexsim drive card --start 2026-11-20T08:12:00 --duration 3m --interior --event hard-brake@90s -q >/dev/null
ev=$(nexls card --events --kind hard-brake --format ndjson | head -1 | sed 's/.*"id":"\([^"]*\)".*/\1/')
openssl genpkey -algorithm ed25519 -out key.pem 2>/dev/null
sel=(card --event "$ev" --before 20s --after 10s)

# the sources a bundle of this window holds: the segments of both cameras and their sidecars
nexcut "${sel[@]}" --evidence probe --sign-key key.pem -q >/dev/null
srcs=$(cd probe && ls source/drive | sed 's|^|card/drive/|' | tr '\n' ' ')
src_bytes=$(cd probe/source/drive && cat -- * | wc -c)

evidence=$(best sh -c "rm -rf ev; nexcut ${sel[*]} --evidence ev --sign-key key.pem -q")
plain=$(best sh -c "rm -rf pl; mkdir pl; nexcut ${sel[*]} --camera both -o pl/clip.mp4 -q && cp $srcs pl/")
cut_only=$(best sh -c "rm -rf co; mkdir co; nexcut ${sel[*]} --camera both -o co/clip.mp4 -q")

echo "nexcut --evidence: 30 s event, both cameras, $(echo "$srcs" | wc -w) source files ($((src_bytes / 1000000)) MB)"
echo "  nexcut --camera both:                    ${cut_only} s"
echo "  nexcut --camera both + cp of the sources: ${plain} s"
echo "  nexcut --evidence --sign-key:             ${evidence} s  -> $(ratio "$evidence" "$plain")x (target <= 1.3x)"
