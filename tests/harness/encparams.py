#!/usr/bin/python3
"""encparams.py CARD CAMERA FROM TO CLIP [--same-level] [--min-ratio R] [--max-ratio R]

Checks that a smart cut's re-encoded pictures are coded like the camera's,
independently of nex: it reads the parameter sets itself (FFmpeg's
trace_headers bitstream filter on a stream copy, no decoding) and finds the
re-encoded pictures by their bytes.

- Re-encoded pictures: the clip's packets that are no packet of the source
  files (MD5 of each packet with its parameter sets, access unit
  delimiters and end of sequence/stream NAL units removed, FFmpeg's
  filter_units, on both sides: nex puts the camera's parameter sets in front
  of an HEVC copy and an end of sequence after one; a copied packet is
  otherwise the camera's byte for byte, a re-encoded one is not).
- Their parameter sets: the SPS each one's slices refer to (through the PPS
  id, as a decoder does: H.264 sets by id, from the avcC and in-band; HEVC
  in-band sets replace the hvcC's) against the SPS of the camera's first
  picture in the window's files:
  - profile and bit depth the same;
  - level_idc not above the camera's (a player the camera's level suits
    must play the clip), and with --same-level the camera's (what x264 and
    x265 can be told; below would still play, but is not what the camera
    signals);
  - colour description (VUI video_full_range_flag, colour_primaries,
    transfer_characteristics, matrix_coefficients, with the standard's
    defaults where the VUI leaves them out: limited range, 2 = unspecified)
    and sample aspect ratio the same.
- Their bitrate: for each run of consecutive re-encoded pictures (display
  order) of at least 10 frames, its bits per frame against the camera's
  over the same frames (the source frames whose capture time is the clip
  frames', mapped as tests/harness/framecmp.py does: the i-th clip frame is
  the i-th source frame whose capture time lies in [FROM, TO)), within
  [0.5, 2] (--min-ratio, --max-ratio). Why: a re-encoded run is a closed GOP
  that starts with an I-frame where the camera's same frames are mostly
  P/B-frames, and a rate control that starts cold; measured on the test
  cards' runs of 12-230 frames at the camera's bitrate the ratio is
  0.98-1.37 (docs/nexcut.md), so 2x is a rate control gone wrong, not
  noise. Shorter runs are reported, not checked: one I-frame in 1-6 frames
  makes them 1.4-4x the camera's P/B-frames whatever the rate control.

Prints one JSON line; exit 1 with a reason on the first failure.
"""
import datetime as dt
import json
import re
import subprocess
import sys

from framecmp import card_files  # (this script's folder is on the path)

MIN_RUN = 10


def run(cmd):
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if p.returncode != 0:
        sys.exit("encparams: %s failed: %s" % (cmd[0], p.stderr.decode(errors="replace")[-2000:]))
    return p


def codec_of(path):
    return run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries", "stream=codec_name",
                "-of", "csv=p=0", path]).stdout.decode().strip()


# the fields of a parameter set that say what it describes
SPS_FIELDS = {
    "h264": {"profile_idc": "profile", "level_idc": "level", "bit_depth_luma_minus8": "bit_depth_minus8"},
    "hevc": {"general_profile_idc": "profile", "general_level_idc": "level", "bit_depth_luma_minus8": "bit_depth_minus8"},
}
VUI_FIELDS = {"video_full_range_flag": "full_range", "colour_primaries": "primaries",
              "transfer_characteristics": "transfer", "matrix_coefficients": "matrix",
              "aspect_ratio_idc": "sar_idc", "sar_width": "sar_w", "sar_height": "sar_h"}
VUI_DEFAULTS = {"full_range": 0, "primaries": 2, "transfer": 2, "matrix": 2, "sar_idc": 0}


def packets(path, codec):
    """[(pts, filtered size, md5, sps dict of the picture)] in decode order, and the time base"""
    drop = "7-11" if codec == "h264" else "32-37"
    cmd = ["ffmpeg", "-nostdin", "-hide_banner", "-nostats", "-v", "repeat+info", "-copyts", "-i", path,
           "-map", "0:v:0", "-c", "copy", "-bsf:v", "trace_headers,filter_units=remove_types=" + drop]
    p = run(cmd + ["-f", "framemd5", "-"])
    sps, pps = {}, {}   # id -> fields; pps id -> sps id
    cur, kind, actives = None, None, []
    sps_id_f = "seq_parameter_set_id" if codec == "h264" else "sps_seq_parameter_set_id"
    pps_id_f = "pic_parameter_set_id" if codec == "h264" else "pps_pic_parameter_set_id"
    pps_sps_f = "seq_parameter_set_id" if codec == "h264" else "pps_seq_parameter_set_id"
    slice_pps_f = "pic_parameter_set_id" if codec == "h264" else "slice_pic_parameter_set_id"
    got_slice = True
    for line in p.stderr.decode(errors="replace").splitlines():
        m = re.match(r"\[trace_headers @ [^\]]*\] (.*)$", line)
        if not m:
            continue
        t = m.group(1).strip()
        field = re.match(r"\d+\s+(\w[^ ]*)\s+[01]*\s*= (-?\d+)$", t)
        if not field:
            # a header line ends the parameter set before it
            if kind == "sps" and sps_id_f in cur:
                sps[cur[sps_id_f]] = cur
            kind, cur = None, None
        if t.startswith("Packet:"):
            if not got_slice:
                sys.exit("encparams: %s: a packet without a slice header" % path)
            got_slice = False
            continue
        if t == "Sequence Parameter Set":
            kind, cur = "sps", {}
            continue
        if t == "Picture Parameter Set":
            kind, cur = "pps", {}
            continue
        if t in ("Slice Header", "Slice Segment Header"):
            kind, cur = "slice", {}
            continue
        if not field:
            continue
        name, value = field.group(1), int(field.group(2))
        if cur is None or name in cur:  # (a second loop of a field: keep the first)
            continue
        cur[name] = value
        if kind == "pps" and name == pps_sps_f and pps_id_f in cur:
            pps[cur[pps_id_f]] = value
        elif kind == "slice" and name == slice_pps_f and not got_slice:
            got_slice = True
            sid = pps.get(value)
            if sid is None or sid not in sps:
                sys.exit("encparams: %s: a slice refers to PPS %d, which is not there" % (path, value))
            actives.append(describe(sps[sid], codec))
    tb, rows = None, []
    for line in p.stdout.decode().splitlines():
        m = re.match(r"#tb 0: (\d+)/(\d+)", line)
        if m:
            tb = int(m.group(1)) / int(m.group(2))
        if line.startswith("#") or not line.strip():
            continue
        f = [x.strip() for x in line.split(",")]
        rows.append((int(f[2]), int(f[4]), f[5]))
    if len(actives) != len(rows):
        sys.exit("encparams: %s: %d packets, %d pictures with parameter sets" % (path, len(rows), len(actives)))
    return [(pts * tb, size, md5, a) for (pts, size, md5), a in zip(rows, actives)]


def describe(s, codec):
    d = {k: s.get(f, 0) for f, k in SPS_FIELDS[codec].items()}
    vui = {k: s[f] for f, k in VUI_FIELDS.items() if f in s}
    for k, v in VUI_DEFAULTS.items():
        vui.setdefault(k, v)
    if vui["sar_idc"] != 255:
        vui.pop("sar_w", None), vui.pop("sar_h", None)
    d.update(vui)
    return d


def main():
    args = sys.argv[1:]
    lo, hi = 0.5, 2.0
    same_level = "--same-level" in args
    if same_level:
        args.remove("--same-level")
    for opt in ("--min-ratio", "--max-ratio"):
        if opt in args:
            i = args.index(opt)
            v = float(args[i + 1])
            del args[i:i + 2]
            lo, hi = (v, hi) if opt == "--min-ratio" else (lo, v)
    card, camera, t_from, t_to, clip = args
    t_from, t_to = dt.datetime.fromisoformat(t_from), dt.datetime.fromisoformat(t_to)
    files = [(start, path) for start, path in card_files(card, camera)
             if start < t_to and start + dt.timedelta(seconds=600) >= t_from]
    if not files:
        sys.exit("encparams: no source files for the window")
    codec = codec_of(files[0][1])
    # the source: every packet's MD5 (copied ones are found by it), the
    # window's frames in capture-time order with their sizes, the camera's SPS
    known, window, camera_sps = set(), [], None
    for start, path in files:
        pk = packets(path, codec)
        if camera_sps is None:
            camera_sps = pk[0][3]
        known.update(md5 for _, _, md5, _ in pk)
        t0 = min(t for t, _, _, _ in pk)  # the first presented frame: the name's instant
        for t, size, _, _ in sorted(pk, key=lambda x: x[0]):
            ct = start + dt.timedelta(milliseconds=int((t - t0) * 1000 + 1e-6))
            if t_from <= ct < t_to:
                window.append(size)
    cp = packets(clip, codec_of(clip))
    shown = sorted(cp, key=lambda x: x[0])
    if len(shown) != len(window):
        sys.exit("encparams: the clip has %d frames, the source %d in the window" % (len(shown), len(window)))
    re_sps, runs, cur = [], [], None
    for i, (_, size, md5, sps) in enumerate(shown):
        if md5 in known:
            cur = None
            continue
        if sps not in re_sps:
            re_sps.append(sps)
        if cur is None:
            cur = {"first": i, "frames": 0, "bytes": 0, "source_bytes": 0}
            runs.append(cur)
        cur["frames"] += 1
        cur["bytes"] += size
        cur["source_bytes"] += window[i]
    out = {"codec": codec, "camera_sps": camera_sps, "reencoded_sps": re_sps,
           "reencoded_frames": sum(r["frames"] for r in runs), "runs": []}
    for s in re_sps:
        for k in ("profile", "bit_depth_minus8"):
            if s[k] != camera_sps[k]:
                sys.exit("encparams: re-encoded pictures with %s %d, the camera's %d" % (k, s[k], camera_sps[k]))
        if same_level and s["level"] != camera_sps["level"]:
            sys.exit("encparams: re-encoded pictures at level_idc %d, the camera's %d"
                     % (s["level"], camera_sps["level"]))
        if s["level"] > camera_sps["level"]:
            sys.exit("encparams: re-encoded pictures at level_idc %d, above the camera's %d"
                     % (s["level"], camera_sps["level"]))
        for k in VUI_FIELDS.values():
            if s.get(k) != camera_sps.get(k):
                sys.exit("encparams: re-encoded pictures with %s %s, the camera's %s (colour or aspect)"
                         % (k, s.get(k), camera_sps.get(k)))
    for r in runs:
        ratio = r["bytes"] / max(r["source_bytes"], 1)
        checked = r["frames"] >= MIN_RUN
        out["runs"].append({"first": r["first"], "frames": r["frames"],
                            "kbit_per_frame": round(r["bytes"] * 8 / r["frames"] / 1000, 2),
                            "source_kbit_per_frame": round(r["source_bytes"] * 8 / r["frames"] / 1000, 2),
                            "ratio": round(ratio, 2), "checked": checked})
        if checked and not lo <= ratio <= hi:
            print(json.dumps(out), file=sys.stderr)
            sys.exit("encparams: re-encoded frames %d-%d: %.2f times the camera's bits over the same frames "
                     "(outside [%.2f, %.2f])" % (r["first"], r["first"] + r["frames"] - 1, ratio, lo, hi))
    print(json.dumps(out))


if __name__ == "__main__":
    main()
