#!/usr/bin/env bash
# Crash safety: kill -9 nexsim (recording a drive), nexcut (cutting a clip)
# and nexsync (backing up into a folder) after a random delay, a bounded
# number of times under a seed. After each kill: every file the card had is
# unchanged (events.ndjson only grew, by whole lines), nothing partial stands
# under a final name (on the card, as a clip, in the backup), every item of
# the backup whose manifest is there is intact; then a re-run completes and
# its result is byte for byte what an uninterrupted run makes.
# NEX_CRASH_SEED=<n> picks another seed (default 1; printed).
. "$(dirname "$0")/lib.sh"
cd "$WORK"
command -v jq >/dev/null || { echo "jq missing" >&2; exit 125; }
command -v ffprobe >/dev/null || { echo "ffprobe missing" >&2; exit 125; }
seed=${NEX_CRASH_SEED:-1}
RANDOM=$seed   # bash's generator: the same delays for the same seed
echo "crash seed: $seed (NEX_CRASH_SEED=$seed reproduces the schedule)"
export NEX_SYNC_WORK_DIR="$WORK/state" NEX_CONFIG="$WORK/config.yaml"
: > "$NEX_CONFIG"
KILLS=${NEX_CRASH_KILLS:-6}
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
sha() { sha256sum "$1" | cut -d' ' -f1; }
# run_killed MAX_MS cmd...: starts cmd, kills it -9 after a seeded delay in
# [0, MAX_MS) ms; sets $killed (1 if it was still running) and $delay.
run_killed() {
  local max=$(( $1 * 3 / 4 + 1 )); shift   # most runs are killed before they end
  delay=$(( (RANDOM * 32768 + RANDOM) % max ))
  "$@" >/dev/null 2>&1 & local pid=$!
  sleep "$(printf '%d.%03d' $((delay / 1000)) $((delay % 1000)))"
  if kill -9 "$pid" 2>/dev/null; then killed=1; else killed=0; fi
  wait "$pid" 2>/dev/null || true
}
# The card's final-named files with their SHA-256 (temporary names start with '.').
snapshot() { (cd "$1" && find . -type f ! -name '.*' ! -name events.ndjson -print0 | sort -z | xargs -0 -r sha256sum); }
# card_ok CARD: the only findings of nexls --check are leftover temporary files.
card_ok() {
  set +e; nexls "$1" --check --format json > check.out 2> check.err; local rc=$?; set -e
  [ "$rc" = 0 ] || [ "$rc" = 3 ] || { cat check.err; fail "nexls --check exited $rc"; }
  local other
  other=$(jq -r '.findings[] | select(.code != "leftover-temp") | "\(.code) \(.path) \(.message)"' check.out | head -5)
  [ -z "$other" ] || fail "the card has findings after a kill: $other"
}
# events.ndjson: old content is a prefix of the new one; every line is JSON.
events_ok() {
  local before=$1 after=$2
  [ ! -s "$before" ] || cmp -s "$before" <(head -c "$(stat -c %s "$before")" "$after") ||
    fail "events.ndjson was rewritten, not appended to"
  [ ! -s "$after" ] || jq -e . "$after" >/dev/null || fail "events.ndjson has a broken line"
}

nexsim init card --model pro --capacity 8G --serial CRS-1 -q
nexsim drive card --start 2026-11-20T08:00:00 --duration 1m --event hard-brake@30s -q >/dev/null

# --- nexsim: a drive interrupted at a random point, then the next one completes
cp -r card timing && t0=$(now_ms)
nexsim drive timing --start 2026-11-20T09:00:00 --duration 1m -q >/dev/null
tsim=$(( $(now_ms) - t0 + 200 )); rm -rf timing
sim_kills=0
for k in $(seq "$KILLS"); do
  snapshot card > before.sha
  cp card/events.ndjson before.events 2>/dev/null || : > before.events
  run_killed "$tsim" nexsim drive card --start "2026-11-20T$(printf '%02d' $((9 + k))):00:00" --duration 1m -q
  sim_kills=$((sim_kills + killed))
  # every file that was there is unchanged
  (cd card && sha256sum -c --quiet) < before.sha || fail "nexsim kill $k (${delay} ms): a card file changed"
  events_ok before.events card/events.ndjson
  card_ok card
done
# the card takes the next drive
expect_exit 0 nexsim drive card --start 2026-11-20T20:00:00 --duration 1m -q
card_ok card
# ... and cleared what the killed runs left behind
stray=$(find card -name '.*.tmp-*' | head -3)
[ -z "$stray" ] || fail "temporary files of killed nexsim runs are still on the card: $stray"
echo "nexsim: killed $sim_kills of $KILLS runs; the card stayed intact"

# --- nexsim: the instant a kill can land between the renames of one instant,
# made deterministic: the sidecars are named, the video is not yet (what
# PendingInstant::commit leaves if the power goes after its first rename).
video=$(cd card/drive && ls *_1.mp4 | tail -1)
key=${video%_1.mp4}
(cd card/drive && sha256sum "$key"_*.mp4) > videos.sha
dead=$(sh -c 'echo $$')   # a writer that no longer runs
for v in card/drive/"$key"_*.mp4; do mv "$v" "card/drive/.${v##*/}.tmp-$dead"; done
card_ok card
jq -e --arg k "drive/$key" '[.findings[] | select(.code == "leftover-temp" and (.path | startswith($k)))] | length >= 2' check.out >/dev/null ||
  fail "nexls --check does not name the interrupted write: $(jq -c .findings check.out)"
expect_exit 0 nexsim drive card --start 2026-11-20T21:00:00 --duration 20s -v
grep -q "named .*$video" "$WORK/err" || fail "nexsim did not say it named $video"
(cd card/drive && sha256sum -c --quiet) < videos.sha || fail "the videos of the interrupted instant are not back as they were"
card_ok card
echo "nexsim: an instant interrupted between its renames is completed by the next run"

# --- nexcut: a clip interrupted at a random point, then the same clip made whole
clip_args=(card --from 2026-11-20T08:00:20.5 --to +20s)   # mid-GOP: a smart cut re-encodes the head
expect_exit 0 nexcut "${clip_args[@]}" -o ref.mp4 -q
t0=$(now_ms); nexcut "${clip_args[@]}" -o timing.mp4 -q >/dev/null; tcut=$(( $(now_ms) - t0 + 100 )); rm -f timing.mp4
snapshot card > card.sha
cut_kills=0
for k in $(seq "$KILLS"); do
  rm -rf cut && mkdir cut
  run_killed "$tcut" nexcut "${clip_args[@]}" -o cut/clip.mp4 -q
  cut_kills=$((cut_kills + killed))
  if [ -e cut/clip.mp4 ]; then   # renamed before the kill: then it is whole
    cmp -s cut/clip.mp4 ref.mp4 || fail "nexcut kill $k (${delay} ms): a partial clip under its final name"
  fi
  nexcut "${clip_args[@]}" -o cut/clip.mp4 -q --force >/dev/null || fail "nexcut kill $k: the re-run failed"
  cmp cut/clip.mp4 ref.mp4 || fail "nexcut kill $k: the re-run made another clip"
  ls -A cut | grep -v '^clip\.mp4$' | grep -v '\.tmp-' && fail "nexcut kill $k: stray files in the output folder"
done
(cd card && sha256sum -c --quiet) < card.sha || fail "nexcut changed the card"
echo "nexcut: killed $cut_kills of $KILLS runs; no partial clip under a final name"

# --- nexsync into a folder: interrupted, then resumed; the backup is never wrong
opts=(--drives full -j 2)
expect_exit 0 nexsync card ref-bk "${opts[@]}" -q
for m in ref-bk/CRS-1/*/*/*.json; do jq -r '.files[] | "\(.key) \(.size) \(.sha256)"' "$m"; done | sort > ref.files
nref=$(find ref-bk/CRS-1 -mindepth 3 -name '*.json' | wc -l)
t0=$(now_ms); nexsync card timing-bk "${opts[@]}" -q >/dev/null; tsync=$(( $(now_ms) - t0 + 100 ))
sync_kills=0
for k in $(seq "$KILLS"); do
  bk="bk$k"
  # kill it twice in a row at random points, then let it finish
  for _ in 1 2; do
    run_killed "$tsync" nexsync card "$bk" "${opts[@]}" -q
    sync_kills=$((sync_kills + killed))
    [ -d "$bk" ] || continue
    # every final-named file is whole: the reference's bytes
    while IFS= read -r f; do
      key=${f#"$bk"/CRS-1/}
      case $key in events/*/event.json|clips/*/clip.json|drives/*/drive.json) continue ;; esac
      grep -qxF "$key $(stat -c %s "$f") $(sha "$f")" ref.files ||
        fail "nexsync kill $k (${delay} ms): $key is not whole"
    done < <(find "$bk" -type f ! -name '.*')
    # an item with a manifest is complete
    for m in "$bk"/CRS-1/*/*/*.json; do
      [ -e "$m" ] || continue
      jq -r '.files[] | "\(.key) \(.size) \(.sha256)"' "$m" | while read -r key size want; do
        [ -f "$bk/CRS-1/$key" ] || fail "nexsync kill $k: $m lists $key, which is missing"
        assert_eq "$(sha "$bk/CRS-1/$key")" "$want" "(kill $k: $key)"
      done
    done
  done
  expect_exit 0 nexsync card "$bk" "${opts[@]}" --format ndjson
  assert_eq "$(tail -1 "$WORK/out" | jq -r .items_failed)" 0 "(nexsync kill $k: re-run)"
  [ -z "$(find "$bk" -name '.*')" ] || fail "nexsync kill $k: temporary files left after the re-run"
  for m in "$bk"/CRS-1/*/*/*.json; do jq -r '.files[] | "\(.key) \(.size) \(.sha256)"' "$m"; done | sort > got.files
  cmp -s got.files ref.files || { diff got.files ref.files; fail "nexsync kill $k: the backup differs from an uninterrupted one"; }
  while read -r key size want; do
    assert_eq "$(sha "$bk/CRS-1/$key")" "$want" "(kill $k, after the re-run: $key)"
  done < ref.files
  rm -rf "$bk"
done
(cd card && sha256sum -c --quiet) < card.sha || fail "nexsync changed the card"
echo "nexsync (folder): killed $sync_kills of $((2 * KILLS)) runs; $nref items complete after each re-run"
echo "crash kill: ok (seed $seed: nexsim $sim_kills, nexcut $cut_kills, nexsync $sync_kills kills)"
