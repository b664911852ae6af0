// Fuzz target: the codec configuration records and NAL syntax nexcut reads
// from a camera's files (cut/h264.hpp, cut/order.hpp): avcC and hvcC
// sample-entry records, length-prefixed samples, SPS/PPS/slice-header ids,
// the x264 options SEI, and the picture-order fields nexcut salvage reads
// (H.264 and HEVC SPS/PPS/slice headers, POC counters).
// The first byte picks the record ('a' avcC, 'h' hvcC, 'o' an H.264 stream,
// 'e' an HEVC stream: length-prefixed NAL units whose parameter sets are
// learnt and whose slices get their POC; else a sample); the rest is the
// record. Never throws, never reads out of bounds, no signed overflow.
#include <cstdint>
#include <map>
#include <span>

#include "cut/h264.hpp"
#include "cut/order.hpp"

namespace h = nex::cut::h264;
namespace o = nex::cut::order;

namespace {

void avc_stream(std::span<const uint8_t> rec) {
  auto nals = h::split_lengths(rec, 2);
  if (!nals) return;
  std::map<unsigned, o::AvcSps> sps;
  std::map<unsigned, o::AvcPps> pps;
  o::AvcPoc poc;
  for (auto n : *nals) {
    if (auto s = o::avc_sps(n)) sps[s->id] = *s;
    if (auto p = o::avc_pps(n)) pps[p->id] = *p;
    auto head = h::slice_head(n);
    if (!head) continue;
    auto p = pps.find(head->pps_id);
    if (p == pps.end()) continue;
    auto s = sps.find(p->second.sps_id);
    if (s == sps.end()) continue;
    if (auto sl = o::avc_slice(n, s->second, p->second)) (void)poc.next(*sl, s->second);
  }
}

void hevc_stream(std::span<const uint8_t> rec) {
  auto nals = h::split_lengths(rec, 2);
  if (!nals) return;
  std::map<unsigned, o::HevcSps> sps;
  std::map<unsigned, o::HevcPps> pps;
  o::HevcPoc poc;
  bool first = true;
  for (auto n : *nals) {
    if (auto s = o::hevc_sps(n)) sps[s->id] = *s;
    if (auto p = o::hevc_pps(n)) pps[p->id] = *p;
    auto head = o::hevc_slice_head(n);
    if (!head) continue;
    auto p = pps.find(head->pps_id);
    if (p == pps.end()) continue;
    auto s = sps.find(p->second.sps_id);
    if (s == sps.end()) continue;
    if (auto lsb = o::hevc_poc_lsb(n, s->second, p->second)) {
      (void)poc.next(head->nal_type, head->temporal_id, *lsb, s->second, first || o::hevc_idr(head->nal_type));
      first = false;
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const std::span<const uint8_t> rec(data + 1, size - 1);
  if (data[0] == 'a') {
    if (auto c = h::parse_avcc(rec)) {
      for (const auto& s : c->sps) (void)h::sps_id(s), (void)o::avc_sps(s);
      for (const auto& p : c->pps) (void)h::pps_ids(p), (void)o::avc_pps(p);
      const h::Bytes again = h::build_avcc(*c);
      (void)h::parse_avcc(again);
    }
  } else if (data[0] == 'h') {
    if (auto c = h::parse_hvcc(rec))
      for (const auto& n : c->nals) (void)h::hevc_nal_type(n), (void)o::hevc_sps(n), (void)o::hevc_pps(n);
  } else if (data[0] == 'o') {
    avc_stream(rec);
  } else if (data[0] == 'e') {
    hevc_stream(rec);
  } else {
    for (int ls : {1, 2, 4}) {
      if (auto nals = h::split_lengths(rec, ls)) {
        for (auto n : *nals) (void)h::slice_head(n), (void)o::hevc_slice_head(n);
        (void)h::to_lengths(*nals, 4, {7, 8});
      }
      (void)h::x264_options(rec, ls);
    }
    for (auto n : h::split_annexb(rec)) (void)h::nal_type(n);
  }
  return 0;
}
