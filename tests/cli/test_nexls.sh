#!/usr/bin/env bash
# nexls on cards made by nexsim: listings match what nexsim recorded, field
# by field; --check finds every planted problem and nothing else; the card is
# never modified.
. "$(dirname "$0")/lib.sh"
cd "$WORK"
command -v jq >/dev/null || { echo "jq missing" >&2; exit 125; }

snapshot() { (cd "$1" && find . -printf '%p %s %T@ %C@\n' | sort && find . -type f -print0 | sort -z | xargs -0 sha256sum); }

# --- listings match what nexsim recorded, on every model
for model in pro beam nexc1 nexc2 nexs1 one; do
  c="card-$model"
  nexsim init "$c" --model "$model" --capacity 8G --serial "S-$model" >/dev/null
  nexsim drive "$c" --start 2026-11-20T08:12:00 --duration 3m30s --interior --event hard-brake@1m10s \
    --event collision@2m40s --format json > d1.json
  nexsim park "$c" --duration 4h --incident impact@1h --incident motion@2h --format json > p1.json
  nexsim drive "$c" --duration 2m --format json > d2.json
  snapshot "$c" > before

  nexls "$c" --format json > drives.json 2>ls.err
  if [ "$model" = one ]; then assert_contains ls.err "built-in memory"; else [ ! -s ls.err ] || { cat ls.err; fail "stderr not empty"; }; fi
  assert_eq "$(jq length drives.json)" 2
  assert_eq "$(jq -r '.[0].start' drives.json)" "$(jq -r '.[0].start' d1.json)"
  assert_eq "$(jq -r '.[0].end' drives.json)" "$(jq -r '.[0].end' d1.json)"
  assert_eq "$(jq -r '.[0].segments' drives.json)" "$(jq -r '.[0].written' d1.json)"
  assert_eq "$(jq -r '.[0].cameras|join(",")' drives.json)" "road,interior"
  assert_eq "$(jq -r '.[1].cameras|join(",")' drives.json)" "road"
  assert_eq "$(jq -r '.[1].start' drives.json)" "$(jq -r '.[0].start' d2.json)"
  assert_eq "$(jq -r '.[0].events' drives.json)" "$(jq -r '.[0].events|length' d1.json)"
  assert_eq "$(jq -r '.[0].hard_brakes' drives.json)" 1
  assert_eq "$(jq -r '.[0].collisions' drives.json)" 1
  assert_eq "$(jq -r '.[0].parking' drives.json)" "$(jq -r '.[0].written' p1.json)"
  assert_eq "$(jq -r '.[0].score' drives.json)" 65    # 100 - 25 - 10 (under 10 km)
  km=$(jq -r '.[0].distance_km' drives.json)
  awk -v k="$km" 'BEGIN{exit !(k>0.5 && k<6)}' || fail "$model: implausible distance $km km"
  bytes=$(jq -r '.[0].bytes' drives.json)
  first=$(jq -r '.[0].id' drives.json)
  assert_eq "$bytes" "$(cat "$c"/drive/20261120_081[2345]00* | wc -c)"

  nexls "$c" --events --format ndjson > events.ndjson
  assert_eq "$(jq -r .id events.ndjson | sort | tr '\n' ' ')" \
            "$(jq -r '.[].events[]' d1.json p1.json | sort | tr '\n' ' ')"
  assert_eq "$(jq -r 'select(.kind=="collision").drive' events.ndjson)" "$first"
  assert_eq "$(jq -r .footage events.ndjson | sort -u)" "on card"

  nexls "$c" --segments --format csv > seg.csv
  assert_eq "$(head -1 seg.csv)" "id,start,duration,cameras,codec,fps,road_state,interior_state,size,drive"
  assert_eq "$(($(wc -l < seg.csv) - 1))" 6
  nexls "$c" --segments --json > seg.json
  assert_eq "$(jq -r '.[0].road_resolution' seg.json)" 1920x1080
  assert_eq "$(jq -r '.[0].interior_resolution' seg.json)" 1280x720
  assert_eq "$(jq -r '.[0].audio' seg.json)" mp4a
  assert_eq "$(jq -r '.[3].duration_s' seg.json)" 30
  assert_eq "$(jq -r '[.[].road_codec]|unique|join(",")' seg.json)" avc1

  nexls "$c" --parking --json > parking.json
  assert_eq "$(jq length parking.json)" 2
  assert_eq "$(jq -r '[.[].kind]|join(",")' parking.json)" "parking-impact,parking-motion"
  pdir=$(jq -r ".[0].dir" parking.json)
  case $model in nexc1|nexs1) assert_eq "$pdir" sos ;; *) assert_eq "$pdir" drive ;; esac
  case $model in pro|beam) assert_eq "$(jq -r '.[0].cameras|join(",")' parking.json)" road ;;
                 *) assert_eq "$(jq -r '.[0].cameras|join(",")' parking.json)" road,interior ;; esac

  # filters
  assert_eq "$(nexls "$c" --segments --camera interior --format ndjson | wc -l)" 4
  assert_eq "$(nexls "$c" --events --kind collision --format ndjson | wc -l)" 1
  assert_eq "$(nexls "$c" --segments --since 2026-11-20T08:14:10 --until 2026-11-20T08:15:00 --format ndjson | jq -r .id)" \
            "20261120_081400"
  # GPX 1.1 of the first drive: one point a second
  nexls "$c" --gpx "$first" > d.gpx
  assert_contains d.gpx '<gpx version="1.1"'
  assert_eq "$(grep -c '<trkpt' d.gpx)" 210

  # --check on a clean card: exit 0 (Nexar One: only the plain notice)
  expect_exit 0 nexls "$c" --check
  assert_contains "$WORK/out" "card is clean"
  [ "$model" = one ] && assert_contains "$WORK/out" "cannot see"
  snapshot "$c" > after
  cmp before after || fail "$model: nexls modified the card"
done

# --- a damaged card: every planted problem found, nothing else
c=damaged
nexsim init $c --model pro --capacity 8G --serial DMG >/dev/null
nexsim drive $c --start 2026-11-20T08:00:00 --duration 5m --interior --event hard-brake@2m20s >/dev/null
nexsim drive $c --start 2026-11-20T09:00:00 --duration 2m --power-cut >/dev/null
nexsim drive $c --clock-reset --duration 1m >/dev/null
# plant
: > $c/drive/20261120_093000_1.mp4                                  # 0-byte recording
echo junk > $c/drive/FSCK0000.REC                                   # fsck leftover
echo junk > $c/drive/20261120_094000_Z.mp4                          # unknown tag
cp $c/drive/20261120_080000_1.jpg $c/drive/20261120_095000_A.jpg     # tag Pro does not use
rm $c/drive/20261120_080100_2.mp4                                   # interior twin gone
rm $c/drive/20261120_080300.gps                                     # sidecar gone
rm $c/drive/20261120_080200*                                        # segment (with the event) overwritten
printf '{"id":"x","time":"2026-11-20T08:0' >> $c/events.ndjson      # torn log line
snapshot $c > before
expect_exit 3 nexls $c --check --format json
snapshot $c > after
cmp before after || fail "nexls --check modified the card"
jq -r '.findings[] | "\(.code) \(.path)"' "$WORK/out" | sort > got
cat > want <<'WANT'
bad-name drive/20261120_094000_Z.mp4
bad-name drive/FSCK0000.REC
clock-reset drive/20000101_000000_1.mp4
event-overwritten events.ndjson
foreign-tag drive/20261120_095000_A.jpg
gap drive/20261120_080300_1.mp4
missing-sidecar drive/20261120_080300_1.mp4
missing-twin drive/20261120_080100_1.mp4
orphan-sidecar drive/20261120_095000_A.jpg
torn-log events.ndjson
torn-sidecar drive/20261120_090100.acc
torn-sidecar drive/20261120_090100.gps
truncated drive/20261120_090100_1.mp4
zero-byte drive/20261120_093000_1.mp4
WANT
diff want got || fail "findings differ from what was planted"
assert_eq "$(jq -r .verdict "$WORK/out")" "$(jq -r '"\(.problems) problems, \(.warnings) warnings found"' "$WORK/out")"
h=$(jq -r .overwrite_horizon_hours "$WORK/out")
awk -v h="$h" 'BEGIN{exit !(h>1 && h<3)}' || fail "horizon $h h for 8G at ~4.8G/h"
expect_exit 3 nexls $c --check
assert_contains "$WORK/out" "verdict:"
assert_contains "$WORK/out" "nexcut salvage"
# listings still work on a damaged card
expect_exit 0 nexls $c --segments --format ndjson
assert_eq "$(jq -r 'select(.id=="20261120_090100").road_state' "$WORK/out")" truncated
assert_eq "$(jq -r 'select(.id=="20261120_093000").road_state' "$WORK/out")" empty

# --- bad input
expect_exit 1 nexls "$WORK/none"
assert_eq "$(cat "$WORK/err")" "nexls: error: $WORK/none: no such card folder"
expect_exit 1 nexls "$WORK/before"
assert_contains "$WORK/err" "not a folder"
mkdir weird && printf 'model: gopro\n' > weird/camera.yaml
expect_exit 3 nexls weird --check
assert_contains "$WORK/out" "unknown model 'gopro'"
expect_exit 0 nexls weird
expect_exit 2 nexls card-pro --events --segments
expect_exit 2 nexls card-pro --since yesterday
expect_exit 1 nexls card-pro --gpx 19990101_000000
assert_contains "$WORK/err" "no drive"
expect_exit 0 nexls --help
assert_contains "$WORK/out" "--check"
echo ok
