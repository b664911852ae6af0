#!/usr/bin/python3
"""timecode.py WIDTH HEIGHT FILE

Reads nex's pixel timecode (libnex/src/media/timecode.cpp: two rows of 36
blocks, block = width/80, one block in from the top-left corner; row 1 the
complement of row 0; markers 1 0 ... 0 1 around 32 data bits, most
significant first) from every frame of FILE, raw 8-bit grey frames of
WIDTH x HEIGHT as `ffmpeg -f rawvideo -pix_fmt gray` writes them. Written
from the layout, not from nex's reader, so a test checks one against the
other. Prints one line per frame: the milliseconds, or "-" when the strip
does not read; exit 1 when no frame reads.
"""
import sys

COLS, ROWS = 36, 2


def read(frame, w, h):
    b = w / 80.0
    half = max(0, int(b / 4))

    def bit(r, c):
        cx, cy = int((c + 1.5) * b), int((r + 1.5) * b)
        vals = [frame[y * w + x]
                for y in range(max(0, cy - half), min(h - 1, cy + half) + 1)
                for x in range(max(0, cx - half), min(w - 1, cx + half) + 1)]
        return sum(vals) // len(vals) >= 128

    ms = 0
    for c in range(COLS):
        top, bottom = bit(0, c), bit(1, c)
        if top == bottom:
            return None
        if c in (0, COLS - 1):
            if not top:
                return None
        elif c in (1, COLS - 2):
            if top:
                return None
        else:
            ms = (ms << 1) | int(top)
    return ms


def main():
    w, h, path = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    data = open(path, "rb").read()
    size = w * h
    good = 0
    for i in range(len(data) // size):
        ms = read(data[i * size:(i + 1) * size], w, h)
        print("-" if ms is None else ms)
        good += ms is not None
    sys.exit(0 if good else 1)


if __name__ == "__main__":
    main()
