#!/usr/bin/env bash
# nexcut salvage on footage nex did not write (#12): cards made by the ffmpeg
# command line (tests/harness/foreign_card.sh) with H.264 B-frames and
# B-pyramid, H.264 open GOPs in MOV with PCM audio (sowt, and twos in 60 s
# segments; 24-bit 96 kHz lpcm behind an empty edit, no B-frames), HEVC
# Main (hvc1, CRA open GOPs, 4 B-frames) and HEVC Main10 (hev1, MOV). A segment is power-cut the
# way a camera leaves it (the file ends inside its mdat, no moov, mdat size
# 0); salvage must recover every complete frame, each picture bit-identical
# to the source's, at the source's presentation time (checked without nex by
# tests/harness/salvagecmp.py; GStreamer decodes the result too).
. "$(dirname "$0")/lib.sh"
cd "$WORK"
for cmd in ffmpeg ffprobe jq; do
  command -v "$cmd" >/dev/null || { echo "$cmd missing" >&2; exit 125; }
done
harness="$NEX_SOURCE_DIR/tests/harness"
gst=(); command -v gst-launch-1.0 >/dev/null && gst-inspect-1.0 avdec_h265 >/dev/null 2>&1 && gst=(--gst)
[ ${#gst[@]} -gt 0 ] || echo "note: GStreamer (gstreamer1.0-libav) missing: its check is skipped" >&2

# power_cut FILE FRACTION: what a power loss leaves: the file ends FRACTION
# into its mdat payload, the moov (written last) is gone, the mdat's size
# field still 0 as the muxer wrote it at the start.
power_cut() {
  /usr/bin/python3 - "$1" "$2" <<'EOF'
import struct, sys
path, frac = sys.argv[1], float(sys.argv[2])
data = open(path, "rb").read()
off = 0
while off + 8 <= len(data):
    size, kind = struct.unpack(">I4s", data[off:off + 8])
    header = 8
    if size == 1:
        size = struct.unpack(">Q", data[off + 8:off + 16])[0]
        header = 16
    if kind == b"mdat":
        break
    if kind == b"moov":  # a faststart file: its index goes too
        data = data[:off + 4] + b"free" + bytes(size - 8) + data[off + size:]
    off += size
else:
    sys.exit("no mdat in " + path)
payload = off + header
keep = payload + int((size - header) * frac)
head = bytearray(data[:keep])
if header == 16:  # [1 mdat largesize] -> [8 free][0 mdat]
    head[off:off + 16] = struct.pack(">I4sI4s", 8, b"free", 0, b"mdat")
else:
    head[off:off + 4] = b"\0\0\0\0"
open(path, "wb").write(bytes(head))
EOF
}

# salvage_check PROFILE FILE FRACTION [--reference]
salvage_check() {
  local p=$1 f=$2 frac=$3 ref=${4:-} name src out
  name=$(basename "$f"); src="$p/drive/$name"
  mkdir -p "cut-$p"
  cp "$FOREIGN_CACHE/$p/drive/$name" "cut-$p/intact-$name"
  cp "$FOREIGN_CACHE/$p/drive/$name" "$src"
  power_cut "$src" "$frac"
  ffprobe -v error "$src" >/dev/null 2>&1 && fail "$p: $name still plays after the power cut"
  out="salvaged-$p-${name%.*}-$frac.${name##*.}"
  local args=("$src" -o "$out" --format json)
  [ "$ref" = --reference ] && args+=(--reference "$(ls "$p"/drive/*"${name: -6}" | grep -v "$name" | head -1)")
  expect_exit 0 nexcut salvage "${args[@]}"
  jq -e . "$WORK/out" >/dev/null || fail "$p: salvage printed no JSON"
  local rep dropped
  rep=$(jq -c '.[0] // .' "$WORK/out")
  dropped=$(jq -r '.dropped_frames' <<<"$rep")
  # the cards start every segment at an IDR: no picture is undecodable
  assert_eq "$dropped" 0 "($p $name: dropped leading pictures)"
  ffmpeg -v error -i "$out" -f null - 2>dec.err
  [ ! -s dec.err ] || { cat dec.err; fail "$p: ffmpeg cannot decode $out cleanly"; }
  /usr/bin/python3 "$harness/salvagecmp.py" "cut-$p/intact-$name" "$src" "$out" --dropped "$dropped" "${gst[@]}" \
    > cmp.out || fail "$p: salvagecmp $name"
  assert_eq "$(jq -r .frames cmp.out)" "$(jq -r .video_frames <<<"$rep")" "($p $name: frames salvage reported)"
  echo "$p $name @$frac: $(cat cmp.out) codec=$(jq -r .codec <<<"$rep") keyframes=$(jq -r .keyframes <<<"$rep")"
}

for p in ${NEX_SALVAGE_PROFILES:-h264-high-b3 h264-main-b1-open h264-main-60s h264-main-lpcm hevc-main hevc-main10}; do
  echo "--- $p"
  foreign_card "$p"
  # the second segment of each camera: the first one stays as the reference
  # (NEX_SALVAGE_FRACTIONS="0.1 0.5 ..." cuts at other places too)
  for f in $(for t in 1 2; do ls "$p"/drive/*_"$t".* 2>/dev/null | sed -n 2p; done); do
    case $p in
      h264-main-b1-open) fr=0.55 ref=--reference ;;  # and the others find their reference beside them
      h264-main-60s) fr=0.3 ref= ;;  # big-endian PCM (twos) that reads as NAL units: told apart by what follows
      *) fr=0.7 ref= ;;
    esac
    for frac in ${NEX_SALVAGE_FRACTIONS:-$fr}; do salvage_check "$p" "$f" "$frac" $ref; done
  done
  # a MOV with PCM audio cannot be written as MP4: one line, exit 1, nothing left
  if [ "$p" = h264-main-b1-open ]; then
    f=$(ls "$p"/drive/*_2.MOV | sed -n 3p)
    power_cut "$f" 0.4
    expect_exit 1 nexcut salvage "$f" -o pcm.mp4
    assert_contains "$WORK/err" "PCM"
    assert_contains "$WORK/err" "name the output .mov"
    [ "$(grep -c "error:" "$WORK/err")" = 1 ] || { cat "$WORK/err"; fail "not one error line"; }
    ! ls -A | grep -q 'pcm\.mp4' || fail "pcm.mp4 or a temporary file left behind"
  fi
done

# a reference of another codec: one clear line, exit 1, no output
if [ -d h264-high-b3 ] && [ -d hevc-main ]; then
  expect_exit 1 nexcut salvage h264-high-b3/drive/20261120_081220_1.mp4 -o wrong.mp4 \
    --reference hevc-main/drive/20261120_081200_1.mp4
  [ "$(grep -c "error:" "$WORK/err")" = 1 ] || { cat "$WORK/err"; fail "not one error line"; }
  assert_contains "$WORK/err" "nexcut: error:"
  ! ls -A | grep -q wrong || fail "wrong.mp4 or a temporary file left behind"
fi
echo "nexcut salvage (foreign footage): all checks passed"
