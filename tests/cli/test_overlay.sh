#!/usr/bin/env bash
# nexcut --overlay: the burned-in facts read back with OCR (tesseract) on the
# first frame, the frame at a segment seam and the last frame of a clip that
# crosses a boundary. The time must be the frame's true capture time (its
# segment's start + nexsim's pixel timecode, read by tests/harness/timecode.py);
# speed and G-force the sidecars' values interpolated to that time; the event
# marker only inside the event; "no GPS" where the .gps is missing. Then both
# cameras, layouts (a pip across the seam checked as the road clip is, G-force
# included), and the usage errors.
. "$(dirname "$0")/lib.sh"
cd "$WORK"
HARNESS=$(cd "$(dirname "$0")/../harness" && pwd)
command -v ffmpeg >/dev/null || { echo "ffmpeg missing" >&2; exit 125; }
command -v tesseract >/dev/null || { echo "tesseract missing (tesseract-ocr)" >&2; exit 125; }
[ -f /usr/share/fonts/truetype/dejavu/DejaVuSansMono-Bold.ttf ] || { echo "fonts-dejavu-core missing" >&2; exit 125; }

nexsim init card --model pro --capacity 8G --utc-offset +02:00 -q
nexsim drive card --start 2026-11-20T08:12:00 --duration 2m --interior --event hard-brake@59s -q >/dev/null

# frames FILE W H N... : grey raw frames N... of FILE into $WORK/g.raw, PNGs into $WORK/fK.png
frames() {
  local f=$1 w=$2 h=$3; shift 3
  local sel; sel=$(printf '+eq(n\\,%s)' "$@"); sel=${sel#+}
  ffmpeg -v error -y -i "$f" -vf "select=$sel" -vsync 0 -f rawvideo -pix_fmt gray "$WORK/g.raw"
  rm -f "$WORK"/f*.png
  ffmpeg -v error -y -i "$f" -vf "select=$sel" -vsync 0 "$WORK/f%d.png"
}
# ocr PNG X Y W H SCALE: the overlay box, white on black, inverted for tesseract
ocr() {
  ffmpeg -v error -y -i "$1" -vf "crop=$4:$5:$2:$3,negate,scale=iw*$6:ih*$6" "$WORK/crop.png"
  tesseract "$WORK/crop.png" - --psm 6 2>/dev/null | sed '/^[[:space:]]*$/d'
}

# check_overlay TC OCR...: each OCR'd overlay against its frame's timecode and the sidecars
check_overlay() {
python3 - card "$@" <<'PY' || fail "the overlay does not match the frames (above)"
import re, sys, datetime as dt
card, tcf, ocrs = sys.argv[1], sys.argv[2], sys.argv[3:]
def gps(key):  # [(ms since the segment's start, km/h)] as the library places fixes
    fixes = []
    for l in open(f"{card}/drive/{key}.gps"):
        p = l.strip().split(",")
        if p[0] == "$GPRMC" and p[2] == "A":
            t = dt.datetime.strptime(p[9] + p[1], "%d%m%y%H%M%S.%f")
            fixes.append((t, float(p[7]) * 1.852))
    return [((t - fixes[0][0]).total_seconds() * 1000, v) for t, v in fixes]
def acc(key):
    return [tuple(map(float, l.split(","))) for l in open(f"{card}/drive/{key}.acc") if l.count(",") == 3]
def lerp(pts, t):
    for a, b in zip(pts, pts[1:]):
        if a[0] <= t <= b[0]:
            u = (t - a[0]) / (b[0] - a[0])
            return [x + (y - x) * u for x, y in zip(a[1:], b[1:])]
    raise SystemExit(f"no samples around {t}")
base = {"20261120_081200": dt.datetime(2026, 11, 20, 8, 12), "20261120_081300": dt.datetime(2026, 11, 20, 8, 13)}
# one timeline over both segments (ms since 08:12:00)
G = [(m, v) for m, v in gps("20261120_081200")] + [(60000 + m, v) for m, v in gps("20261120_081300")]
A = [(m, x, y, z) for m, x, y, z in acc("20261120_081200")] + [(60000 + m, x, y, z) for m, x, y, z in acc("20261120_081300")]
event = (59060, 59060 + 1540)  # hard-brake@59s as events.ndjson has it (checked below)
ok = True
for tc, f in zip(open(tcf).read().split(), ocrs):
    text = open(f).read()
    tc = int(tc)
    t = tc if tc >= 30000 else 60000 + tc  # the seam resets the timecode
    want = (base["20261120_081200"] + dt.timedelta(milliseconds=t)).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3] + " +02:00"
    speed = lerp(G, t)[0]
    x, y, z = lerp(A, t)
    m = re.search(r"(\d+\.\d) km/h", text)
    g = re.search(r"G x ([+-]\d\.\d\d) y ([+-]\d\.\d\d) z ([+-]\d\.\d\d)", text)
    checks = [
        (want in text, f"time: want {want}"),
        (m and abs(float(m.group(1)) - speed) <= 0.051, f"speed: want {speed:.2f}"),
        (g and all(abs(float(g.group(i + 1)) - v) <= 0.0051 for i, v in enumerate((x, y, z))),
         f"G: want {x:+.3f} {y:+.3f} {z:+.3f}"),
        (("EVENT hard-brake" in text) == (event[0] <= t < event[1]), f"event marker at {t} ms"),
    ]
    for good, what in checks:
        print(("ok   " if good else "FAIL ") + f"{f}: {what}")
        ok = ok and bool(good)
sys.exit(0 if ok else 1)
PY
}

# --- road, 08:12:59 to 08:13:01 across the 08:13:00 seam: frames 0, 30 (the seam), 59
expect_exit 0 nexcut card --from 08:12:59 --to +2s --overlay time,speed,g,gps,event --overlay-ms -o road.mp4
frames road.mp4 1920 1080 0 30 59
python3 "$HARNESS/timecode.py" 1920 1080 g.raw > tc
assert_eq "$(wc -l < tc)" 3
for k in 1 2 3; do
  ocr "f$k.png" 0 120 800 300 1 > "ocr$k"
  echo "--- frame $k: timecode $(sed -n "${k}p" tc)"; cat "ocr$k"
done
check_overlay tc ocr1 ocr2 ocr3
jq -e 'select(.kind == "hard-brake") | .time == "2026-11-20T08:12:59.060" and .duration_ms == 1540' card/events.ndjson >/dev/null \
  || fail "the event is not where the OCR check expects it: $(cat card/events.ndjson)"
# every frame re-encoded, as many as the window holds
assert_eq "$(ffprobe -v error -count_packets -select_streams v:0 -show_entries stream=nb_read_packets -of csv=p=0 road.mp4)" 60

# --- no .gps for the second segment: "no GPS" there, never the last fix
cp -r card nogps && rm nogps/drive/20261120_081300.gps
expect_exit 0 nexcut nogps --from 08:13:00 --to +1s --overlay time,speed,gps -o nogps.mp4
frames nogps.mp4 1920 1080 0 29
for k in 1 2; do
  ocr "f$k.png" 0 120 960 300 1 > "n$k"; cat "n$k"
  assert_contains "n$k" "speed: no GPS"
  assert_contains "n$k" "position: no GPS"
done

# --- both cameras (the interior's own picture and clock) and a layout
expect_exit 0 nexcut card --from 08:13:00.5 --to +0.5s --camera both --overlay time --overlay-ms -o both.mp4
frames both_interior.mp4 1280 720 0
ocr f1.png 0 80 640 200 2 > i1; cat i1
tc=$(python3 "$HARNESS/timecode.py" 1280 720 g.raw)
assert_contains i1 "$(printf '2026-11-20 08:13:%02d.%03d +02:00' $((tc / 1000)) $((tc % 1000)))"
expect_exit 0 nexcut card --from 08:13:00.5 --to +0.5s --layout pip --overlay time,speed --overlay-ms -o pip.mp4
frames pip.mp4 1920 1080 14
ocr f1.png 0 120 960 300 1 > p1; cat p1
tc=$(python3 "$HARNESS/timecode.py" 1920 1080 g.raw)
assert_contains p1 "$(printf '2026-11-20 08:13:%02d.%03d +02:00' $((tc / 1000)) $((tc % 1000)))"
assert_contains p1 "km/h"
# the G-force (and time, speed, event) on a layout across the seam, as on one camera:
# frames 0, 30 (the seam) and 59 read back against the road's timecode and the .acc
expect_exit 0 nexcut card --from 08:12:59 --to +2s --camera both --layout pip --overlay time,speed,g,gps,event --overlay-ms -o pipg.mp4
frames pipg.mp4 1920 1080 0 30 59
python3 "$HARNESS/timecode.py" 1920 1080 g.raw > tcl
assert_eq "$(wc -l < tcl)" 3
for k in 1 2 3; do
  ocr "f$k.png" 0 120 800 300 1 > "lay$k"
  echo "--- layout frame $k: timecode $(sed -n "${k}p" tcl)"; cat "lay$k"
done
check_overlay tcl lay1 lay2 lay3

# --- errors: one line, documented exit code, nothing written
expect_exit 2 nexcut card --from 08:13:00 --to +1s --overlay time --copy -o bad.mp4
assert_contains "$WORK/err" "error: --overlay draws on the picture: --copy cannot"
expect_exit 2 nexcut card --from 08:13:00 --to +1s --overlay time,altitude -o bad.mp4
assert_contains "$WORK/err" "unknown overlay field 'altitude'"
expect_exit 2 nexcut card --from 08:13:00 --to +1s --overlay-ms -o bad.mp4
NEX_OVERLAY_FONT=/nonexistent.ttf expect_exit 1 nexcut card --from 08:13:00 --to +1s --overlay time -o bad.mp4
assert_contains "$WORK/err" "overlay font not found"
[ ! -e bad.mp4 ] || fail "a failed run left bad.mp4"
[ -z "$(ls -A | grep -E '^\.bad')" ] || fail "a failed run left a temporary file"
echo "ok"
