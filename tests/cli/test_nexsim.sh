#!/usr/bin/env bash
# nexsim end to end: real footage on a card, checked with ffprobe; rotation;
# determinism; bad input leaves nothing half-written.
. "$(dirname "$0")/lib.sh"
cd "$WORK"

probe() { ffprobe -v error -show_entries "$2" -of default=nw=1:nk=1 "$1"; }

# --- a Pro card with a drive: road + interior, sidecars, thumbnail, events
expect_exit 0 nexsim init pro --model pro --capacity 32G --serial PRO-T1 --utc-offset +02:00
assert_contains pro/camera.yaml 'model: pro'
assert_contains pro/camera.yaml 'utc_offset: "+02:00"'
expect_exit 0 nexsim drive pro --start 2026-11-20T08:12:00 --duration 2m30s --interior \
  --event hard-brake@1m10s --seed 7 --format json
assert_contains "$WORK/out" '"written": 3'
ls pro/drive > listing
for f in 20261120_081200_1.mp4 20261120_081200_2.mp4 20261120_081200.gps 20261120_081200.acc \
         20261120_081200_1.jpg 20261120_081300_1.mp4 20261120_081400_2.mp4; do
  grep -qx "$f" listing || fail "missing $f"
done
[ "$(wc -l < listing)" = 15 ] || fail "expected 15 files, got $(wc -l < listing)"
assert_eq "$(probe pro/drive/20261120_081200_1.mp4 stream=codec_name,width,height | tr '\n' ' ')" "h264 1920 1080 "
assert_eq "$(probe pro/drive/20261120_081200_2.mp4 stream=codec_name | sort | tr '\n' ' ')" "aac h264 "
assert_eq "$(probe pro/drive/20261120_081200_2.mp4 stream=width,height | head -2 | tr '\n' ' ')" "1280 720 "
dur=$(probe pro/drive/20261120_081200_1.mp4 format=duration)
awk -v d="$dur" 'BEGIN{exit !(d>59.9 && d<60.1)}' || fail "segment duration $dur"
dur=$(probe pro/drive/20261120_081400_1.mp4 format=duration)
awk -v d="$dur" 'BEGIN{exit !(d>29.9 && d<30.1)}' || fail "last segment duration $dur (want 30 s)"
# ~8 Mbit/s road, ~3 Mbit/s interior
br=$(probe pro/drive/20261120_081200_1.mp4 format=bit_rate)
[ "$br" -gt 6000000 ] && [ "$br" -lt 10000000 ] || fail "road bitrate $br"
br=$(probe pro/drive/20261120_081200_2.mp4 format=bit_rate)
[ "$br" -gt 2200000 ] && [ "$br" -lt 4000000 ] || fail "interior bitrate $br"
# creation_time is UTC: 08:12 at +02:00
assert_eq "$(probe pro/drive/20261120_081200_1.mp4 format_tags=creation_time)" "2026-11-20T06:12:00.000000Z"
# NMEA at 1 Hz (RMC + GGA) and G-sensor at 50 Hz
assert_eq "$(grep -c '^\$GPRMC' pro/drive/20261120_081200.gps)" 60
assert_eq "$(grep -c '^\$GPGGA' pro/drive/20261120_081200.gps)" 60
assert_eq "$(wc -l < pro/drive/20261120_081200.acc)" 3000
head -1 pro/drive/20261120_081200.gps | grep -q '^\$GPRMC,061200.00,A,' || fail "NMEA time is not UTC"
# the event was detected from the G-sensor samples, not copied from the flag
assert_eq "$(wc -l < pro/events.ndjson)" 1
assert_contains pro/events.ndjson '"kind":"hard-brake"'
assert_contains pro/events.ndjson '"segment":"20261120_081300"'
grep -q '"time":"2026-11-20T08:13:10\.[0-9]*"' pro/events.ndjson || fail "hard brake at the wrong time"
# EXIF of the thumbnail (ffprobe reads JPEG EXIF tags)
file pro/drive/20261120_081200_1.jpg 2>/dev/null | grep -qi 'jpeg' || head -c 2 pro/drive/20261120_081200_1.jpg | od -An -tx1 | grep -q 'ff d8' || fail "thumbnail is not a JPEG"

# --- a drive continuing the card without --start; overlapping footage is refused
expect_exit 0 nexsim drive pro --duration 1m --quiet
assert_contains "$WORK/out" '2026-11-20T08:15:30'
expect_exit 2 nexsim drive pro --start 2026-11-20T08:13:00 --duration 1m
assert_contains "$WORK/err" 'already has footage'

# --- determinism: same arguments and seed give byte-identical cards
for c in d1 d2; do
  nexsim init $c --model nexc1 --capacity 8G --serial SAME >/dev/null
  nexsim drive $c --start 2026-11-21T07:00:00 --duration 70s --interior --night --seed 3 --event collision@20s >/dev/null
  nexsim park $c --duration 2h --incident impact@30m --incident motion@1h --seed 3 >/dev/null
done
(cd d1 && find . -type f | sort | xargs sha256sum) > s1
(cd d2 && find . -type f | sort | xargs sha256sum) > s2
cmp s1 s2 || fail "cards differ"
grep -q '_X.mp4' s1 || fail "NEXC1 parking clip without interior X"
grep -q './sos/.*_U.mp4' s1 || fail "NEXC1 parking clip not in sos/"
assert_contains d1/events.ndjson '"kind":"collision"'
assert_contains d1/events.ndjson '"kind":"parking-impact"'
assert_contains d1/events.ndjson '"kind":"parking-motion"'
# night interior: IR-like grayscale (chroma flat)
nexsim drive d1 --duration 1m --interior --night >/dev/null
night=$(ls d1/drive/*_2.mp4 | tail -1)
ffmpeg -v info -i "$night" -frames:v 1 -vf "format=yuv420p,extractplanes=u,signalstats,metadata=print:key=lavfi.signalstats.YAVG" -f null - 2>&1 | \
  grep -o 'YAVG=[0-9.]*' | grep -q 'YAVG=12[6-9]' || fail "night interior has colour"

# --- every model: tags and folders as models.yaml says
for m in pro:1:2:drive beam:A:B:drive nexc1:1:2:sos nexc2:1:2:drive nexs1:A:B:sos one:1:2:drive; do
  IFS=: read -r model road interior pdir <<<"$m"
  nexsim init "m-$model" --model "$model" --capacity 4G >/dev/null
  nexsim drive "m-$model" --start 2026-11-22T10:00:00 --duration 20s --interior >/dev/null
  nexsim park "m-$model" --duration 1h --incident impact@10m --clip-length 5s >/dev/null
  [ -f "m-$model/drive/20261122_100000_$road.mp4" ] || fail "$model road tag"
  [ -f "m-$model/drive/20261122_100000_$interior.mp4" ] || fail "$model interior tag"
  ls "m-$model/$pdir/" | grep -q '_U.mp4' || fail "$model parking clip not in $pdir/"
  assert_eq "$(probe "m-$model/drive/20261122_100000_$road.mp4" stream=codec_name)" h264
done

# --- loop rotation: a 200M card keeps the newest footage, never exceeds capacity
nexsim init small --model pro --capacity 200M >/dev/null
expect_exit 0 nexsim drive small --start 2026-11-20T09:00:00 --duration 5m --format json
assert_contains "$WORK/out" '"deleted": 2'
used=$(du -sb small | cut -f1)
[ "$used" -le $((200 * 1024 * 1024)) ] || fail "card exceeds capacity: $used"
ls small/drive | grep -q '20261120_090000' && fail "oldest instant not rotated out"
ls small/drive | grep -q '20261120_090100' && fail "second-oldest instant not rotated out"
for k in 090200 090300 090400; do
  assert_eq "$(ls small/drive | grep -c "20261120_$k")" 4   # mp4, jpg, gps, acc go together
done

# --- sos rotation: the quota holds, oldest sos clips go, drive/ is untouched
nexsim init sos --model nexs1 --capacity 4G --sos-quota 40M >/dev/null
nexsim drive sos --start 2026-11-20T07:00:00 --duration 30s >/dev/null
expect_exit 0 nexsim park sos --duration 6h --clip-length 10s --format json \
  --incident impact@1h --incident impact@2h --incident impact@3h --incident impact@4h --incident impact@5h
sos_used=$(du -sb sos/sos | cut -f1)
[ "$sos_used" -le $((40 * 1024 * 1024)) ] || fail "sos/ exceeds quota: $sos_used"
ls sos/sos | grep -q '20261120_073' && fail "oldest sos clip kept"
ls sos/sos | grep -q "$(ls sos/sos | sort | tail -1)" || fail "newest sos clip missing"
assert_eq "$(ls sos/drive | grep -c '20261120_070000')" 4

# --- power cut and clock reset
nexsim init faults --model pro --capacity 4G >/dev/null
nexsim drive faults --start 2026-11-20T10:00:00 --duration 2m --power-cut >/dev/null
set +e; ffprobe -v error faults/drive/20261120_100100_1.mp4 2>probe.err; set -e
grep -q 'moov atom not found' probe.err || fail "power-cut segment still has its moov"
ffprobe -v error faults/drive/20261120_100000_1.mp4 || fail "segment before the cut damaged"
tail -c 1 faults/drive/20261120_100100.acc | od -c | grep -q '\\n' && fail "G-sensor log not torn"
nexsim drive faults --clock-reset --duration 30s >/dev/null
[ -f faults/drive/20000101_000000_1.mp4 ] || fail "clock reset did not start at 2000-01-01"

# --- bad input: one line, documented exit code, nothing half-written
expect_exit 2 nexsim init bad --model gopro --capacity 1G
assert_eq "$(wc -l < "$WORK/err")" 2
assert_contains "$WORK/err" "nexsim: error:"
[ ! -e bad ] || fail "bad init created a folder"
expect_exit 2 nexsim drive pro --start 2026-13-40T99:00:00 --duration 1m
assert_contains "$WORK/err" "bad time"
expect_exit 2 nexsim drive pro --duration soon
expect_exit 2 nexsim drive pro --duration 1m --event wheelie@10s
expect_exit 2 nexsim drive pro --duration 1m --event hard-brake@2m
expect_exit 1 nexsim drive "$WORK/nope" --duration 1m
assert_contains "$WORK/err" "no such card folder"
expect_exit 2 nexsim init pro --model pro --capacity 1G
assert_contains "$WORK/err" "already initialised"
expect_exit 2 nexsim
expect_exit 0 nexsim --help
assert_contains "$WORK/out" "Examples:"
expect_exit 0 nexsim --version
assert_contains "$WORK/out" "libavformat"

# A disk that fills up: the write fails, no temporary or partial file remains.
nexsim init full --model pro --capacity 4G >/dev/null
before=$(ls full/drive | wc -l)
set +e
(trap '' XFSZ; ulimit -f 20000; exec nexsim drive full --start 2026-11-20T11:00:00 --duration 3m) >/dev/null 2>full.err
rc=$?
set -e
assert_eq "$rc" 1
assert_eq "$(wc -l < full.err)" 1
grep -q 'nexsim: error: .*File too large' full.err || { cat full.err; fail "disk-full error"; }
assert_eq "$(ls -A full/drive | wc -l)" "$before"
echo ok
