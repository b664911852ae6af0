// nexcut salvage: the display order of the recovered pictures.
//
// A stream with B-frames is stored in decode order; without the moov's ctts
// the display order must come from the stream: every picture's order count
// (POC) is computed from its first slice header and its SPS (cut/order.hpp:
// H.264 pic_order_cnt_type 0/1/2, HEVC slice_pic_order_cnt_lsb with the MSB
// reset at IRAPs that start a coded video sequence). The POC restarts at
// every H.264 IDR and every such HEVC IRAP: a "period". Pictures are shown in
// (period, POC) order, one frame duration apart.
//
// Frames lost at the torn end can leave holes in the display order (a
// B-frame lost after the P-frame it precedes on screen was written): when
// the POCs step by a constant (as a constant-rate camera's encoder writes),
// a hole in the last period keeps its time, so every recovered frame is
// shown at its own capture time. Otherwise (H.264 POC type 2 has no
// reordering, so no holes) frames are shown back to back.
//
// Pictures that cannot be decoded are dropped, as a decoder would not show
// them: everything before the first keyframe, the RASL pictures of an HEVC
// CRA that starts the stream, and, when an H.264 stream starts at a non-IDR
// I-frame (open GOP), the pictures shown before it.
#include <algorithm>
#include <map>

#include "cut/order.hpp"
#include "cut/salvage_walk.hpp"
#include "nex/error.hpp"

namespace nex::cut::salvage_detail {

namespace h = h264;
namespace o = order;

namespace {

struct Pic {
  int64_t period = 0, poc = 0;
  bool key = false, drop = false;
  bool idr = false;     // H.264 IDR / HEVC IRAP with NoRaslOutputFlag
};

// Whether an H.264 SEI NAL unit holds a recovery point message (payload 6).
bool has_recovery_point(std::span<const uint8_t> nal) {
  h::BitReader br(nal.subspan(1));
  for (int guard = 0; guard < 64; ++guard) {
    unsigned type = 0, size = 0;
    for (;;) {
      auto b = br.bits(8);
      if (!b) return false;
      type += *b;
      if (*b != 0xFF) break;
    }
    for (;;) {
      auto b = br.bits(8);
      if (!b) return false;
      size += *b;
      if (*b != 0xFF) break;
    }
    if (type == 6) return true;
    if (!br.skip(size_t{size} * 8)) return false;
  }
  return false;
}

[[noreturn]] void unreadable(size_t i, const char* what) {
  throw InputError("cannot read the picture order of recovered frame " + std::to_string(i + 1) + ": " + what,
                   "the reference's parameter sets may not describe this stream: give --reference a healthy "
                   "recording of the same camera");
}

std::vector<Pic> h264_pics(const uint8_t* d, const std::vector<Sample>& video, const StreamInfo& info,
                           bool* reorder_free) {
  std::map<unsigned, o::AvcSps> sps;
  std::map<unsigned, o::AvcPps> pps;
  auto learn = [&](std::span<const uint8_t> nal) {
    if (auto s = o::avc_sps(nal)) sps[s->id] = *s;
    if (auto p = o::avc_pps(nal)) pps[p->id] = *p;
  };
  for (const auto& ps : info.param_sets) learn(ps);
  std::vector<Pic> pics(video.size());
  o::AvcPoc counter;
  int64_t period = 0;
  bool any_type2 = false;
  for (size_t i = 0; i < video.size(); ++i) {
    auto nals = h::split_lengths({d + video[i].off, video[i].size}, info.length_size);
    if (!nals) unreadable(i, "its NAL units do not tile it");
    bool recovery = false;
    std::optional<o::AvcSlice> slice;
    const o::AvcSps* s_sps = nullptr;
    for (auto nal : *nals) {
      const int t = h::nal_type(nal);
      if (t == 7 || t == 8) learn(nal);
      if (t == 6 && has_recovery_point(nal)) recovery = true;
      if ((t == 1 || t == 5) && !slice) {
        auto head = h::slice_head(nal);
        if (!head) unreadable(i, "bad slice header");
        auto p = pps.find(head->pps_id);
        if (p == pps.end()) unreadable(i, "its PPS is unknown");
        auto s = sps.find(p->second.sps_id);
        if (s == sps.end()) unreadable(i, "its SPS is unknown");
        slice = o::avc_slice(nal, s->second, p->second);
        if (!slice) unreadable(i, "bad slice header");
        s_sps = &s->second;
      }
    }
    if (!slice) unreadable(i, "no slice");
    if (slice->field_pic)
      throw InputError("the recording is interlaced (field-coded H.264): nexcut salvage rebuilds progressive video only");
    Pic& pic = pics[i];
    pic.idr = slice->nal_type == 5;
    if (pic.idr && i > 0) ++period;
    pic.period = period;
    pic.poc = counter.next(*slice, *s_sps);
    pic.key = pic.idr || (recovery && slice->slice_type % 5 == 2);
    any_type2 = any_type2 || s_sps->poc_type == 2;
  }
  *reorder_free = any_type2;
  // An open-GOP start: the pictures shown before a first non-IDR I-frame
  // reference pictures the file does not have.
  auto first = std::find_if(pics.begin(), pics.end(), [](const Pic& p) { return p.key; });
  if (first != pics.end() && !first->idr)
    for (auto it = first + 1; it != pics.end(); ++it)
      if (it->period == first->period && it->poc < first->poc) it->drop = true;
  return pics;
}

std::vector<Pic> hevc_pics(const uint8_t* d, const std::vector<Sample>& video, const StreamInfo& info) {
  std::map<unsigned, o::HevcSps> sps;
  std::map<unsigned, o::HevcPps> pps;
  auto learn = [&](std::span<const uint8_t> nal) {
    if (auto s = o::hevc_sps(nal)) sps[s->id] = *s;
    if (auto p = o::hevc_pps(nal)) pps[p->id] = *p;
  };
  for (const auto& ps : info.param_sets) learn(ps);
  std::vector<Pic> pics(video.size());
  o::HevcPoc counter;
  int64_t period = 0;
  bool after_eos = true;        // the first picture starts a coded video sequence
  bool rasl_undecodable = false;  // the RASL pictures of the last IRAP cannot be decoded
  for (size_t i = 0; i < video.size(); ++i) {
    auto nals = h::split_lengths({d + video[i].off, video[i].size}, info.length_size);
    if (!nals) unreadable(i, "its NAL units do not tile it");
    bool done = false;
    Pic& pic = pics[i];
    for (auto nal : *nals) {
      const int t = h::hevc_nal_type(nal);
      if (t == 33 || t == 34) learn(nal);
      if (t == 36) after_eos = true;  // end of sequence: the next picture starts a new one
      if (!o::hevc_vcl(t) || done) continue;
      auto head = o::hevc_slice_head(nal);
      if (!head || !head->first_in_pic) unreadable(i, "bad slice header");
      auto p = pps.find(head->pps_id);
      if (p == pps.end()) unreadable(i, "its PPS is unknown");
      auto s = sps.find(p->second.sps_id);
      if (s == sps.end()) unreadable(i, "its SPS is unknown");
      auto lsb = o::hevc_poc_lsb(nal, s->second, p->second);
      if (!lsb) unreadable(i, "bad slice header");
      const bool irap = o::hevc_irap(t);
      // NoRaslOutputFlag: IDR, BLA, and a CRA first in the stream or after an end of sequence.
      const bool no_rasl = irap && (t <= 20 || after_eos);
      if (irap) {
        rasl_undecodable = no_rasl;
        after_eos = false;
      }
      if (no_rasl && i > 0) ++period;
      pic.period = period;
      pic.poc = counter.next(t, head->temporal_id, *lsb, s->second, no_rasl);
      pic.key = t >= 16 && t <= 21;
      pic.idr = no_rasl;
      pic.drop = o::hevc_rasl(t) && rasl_undecodable;
      done = true;
    }
    if (!done) unreadable(i, "no slice");
  }
  return pics;
}

}  // namespace

Order picture_order(const uint8_t* d, const std::vector<Sample>& video, const StreamInfo& info, const Context& ctx) {
  bool reorder_free = false;
  std::vector<Pic> pics =
      info.codec == VideoCodec::Hevc ? hevc_pics(d, video, info) : h264_pics(d, video, info, &reorder_free);
  Order out;
  // Nothing before the first keyframe can be decoded.
  for (auto& p : pics) {
    if (p.key) break;
    p.drop = true;
  }
  std::vector<size_t> kept;
  for (size_t i = 0; i < pics.size(); ++i) {
    if (pics[i].drop) ++out.dropped;
    else kept.push_back(i);
  }
  if (out.dropped)
    ctx.log->warn("dropped {} picture(s) that cannot be decoded without the frames before the file's start",
                  out.dropped);
  if (kept.empty()) throw InputError("no decodable picture: the recovered video has no keyframe");

  // Display order: (period, POC, decode position).
  std::vector<size_t> disp = kept;
  std::stable_sort(disp.begin(), disp.end(), [&](size_t a, size_t b) {
    return pics[a].period != pics[b].period ? pics[a].period < pics[b].period : pics[a].poc < pics[b].poc;
  });
  // The POC step per frame: the smallest difference between neighbours on
  // screen; holes (multiples of it) are kept in the last period only.
  int64_t step = 0;
  bool steady = !reorder_free;
  for (size_t k = 1; k < disp.size(); ++k) {
    if (pics[disp[k]].period != pics[disp[k - 1]].period) continue;
    const int64_t diff = pics[disp[k]].poc - pics[disp[k - 1]].poc;
    if (diff <= 0) steady = false;
    else if (step == 0 || diff < step) step = diff;
  }
  for (size_t k = 1; steady && step > 0 && k < disp.size(); ++k)
    if (pics[disp[k]].period == pics[disp[k - 1]].period && (pics[disp[k]].poc - pics[disp[k - 1]].poc) % step != 0)
      steady = false;
  const int64_t last_period = pics[disp.back()].period;
  std::vector<int64_t> slot(pics.size(), 0);
  int64_t s = -1;
  for (size_t k = 0; k < disp.size(); ++k) {
    const Pic& p = pics[disp[k]];
    if (k == 0 || p.period != pics[disp[k - 1]].period || !steady || step <= 0 || p.period != last_period) ++s;
    else s += (p.poc - pics[disp[k - 1]].poc) / step;
    slot[disp[k]] = s;
  }
  out.end = s + 1;
  // Decode times: one frame apart, early enough for every picture to be
  // decoded before it is shown (dts <= pts).
  int64_t delay = 0;
  for (size_t i = 0; i < kept.size(); ++i) delay = std::max(delay, static_cast<int64_t>(i) - slot[kept[i]]);
  for (size_t i = 0; i < kept.size(); ++i) {
    out.kept.push_back(kept[i]);
    out.pts.push_back(slot[kept[i]]);
    out.dts.push_back(static_cast<int64_t>(i) - delay);
    out.key.push_back(pics[kept[i]].key);
  }
  return out;
}

}  // namespace nex::cut::salvage_detail
