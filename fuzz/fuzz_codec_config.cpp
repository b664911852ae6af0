// Fuzz target: the codec configuration records and NAL syntax nexcut reads
// from a camera's files (cut/h264.hpp): avcC and hvcC sample-entry records,
// length-prefixed samples, SPS/PPS/slice-header ids, the x264 options SEI.
// The first byte picks the record ('a' avcC, 'h' hvcC, else a sample); the
// rest is the record. Never throws, never reads out of bounds.
#include <cstdint>
#include <span>

#include "cut/h264.hpp"

namespace h = nex::cut::h264;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const std::span<const uint8_t> rec(data + 1, size - 1);
  if (data[0] == 'a') {
    if (auto c = h::parse_avcc(rec)) {
      for (const auto& s : c->sps) (void)h::sps_id(s);
      for (const auto& p : c->pps) (void)h::pps_ids(p);
      const h::Bytes again = h::build_avcc(*c);
      (void)h::parse_avcc(again);
    }
  } else if (data[0] == 'h') {
    if (auto c = h::parse_hvcc(rec))
      for (const auto& n : c->nals) (void)h::hevc_nal_type(n);
  } else {
    for (int ls : {1, 2, 4}) {
      if (auto nals = h::split_lengths(rec, ls)) {
        for (auto n : *nals) (void)h::slice_head(n);
        (void)h::to_lengths(*nals, 4, {7, 8});
      }
      (void)h::x264_options(rec, ls);
    }
    for (auto n : h::split_annexb(rec)) (void)h::nal_type(n);
  }
  return 0;
}
