#!/usr/bin/env bash
# test_foreign.sh's checks on the segment lengths and seams its other
# profiles leave out: 180 s segments (H.264 with B-frames and AAC, road and
# interior; HEVC with CRA open GOPs in .MOV), and six 10 s segments (H.264
# 29.97 fps with a B-pyramid in .mov with PCM; HEVC hev1), so that a clip
# across all of them crosses 5 boundaries, road and interior.
NEX_FOREIGN_PROFILES="h264-5b hevc-5b h264-b2-180s hevc-180s" NEX_FOREIGN_BAD=0 \
  exec bash "$(dirname "$0")/test_foreign.sh"
