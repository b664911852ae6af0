#!/usr/bin/python3
"""mp4boxes.py FILE [KEY=VALUE ...]

Reads the boxes of an MP4/QuickTime file itself (no FFmpeg: what a muxer
wrote, not what a demuxer makes of it) and prints one JSON line per track:

  {"track": "v"|"a"|..., "entry": sample entry fourcc, "entries": count,
   "timescale": mdhd timescale, "ctts": true|false, "stss": true|false,
   "elst": "none" | edits joined by "+", each "empty" (media_time -1),
            "zero" (media_time 0) or "shift" (media_time > 0),
   "media_time": the first non-empty edit's media_time (or null),
   "empty_duration": the empty edits' total duration (movie timescale)}

With KEY=VALUE arguments it checks them instead, KEY being TRACK.FIELD
(v.entry=avc1, v.timescale=15360, v.ctts=no, v.elst=shift, a.entry=lpcm,
a.elst=empty+zero; a=none: no audio track) and exits 1 with one line naming
the file and the first property that differs.
"""
import json
import struct
import sys

CONTAINERS = {b"moov", b"trak", b"mdia", b"minf", b"stbl", b"edts", b"dinf"}


def boxes(data, off, end):
    while off + 8 <= end:
        size, kind = struct.unpack(">I4s", data[off:off + 8])
        hdr = 8
        if size == 1:
            size = struct.unpack(">Q", data[off + 8:off + 16])[0]
            hdr = 16
        elif size == 0:
            size = end - off
        if size < hdr or off + size > end:
            raise ValueError("box %r at %d: bad size %d" % (kind, off, size))
        yield kind, off + hdr, off + size
        off += size


def find(data, off, end, path):
    """the payload (start, end) of the first box along path, or None"""
    for kind, b, e in boxes(data, off, end):
        if kind == path[0]:
            return (b, e) if len(path) == 1 else find(data, b, e, path[1:])
    return None


def track_info(data, b, e):
    t = {}
    hdlr = find(data, b, e, [b"mdia", b"hdlr"])
    handler = data[hdlr[0] + 8:hdlr[0] + 12] if hdlr else b"????"
    t["track"] = {b"vide": "v", b"soun": "a"}.get(handler, handler.decode("latin-1"))
    mdhd = find(data, b, e, [b"mdia", b"mdhd"])
    version = data[mdhd[0]]
    t["timescale"] = struct.unpack(">I", data[mdhd[0] + (20 if version == 1 else 12):][:4])[0]
    stbl = find(data, b, e, [b"mdia", b"minf", b"stbl"])
    stsd = find(data, stbl[0], stbl[1], [b"stsd"])
    t["entries"] = struct.unpack(">I", data[stsd[0] + 4:stsd[0] + 8])[0]
    t["entry"] = data[stsd[0] + 12:stsd[0] + 16].decode("latin-1")
    kinds = {k for k, _, _ in boxes(data, stbl[0], stbl[1])}
    t["ctts"] = b"ctts" in kinds
    t["stss"] = b"stss" in kinds
    elst = find(data, b, e, [b"edts", b"elst"])
    t["elst"], t["media_time"], t["empty_duration"] = "none", None, 0
    if elst:
        version = data[elst[0]]
        n = struct.unpack(">I", data[elst[0] + 4:elst[0] + 8])[0]
        off, parts = elst[0] + 8, []
        for _ in range(n):
            if version == 1:
                dur, mt = struct.unpack(">Qq", data[off:off + 16])
                off += 20
            else:
                dur, mt = struct.unpack(">Ii", data[off:off + 8])
                off += 12
            if mt == -1:
                parts.append("empty")
                t["empty_duration"] += dur
            else:
                parts.append("zero" if mt == 0 else "shift")
                if t["media_time"] is None:
                    t["media_time"] = mt
        t["elst"] = "+".join(parts) or "none"
    return t


def tracks(path):
    data = open(path, "rb").read()
    moov = find(data, 0, len(data), [b"moov"])
    if not moov:
        raise ValueError("no moov")
    return [track_info(data, b, e) for kind, b, e in boxes(data, moov[0], moov[1]) if kind == b"trak"]


def main():
    path, claims = sys.argv[1], sys.argv[2:]
    try:
        ts = tracks(path)
    except (ValueError, IndexError, struct.error, TypeError) as err:
        sys.exit("mp4boxes: %s: %s" % (path, err))
    if not claims:
        for t in ts:
            print(json.dumps(t))
        return
    by = {}
    for t in ts:
        by.setdefault(t["track"], t)
    for claim in claims:
        key, want = claim.split("=", 1)
        if "." not in key:  # TRACK=none
            if want != "none" or key in by:
                sys.exit("mp4boxes: %s: has a %s track, expected %s" % (path, key, claim))
            continue
        tr, field = key.split(".", 1)
        if tr not in by:
            sys.exit("mp4boxes: %s: no %s track (expected %s)" % (path, tr, claim))
        got = by[tr][field]
        got = {True: "yes", False: "no", None: "null"}.get(got, got) if isinstance(got, (bool, type(None))) else got
        if str(got) != want:
            sys.exit("mp4boxes: %s: %s is %s, expected %s" % (path, key, got, want))


if __name__ == "__main__":
    main()
