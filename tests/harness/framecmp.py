#!/usr/bin/python3
"""framecmp.py CARD CAMERA FROM TO CLIP [--copied N] [--gst] [--audio] [--rgb]
   framecmp.py --gst-only CLIP: GStreamer's check alone (a clip with no
   source window to compare with: timelapses, layouts)

Checks a clip against the footage it was cut from, independently of nex:
both are decoded by the ffmpeg command line (every frame, in display order,
no frame-rate conversion), the source frames whose capture time lies in
[FROM, TO) are selected, and every clip frame is compared with the source
frame at the same position:

- PSNR >= 35 dB against it (on a 128x72 grey thumbnail), and clearly
  closer to it than to either neighbour where the picture moved: on the
  thumbnail's pixels where the source frame and the neighbour differ by
  more than 16 grey levels (coding noise at >= 35 dB has an RMS under 4.5),
  the clip frame's squared error against the neighbour must be >= 6 dB
  (4x) above that against its own frame. Whole-picture PSNR could not
  tell them apart: where little moves (two frames either side of a
  segment seam of 29.97 fps footage), a re-encoded frame was only 0.75 dB
  closer to its own; on the moved pixels it is >= 15 dB closer on every
  profile (23-31 dB at 25-30 fps, 15-17 dB at 60 fps), and an off-by-one
  scores -7 to -33 dB (4 dB where only one neighbour is in the window).
  A neighbour where fewer than 8 pixels moved is the same picture to this
  test; at least half the frames must have a neighbour that is not (else
  an off-by-one would not show);
- at least N frames (--copied) bit-identical to the source's decoded frames
  (full-size MD5 of the decoded picture): the stream-copied ones.

Capture time: a segment's name is the instant of its first presented
frame, so a frame's capture time is the name + its presentation time minus
the first frame's, to the millisecond rounded down (as the camera names it).
The times are the demuxer's own (-copyts: edit lists applied, nothing
shifted). With an edit list the first frame is at 0 anyway; without one
(ffmpeg's -use_editlist 0, cameras that write none) a B-frame stream's first
frame is shown at the B-frame delay (e.g. 2 frames), which is not footage
missing from the start: it is subtracted. The ffmpeg command line's own
shift (by the file's earliest start over all streams, the audio's when it
starts first) is not used: it would time the road file (video only) and the
interior (video + audio) differently.

With --audio, the clip's sound must be the source's at the same capture
time, continuous across seams and in sync with the pictures: both are
decoded by the ffmpeg command line (edit lists applied, mono float), and
each decoded frame's samples are placed at its own presentation time (from
ffprobe), as a player that honours the file does: without an edit list the
AAC priming frame is not cut off, and a muxer that shifted the video by the
B-frame delay stretches that first frame's duration so that the next one
starts with the video (GStreamer's qtdemux then plays the sound from there,
in step with the pictures); the ffmpeg command line instead plays the
samples back to back, which puts the sound that far early. Within a
source segment the clip's sound must be one run of the source's: the
offset between their sample positions is set at the segment's first frame
in the clip (rounded to the nearest sample) and kept. Under
each clip frame (from its presentation time to the next frame's) the clip's
samples are compared with the source segment's samples under the source
frame it shows (from that frame's presentation time, same length), wherever
the source has sound: their correlation >= 0.5 on every frame and not under
0.95 on 15 frames in a row, and SNR >= 15 dB in the median; near silence
where the source has none (before audio that starts late). On the cards'
chirp (400-1120 Hz, never repeating) a gap or another stretch of audio
correlates near 0, a shift of 1 ms below 0, of 0.3 ms at 0.7; a shift of
0.1 ms all along leaves a median SNR under 12 dB. FFmpeg's AAC encoder at
64 kbit/s scores 25-45 dB a frame, but for a few frames now and then
(a swell of up to 1.7x over 2048 samples: down to 0.88 and 1 dB). The
clip's audio must be as long as its video to within one AAC frame.

With --rgb, the thumbnails are the luma of each frame's RGB picture (read
with its own colour matrix and range) instead of its Y plane: for a clip
whose re-encoded part moved another camera's BT.601 pictures into the
clip's BT.709, where the same colours have other Y values.

With --gst, GStreamer (qtdemux ! h264parse|h265parse ! avdec_*) must decode
the same number of frames without an error, and the audio track too (AAC:
aacparse ! avdec_aac; PCM: qtdemux's raw audio through audioconvert).
Prints one JSON line; exit 1 with a reason on the first failure.
"""
import datetime as dt
import json
import os
import re
import subprocess
import sys

import numpy as np

W, H = 128, 72
RGB = False  # --rgb: thumbnails' luma from RGB (see decode)


def run(cmd, **kw):
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kw)
    if p.returncode != 0:
        sys.exit("framecmp: %s failed: %s" % (cmd[0], p.stderr.decode(errors="replace")[-2000:]))
    return p


def decode(path):
    """(times in s, md5 list, thumbnails array, durations in s) of every frame in display order;
    the times are the file's own (-copyts: after the edit list, not shifted by the file's start)"""
    md5 = run(["ffmpeg", "-nostdin", "-v", "error", "-copyts", "-i", path, "-map", "0:v:0", "-fps_mode", "passthrough",
               "-f", "framemd5", "-"]).stdout.decode()
    tb = None
    times, sums, durs = [], [], []
    for line in md5.splitlines():
        m = re.match(r"#tb 0: (\d+)/(\d+)", line)
        if m:
            tb = int(m.group(1)) / int(m.group(2))
            continue
        if line.startswith("#") or not line.strip():
            continue
        f = [x.strip() for x in line.split(",")]
        times.append(int(f[2]) * tb)  # pts
        durs.append(int(f[3]) * tb)
        sums.append(f[5])
    if RGB:
        # luma from the RGB picture, each frame read with its own colour
        # matrix and range (a clip that converted another camera's BT.601
        # into its BT.709 has other Y values for the same colours)
        raw = run(["ffmpeg", "-nostdin", "-v", "error", "-i", path, "-map", "0:v:0", "-fps_mode", "passthrough",
                   "-vf", "scale=%d:%d:flags=area,format=rgb24" % (W, H), "-f", "rawvideo", "-"]).stdout
        rgb = np.frombuffer(raw, dtype=np.uint8).reshape(-1, H, W, 3).astype(np.float64)
        thumbs = rgb @ np.array([0.299, 0.587, 0.114])
    else:
        raw = run(["ffmpeg", "-nostdin", "-v", "error", "-i", path, "-map", "0:v:0", "-fps_mode", "passthrough",
                   "-vf", "scale=%d:%d:flags=area,format=gray" % (W, H), "-f", "rawvideo", "-"]).stdout
        thumbs = np.frombuffer(raw, dtype=np.uint8).reshape(-1, H, W).astype(np.float64)
    if len(thumbs) != len(times):
        sys.exit("framecmp: %s: %d thumbnails for %d frames" % (path, len(thumbs), len(times)))
    return times, sums, thumbs, durs


def psnr(a, b):
    mse = np.mean((a - b) ** 2)
    return 99.0 if mse == 0 else 10 * np.log10(255.0 ** 2 / mse)


# The neighbour test: on the thumbnail's pixels where the source frame and
# its neighbour differ by more than MOVED grey levels (what moved between
# them; coding noise of a frame at >= 35 dB has an RMS under 4.5 levels),
# the clip frame's squared error against the neighbour over that against
# its own frame, in dB, must be >= NEIGHBOUR_DB. Where fewer than
# MIN_MOVED pixels moved, the two are the same picture to this test.
MOVED, MIN_MOVED, NEIGHBOUR_DB = 16, 8, 6


def moved_gap(clip, own, other):
    moved = np.abs(own - other) > MOVED
    if np.count_nonzero(moved) < MIN_MOVED:
        return None
    e_own = np.mean((clip[moved] - own[moved]) ** 2)
    e_other = np.mean((clip[moved] - other[moved]) ** 2)
    if e_other == 0:
        return -99.0
    return 99.0 if e_own == 0 else min(99.0, 10 * np.log10(e_other / e_own))


def card_files(card, camera):
    """[(start, path)] of a camera's video files on a card (drive/ and sos/), by
    the instant in their names: the sources a clip's frames are looked up in"""
    tags = {"road": "1AU", "interior": "2BX"}[camera]
    files = []
    for folder in ("drive", "sos"):
        d = os.path.join(card, folder)
        if not os.path.isdir(d):
            continue
        for name in sorted(os.listdir(d)):
            m = re.match(r"(\d{8}_\d{6})_(.)\.(mp4|mov)$", name, re.I)
            if m and m.group(2) in tags:
                files.append((dt.datetime.strptime(m.group(1), "%Y%m%d_%H%M%S"), os.path.join(d, name)))
    return sorted(files)


def parse_time(s):
    return dt.datetime.fromisoformat(s)


def main():
    args = sys.argv[1:]
    if args[:1] == ["--gst-only"]:
        clip = args[1]
        n = len(decode(clip)[0])
        print(json.dumps({"frames": n, "gst_frames": gst_check(clip, n)}))
        return
    copied = 0
    gst = False
    if "--copied" in args:
        i = args.index("--copied")
        copied = int(args[i + 1])
        del args[i:i + 2]
    if "--rgb" in args:
        global RGB
        args.remove("--rgb")
        RGB = True
    if "--gst" in args:
        args.remove("--gst")
        gst = True
    audio = "--audio" in args
    if audio:
        args.remove("--audio")
    card, camera, t_from, t_to, clip = args
    t_from, t_to = parse_time(t_from), parse_time(t_to)
    # source frames in the window, in capture-time order
    src_sums, src_thumbs, src_refs = [], [], []
    for start, path in card_files(card, camera):
        # a file that cannot reach the window is not decoded
        if start >= t_to or start + dt.timedelta(seconds=600) < t_from:
            continue
        times, sums, thumbs, _ = decode(path)
        t0 = min(times) if times else 0.0  # the first presented frame: the name's instant
        for t, s, th in zip(times, sums, thumbs):
            # capture time to the millisecond, rounded down, as the camera names it
            ms = int((t - t0) * 1000 + 1e-6)
            ct = start + dt.timedelta(milliseconds=ms)
            if ms >= 0 and t_from <= ct < t_to:
                src_sums.append(s)
                src_thumbs.append(th)
                src_refs.append((path, t))
    c_times, c_sums, c_thumbs, c_durs = decode(clip)
    n = len(c_sums)
    if n != len(src_sums):
        sys.exit("framecmp: the clip has %d frames, the source has %d in [%s, %s)" % (n, len(src_sums), t_from, t_to))
    low, worst_gap, same, tested = 99.0, 99.0, 0, 0
    for i in range(n):
        p = psnr(c_thumbs[i], src_thumbs[i])
        low = min(low, p)
        if p < 35:
            sys.exit("framecmp: clip frame %d: PSNR %.1f dB against its source frame (< 35)" % (i, p))
        gaps = [g for g in (moved_gap(c_thumbs[i], src_thumbs[i], src_thumbs[j]) for j in (i - 1, i + 1) if 0 <= j < n)
                if g is not None]
        if gaps:
            tested += 1
            worst_gap = min(worst_gap, min(gaps))
            if min(gaps) < NEIGHBOUR_DB:
                sys.exit("framecmp: clip frame %d: where its source frame and a neighbour differ, it is only %.1f dB "
                         "closer to its own than to the neighbour (< %d; PSNR %.1f dB)" % (i, min(gaps), NEIGHBOUR_DB, p))
        if c_sums[i] == src_sums[i]:
            same += 1
    if n >= 10 and 2 * tested < n:
        sys.exit("framecmp: only %d of %d source frames differ from a neighbour: an off-by-one would not show" % (tested, n))
    if same < copied:
        sys.exit("framecmp: %d frames bit-identical to the source, expected at least %d (the copied ones)"
                 % (same, copied))
    out = {"frames": n, "min_psnr": round(low, 2), "min_gap_db": round(worst_gap, 2), "neighbour_tested": tested,
           "identical": same}
    if audio:
        out.update(audio_check(clip, c_times, c_durs[-1], src_refs))
    if gst:
        out["gst_frames"] = gst_check(clip, n)
    print(json.dumps(out))


def decode_audio(path):
    """(rate, start time in s, mono float samples) of the first audio track: each decoded frame's
    samples at its own presentation time (a gap between frames is silence; where frames overlap,
    the later one's samples)"""
    probe = json.loads(run(["ffprobe", "-v", "error", "-select_streams", "a:0", "-show_entries",
                            "stream=sample_rate,time_base", "-of", "json", path]).stdout)
    if not probe.get("streams"):
        return None
    st = probe["streams"][0]
    rate = int(st["sample_rate"])
    num, den = (int(x) for x in st["time_base"].split("/"))
    frames = []
    for line in run(["ffprobe", "-v", "error", "-select_streams", "a:0", "-show_entries", "frame=pts,nb_samples",
                     "-of", "csv=p=0", path]).stdout.decode().splitlines():
        f = line.strip().strip(",").split(",")
        if len(f) >= 2 and f[0] not in ("", "N/A"):
            frames.append((int(f[0]), int(f[1])))
    raw = run(["ffmpeg", "-nostdin", "-v", "error", "-i", path, "-map", "0:a:0", "-ac", "1", "-f", "f32le",
               "-"]).stdout
    dec = np.frombuffer(raw, dtype="<f4").astype(np.float64)
    if not frames:
        return rate, 0.0, dec
    if sum(n for _, n in frames) != len(dec):
        sys.exit("framecmp: %s: ffprobe's audio frames hold %d samples, ffmpeg decoded %d"
                 % (path, sum(n for _, n in frames), len(dec)))
    # sample positions: the frame's pts in samples (exact for a 1/rate time base)
    pos = [(p * num * rate) // den for p, _ in frames]
    base = min(pos)
    out = np.zeros(max(q + n for q, (_, n) in zip(pos, frames)) - base)
    k = 0
    for q, (_, n) in zip(pos, frames):
        out[q - base:q - base + n] = dec[k:k + n]
        k += n
    return rate, base / rate, out


def audio_check(clip, c_times, last_dur, src_refs):
    clip_a = decode_audio(clip)
    if clip_a is None:
        sys.exit("framecmp: %s has no audio" % clip)
    rate, c0, ca = clip_a
    sources, shift = {}, {}
    low, snrs, silent, run, longest = 1.0, [], 0, 0, 0
    vend = c_times[-1] + last_dur  # the last frame lasts as long as the clip says
    for i, (path, t) in enumerate(src_refs):
        if path not in sources:
            sources[path] = decode_audio(path)
            if sources[path] is None:
                sys.exit("framecmp: %s has no audio" % path)
            if sources[path][0] != rate:
                sys.exit("framecmp: %s: audio at %d Hz, the clip's at %d Hz" % (path, sources[path][0], rate))
        _, s0, sa = sources[path]
        end = c_times[i + 1] if i + 1 < len(c_times) else vend
        ci = int(round((c_times[i] - c0) * rate))
        # one offset between the clip's samples and a source segment's, set
        # at the segment's first frame in the clip: within a segment the
        # clip's sound is one run of the source's (rounding each frame's
        # own position would jitter by a sample at 29.97 fps)
        si = ci + shift.setdefault(path, int(round((t - s0) * rate)) - ci)
        # up to the next frame's sample (not ci + the rounded duration: at
        # 29.97 fps a frame is 1601.6 samples at 48 kHz, and PCM audio exactly
        # as long as the video ends on the rounded end, not 2 samples after)
        k = int(round((end - c0) * rate)) - ci
        if k <= 0 or ci < 0:
            continue
        got = ca[ci:ci + k]
        if len(got) < k:
            sys.exit("framecmp: clip frame %d: the clip's audio ends %.3f s into it" % (i, len(got) / rate))
        # the part of the window the source has sound for
        lo, hi = max(0, -si), min(k, len(sa) - si)
        # before the source's sound starts: silence, but for 512 samples at
        # either end, where the AAC encoder rings (measured: 256)
        quiet = got[512:max(0, min(lo, k) - 512)]
        if len(quiet) >= 256 and np.sqrt(np.mean(quiet ** 2)) > 0.01:
            sys.exit("framecmp: clip frame %d: sound (RMS %.3f) where the source has none"
                     % (i, np.sqrt(np.mean(quiet ** 2))))
        silent += len(quiet) >= 256
        if hi - lo < k // 4:
            continue
        ref = sa[si + lo:si + hi]
        part = got[lo:hi]
        err = np.sum((part - ref) ** 2)
        snr = 99.0 if err == 0 else 10 * np.log10(max(np.sum(ref ** 2), 1e-12) / err)
        snrs.append(snr)
        # the waveform's shape, whatever the encoder did to its loudness
        norm = np.sqrt(np.sum(part ** 2) * np.sum(ref ** 2))
        corr = float(np.sum(part * ref) / norm) if norm > 0 else 0.0
        if os.environ.get("FRAMECMP_DEBUG"):  # every frame's figures, on stderr
            print("audio", i, os.path.basename(path), round(t, 3), round(snr, 1), round(corr, 3), file=sys.stderr)
        if corr < 0.5:
            sys.exit("framecmp: clip frame %d (%s at %.3f s): the audio correlates %.2f with the source's there "
                     "(< 0.5; SNR %.1f dB)" % (i, os.path.basename(path), t, corr, snr))
        run = run + 1 if corr < 0.95 else 0
        longest = max(longest, run)
        if run >= 15:
            sys.exit("framecmp: clip frames %d-%d (%s to %.3f s): the audio correlates under 0.95 with the source's "
                     "there (out of step)" % (i - run + 1, i, os.path.basename(path), t))
        low = min(low, corr)
    if snrs and np.median(snrs) < 15:
        sys.exit("framecmp: the clip's audio is %.1f dB from the source's (median over frames, < 15)"
                 % np.median(snrs))
    alen = len(ca) / rate
    vlen = vend - c_times[0]
    if abs(alen - vlen) > 1024 / rate + 1e-6:
        sys.exit("framecmp: the clip's audio lasts %.4f s, its video %.4f s" % (alen, vlen))
    return {"audio_min_corr": round(low, 3), "audio_median_snr": round(float(np.median(snrs)), 1),
            "audio_longest_low_run": longest,
            "audio_frames_checked": len(snrs), "audio_silent_frames_checked": silent}


def gst_check(clip, n):
    probe = json.loads(run(["ffprobe", "-v", "error", "-show_streams", "-of", "json", clip]).stdout)
    vcodec = next(s["codec_name"] for s in probe["streams"] if s["codec_type"] == "video")
    parse, dec = {"h264": ("h264parse", "avdec_h264"), "hevc": ("h265parse", "avdec_h265")}[vcodec]
    raw = clip + ".gst.raw"
    try:
        p = subprocess.run(["gst-launch-1.0", "-q", "filesrc", "location=" + clip, "!", "qtdemux", "!", parse, "!",
                            dec, "!", "videoconvert", "!", "videoscale", "!",
                            "video/x-raw,format=GRAY8,width=%d,height=%d" % (W, H), "!", "filesink",
                            "location=" + raw], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        err = (p.stdout + p.stderr).decode(errors="replace")
        if p.returncode != 0 or "ERROR" in err or "WARNING" in err:
            sys.exit("framecmp: GStreamer failed on %s: %s" % (clip, err[-2000:]))
        size = os.path.getsize(raw)
    finally:
        if os.path.exists(raw):
            os.unlink(raw)
    frames = size // (W * H)
    if frames != n:
        sys.exit("framecmp: GStreamer decoded %d frames, FFmpeg %d" % (frames, n))
    audio = [s for s in probe["streams"] if s["codec_type"] == "audio"]
    if audio:
        # AAC through its parser and decoder; PCM (a QuickTime clip's) comes out of qtdemux as raw audio
        dec = ["audioconvert"] if audio[0]["codec_name"].startswith("pcm_") else ["aacparse", "!", "avdec_aac"]
        p = subprocess.run(["gst-launch-1.0", "-q", "filesrc", "location=" + clip, "!", "qtdemux", "!"] + dec +
                           ["!", "fakesink"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        err = (p.stdout + p.stderr).decode(errors="replace")
        if p.returncode != 0 or "ERROR" in err:
            sys.exit("framecmp: GStreamer cannot decode the audio of %s: %s" % (clip, err[-2000:]))
    return frames


if __name__ == "__main__":
    main()
