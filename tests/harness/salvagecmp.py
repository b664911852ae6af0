#!/usr/bin/python3
"""salvagecmp.py SOURCE CUT OUT [--dropped N] [--gst]

Checks `nexcut salvage CUT -o OUT` against SOURCE, the intact recording CUT
was made from (CUT: SOURCE truncated inside its mdat, moov gone), without
nex: every sample of SOURCE whose bytes lie wholly before CUT's end is a
complete frame, and OUT must hold exactly those video frames (less N
undecodable leading pictures, --dropped), in presentation order:

- the same count (ffprobe packets);
- every decoded picture bit-identical (framemd5, -fps_mode passthrough) to
  the source's picture of the same frame, in the same order;
- the same presentation times, relative to the first frame (so the frame
  step is the source's, and a frame lost at the torn end leaves its hole);
- audio: AAC the same number of frames; PCM the source's samples, at least
  those of its whole chunks before the cut, sample-identical.

With --gst, GStreamer (qtdemux ! h264parse|h265parse ! avdec_*) decodes the
same number of frames without an error, and the audio too.
Prints one JSON line; exit 1 with a reason on the first failure.
"""
import json
import os
import re
import subprocess
import sys


def run(cmd):
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if p.returncode != 0:
        sys.exit("salvagecmp: %s failed: %s" % (" ".join(cmd[:3]), p.stderr.decode(errors="replace")[-2000:]))
    return p


def framemd5(path):
    """[(pts in s, md5)] of every video frame in display order."""
    out = run(["ffmpeg", "-nostdin", "-v", "error", "-i", path, "-map", "0:v:0", "-fps_mode", "passthrough",
               "-f", "framemd5", "-"]).stdout.decode()
    tb, frames = None, []
    for line in out.splitlines():
        m = re.match(r"#tb 0: (\d+)/(\d+)", line)
        if m:
            tb = (int(m.group(1)), int(m.group(2)))
            continue
        if line.startswith("#") or not line.strip():
            continue
        f = [x.strip() for x in line.split(",")]
        frames.append((int(f[2]) * tb[0] / tb[1], f[5]))
    return frames


def packets(path):
    out = run(["ffprobe", "-v", "error", "-show_entries", "packet=codec_type,pts_time,pos,size", "-of", "json",
               path]).stdout
    return json.loads(out)["packets"]


def streams(path):
    return json.loads(run(["ffprobe", "-v", "error", "-show_streams", "-of", "json", path]).stdout)["streams"]


def pcm(path):
    """the samples as 32-bit integers (every bit of 16- and 24-bit PCM)"""
    return run(["ffmpeg", "-nostdin", "-v", "error", "-i", path, "-map", "0:a:0", "-f", "s32le", "-"]).stdout


def main():
    args = sys.argv[1:]
    dropped, gst = 0, False
    if "--dropped" in args:
        i = args.index("--dropped")
        dropped = int(args[i + 1])
        del args[i:i + 2]
    if "--gst" in args:
        args.remove("--gst")
        gst = True
    src, cut, out = args
    limit = os.path.getsize(cut)
    src_pk = packets(src)
    whole = [p for p in src_pk if int(p["pos"]) + int(p["size"]) <= limit]
    want_v = sorted(float(p["pts_time"]) for p in whole if p["codec_type"] == "video")
    want_a = [p for p in whole if p["codec_type"] == "audio"]

    out_pk = packets(out)
    got_v = [p for p in out_pk if p["codec_type"] == "video"]
    if len(got_v) != len(want_v) - dropped:
        sys.exit("salvagecmp: %d video frames recovered, %d complete in the source (%d dropped)"
                 % (len(got_v), len(want_v), dropped))

    # the source's decoded pictures of exactly those frames, in display order
    src_frames = framemd5(src)
    by_time = {round(t, 4): s for t, s in src_frames}
    want_sums = []
    for t in want_v[dropped:]:
        s = by_time.get(round(t, 4))
        if s is None:
            sys.exit("salvagecmp: the source decodes no frame at %.4f s" % t)
        want_sums.append((t, s))
    got = framemd5(out)
    if len(got) != len(want_sums):
        sys.exit("salvagecmp: FFmpeg decodes %d frames of %s, expected %d" % (len(got), out, len(want_sums)))
    t0, g0 = want_sums[0][0], got[0][0]
    for k, ((tw, sw), (tg, sg)) in enumerate(zip(want_sums, got)):
        if sw != sg:
            sys.exit("salvagecmp: frame %d (source %.4f s) differs from the source's picture" % (k, tw))
        if abs((tw - t0) - (tg - g0)) > 0.0005:
            sys.exit("salvagecmp: frame %d shown at +%.4f s, the source at +%.4f s" % (k, tg - g0, tw - t0))

    res = {"frames": len(got), "complete_in_source": len(want_v)}
    info = streams(out)
    audio = [s for s in info if s["codec_type"] == "audio"]
    if want_a:
        if not audio:
            sys.exit("salvagecmp: no audio recovered")
        codec = audio[0]["codec_name"]
        got_a = [p for p in out_pk if p["codec_type"] == "audio"]
        if codec == "aac":
            if len(got_a) != len(want_a):
                sys.exit("salvagecmp: %d AAC frames recovered, %d complete in the source" % (len(got_a), len(want_a)))
            res["audio_frames"] = len(got_a)
        else:
            a_out, a_src = pcm(out), pcm(src)
            # the complete source packets' bytes, as 32-bit samples
            width = next(int(s["bits_per_sample"]) for s in streams(src) if s["codec_type"] == "audio") // 8
            need = sum(int(p["size"]) for p in want_a) // width * 4
            if len(a_out) < need or a_src[:len(a_out)] != a_out:
                sys.exit("salvagecmp: PCM audio: %d bytes recovered, %d complete in the source, identical: %s"
                         % (len(a_out), need, a_src[:len(a_out)] == a_out))
            res["audio_bytes"] = len(a_out)
    if gst:
        res["gst_frames"] = gst_check(out, info, len(got))
    print(json.dumps(res))


def gst_check(path, info, n):
    vcodec = next(s["codec_name"] for s in info if s["codec_type"] == "video")
    parse, dec = {"h264": ("h264parse", "avdec_h264"), "hevc": ("h265parse", "avdec_h265")}[vcodec]
    p = subprocess.run(["gst-launch-1.0", "filesrc", "location=" + path, "!", "qtdemux", "!", parse, "!", dec,
                        "!", "fakesink", "silent=false", "-v"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    text = (p.stdout + p.stderr).decode(errors="replace")
    if p.returncode != 0 or "ERROR" in text or "WARNING" in text:
        sys.exit("salvagecmp: GStreamer failed on %s: %s" % (path, text[-2000:]))
    # one "chain" message of the sink per decoded picture
    frames = len(re.findall(r"fakesink\d*: last-message = chain", text))
    if frames != n:
        sys.exit("salvagecmp: GStreamer decoded %d frames, FFmpeg %d" % (frames, n))
    audio = [s for s in info if s["codec_type"] == "audio"]
    if audio:
        chain = ["aacparse", "!", "avdec_aac"] if audio[0]["codec_name"] == "aac" else ["audioconvert"]
        p = subprocess.run(["gst-launch-1.0", "-q", "filesrc", "location=" + path, "!", "qtdemux", "name=d",
                            "d.audio_0", "!"] + chain + ["!", "fakesink"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        text = (p.stdout + p.stderr).decode(errors="replace")
        if p.returncode != 0 or "ERROR" in text:
            sys.exit("salvagecmp: GStreamer cannot decode the audio of %s: %s" % (path, text[-2000:]))
    return frames


if __name__ == "__main__":
    main()
