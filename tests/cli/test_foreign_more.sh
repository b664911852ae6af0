#!/usr/bin/env bash
# The second half of test_foreign.sh's profiles (HEVC Main and Main10,
# variable frame rate, 60 s MOV segments with twos PCM, MOV with 24-bit
# 96 kHz lpcm PCM that starts 40 ms after the video, behind an empty edit;
# B-frames in an MP4 without an edit list):
# a ctest of its own so that the two halves run on two cores.
NEX_FOREIGN_PROFILES="hevc-main hevc-main10 h264-vfr h264-main-60s h264-main-lpcm h264-high-noelst" NEX_FOREIGN_BAD=0 \
  exec bash "$(dirname "$0")/test_foreign.sh"
