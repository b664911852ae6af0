#include "cut/order.hpp"

#include <algorithm>
#include <cstdlib>

#include "cut/h264.hpp"

namespace nex::cut::order {

using h264::BitReader;

namespace {

// A scaling_list() of an SPS/PPS (H.264 7.3.2.1.1.1): read and thrown away.
bool skip_scaling_list(BitReader& br, int size) {
  int last = 8, next = 8;
  for (int j = 0; j < size; ++j) {
    if (next != 0) {
      auto d = br.se();
      if (!d || *d < -128 || *d > 127) return false;
      next = (last + *d + 256) % 256;
    }
    last = next == 0 ? last : next;
  }
  return true;
}

// profile_tier_level(1, max_sub_layers_minus1) of an HEVC VPS/SPS (7.3.3).
bool skip_profile_tier_level(BitReader& br, unsigned max_sub_layers_minus1) {
  if (!br.skip(88 + 8)) return false;  // general profile (88 bits) and level
  bool profile[8] = {}, level[8] = {};
  for (unsigned i = 0; i < max_sub_layers_minus1; ++i) {
    auto p = br.bits(1), l = br.bits(1);
    if (!p || !l) return false;
    profile[i] = *p, level[i] = *l;
  }
  if (max_sub_layers_minus1 > 0 && !br.skip(2 * (8 - max_sub_layers_minus1))) return false;
  for (unsigned i = 0; i < max_sub_layers_minus1; ++i) {
    if (profile[i] && !br.skip(88)) return false;
    if (level[i] && !br.skip(8)) return false;
  }
  return true;
}

int64_t msb_of(int64_t prev_msb, int64_t prev_lsb, int64_t lsb, int64_t max) {
  if (lsb < prev_lsb && prev_lsb - lsb >= max / 2) return prev_msb + max;
  if (lsb > prev_lsb && lsb - prev_lsb > max / 2) return prev_msb - max;
  return prev_msb;
}

}  // namespace

// ---- H.264

std::optional<AvcSps> avc_sps(std::span<const uint8_t> nal) {
  if (nal.size() < 4 || (nal[0] & 0x1F) != 7) return std::nullopt;
  BitReader br(nal.subspan(1));
  AvcSps s;
  auto profile = br.bits(8);
  if (!profile || !br.skip(16)) return std::nullopt;
  auto id = br.ue();
  if (!id || *id > 31) return std::nullopt;
  s.id = *id;
  switch (*profile) {
    case 100: case 110: case 122: case 244: case 44: case 83: case 86: case 118: case 128: case 138: case 139:
    case 134: case 135: {
      auto chroma = br.ue();
      if (!chroma || *chroma > 3) return std::nullopt;
      if (*chroma == 3) {
        auto sep = br.bits(1);
        if (!sep) return std::nullopt;
        s.separate_colour_plane = *sep;
      }
      auto bl = br.ue(), bc = br.ue(), qp = br.bits(1), matrix = br.bits(1);
      if (!bl || !bc || !qp || !matrix || *bl > 6 || *bc > 6) return std::nullopt;
      if (*matrix) {
        for (int i = 0; i < (*chroma != 3 ? 8 : 12); ++i) {
          auto present = br.bits(1);
          if (!present) return std::nullopt;
          if (*present && !skip_scaling_list(br, i < 6 ? 16 : 64)) return std::nullopt;
        }
      }
      break;
    }
    default: break;
  }
  auto fn = br.ue(), type = br.ue();
  if (!fn || !type || *fn > 12 || *type > 2) return std::nullopt;
  s.log2_max_frame_num = *fn + 4;
  s.poc_type = *type;
  if (*type == 0) {
    auto lsb = br.ue();
    if (!lsb || *lsb > 12) return std::nullopt;
    s.log2_max_poc_lsb = *lsb + 4;
  } else if (*type == 1) {
    auto zero = br.bits(1);
    auto non_ref = br.se(), t2b = br.se();
    auto n = br.ue();
    constexpr int lim = 1 << 20;  // far beyond any real stream; keeps the sums in range
    if (!zero || !non_ref || !t2b || !n || *n > 255 || std::abs(*non_ref) > lim || std::abs(*t2b) > lim)
      return std::nullopt;
    s.delta_pic_order_always_zero = *zero;
    s.offset_for_non_ref_pic = *non_ref;
    s.offset_for_top_to_bottom_field = *t2b;
    for (unsigned i = 0; i < *n; ++i) {
      auto o = br.se();
      if (!o || std::abs(*o) > lim) return std::nullopt;
      s.offset_for_ref_frame.push_back(*o);
    }
  }
  auto refs = br.ue(), gaps = br.bits(1), w = br.ue(), h = br.ue(), frames = br.bits(1);
  if (!refs || !gaps || !w || !h || !frames) return std::nullopt;
  s.frame_mbs_only = *frames;
  return s;
}

std::optional<AvcPps> avc_pps(std::span<const uint8_t> nal) {
  if (nal.size() < 2 || (nal[0] & 0x1F) != 8) return std::nullopt;
  BitReader br(nal.subspan(1));
  auto id = br.ue(), sps = br.ue(), cabac = br.bits(1), bottom = br.bits(1);
  if (!id || !sps || !cabac || !bottom || *id > 255 || *sps > 31) return std::nullopt;
  return AvcPps{*id, *sps, *bottom != 0};
}

std::optional<AvcSlice> avc_slice(std::span<const uint8_t> nal, const AvcSps& sps, const AvcPps& pps) {
  if (nal.size() < 2) return std::nullopt;
  AvcSlice s;
  s.nal_type = nal[0] & 0x1F;
  s.ref_idc = nal[0] >> 5 & 3;
  if (s.nal_type != 1 && s.nal_type != 5) return std::nullopt;
  BitReader br(nal.subspan(1, std::min<size_t>(nal.size() - 1, 64)));
  auto mb = br.ue(), type = br.ue(), id = br.ue();
  if (!mb || !type || !id || *type > 9 || *id != pps.id) return std::nullopt;
  s.first_mb = *mb, s.slice_type = *type, s.pps_id = *id;
  if (sps.separate_colour_plane && !br.skip(2)) return std::nullopt;
  auto fn = br.bits(static_cast<int>(sps.log2_max_frame_num));
  if (!fn) return std::nullopt;
  s.frame_num = *fn;
  if (!sps.frame_mbs_only) {
    auto field = br.bits(1);
    if (!field) return std::nullopt;
    s.field_pic = *field;
    if (s.field_pic && !br.skip(1)) return std::nullopt;
  }
  if (s.nal_type == 5 && !br.ue()) return std::nullopt;  // idr_pic_id
  const bool bottom = pps.bottom_field_pic_order_in_frame_present && !s.field_pic;
  if (sps.poc_type == 0) {
    auto lsb = br.bits(static_cast<int>(sps.log2_max_poc_lsb));
    if (!lsb) return std::nullopt;
    s.poc_lsb = *lsb;
    if (bottom) {
      auto d = br.se();
      if (!d) return std::nullopt;
      s.delta_poc_bottom = *d;
    }
  } else if (sps.poc_type == 1 && !sps.delta_pic_order_always_zero) {
    auto d0 = br.se();
    if (!d0) return std::nullopt;
    s.delta_poc[0] = *d0;
    if (bottom) {
      auto d1 = br.se();
      if (!d1) return std::nullopt;
      s.delta_poc[1] = *d1;
    }
  }
  return s;
}

int64_t AvcPoc::next(const AvcSlice& s, const AvcSps& sps) {
  const bool idr = s.nal_type == 5;
  if (sps.poc_type == 0) {
    if (idr) prev_msb_ = prev_lsb_ = 0;
    const int64_t max = int64_t{1} << sps.log2_max_poc_lsb;
    const int64_t lsb = s.poc_lsb;
    const int64_t msb = msb_of(prev_msb_, prev_lsb_, lsb, max);
    const int64_t top = msb + lsb, bottom = top + s.delta_poc_bottom;
    if (s.ref_idc) prev_msb_ = msb, prev_lsb_ = lsb;
    return std::min(top, bottom);
  }
  const int64_t max_fn = int64_t{1} << sps.log2_max_frame_num;
  const int64_t fn = s.frame_num;
  const int64_t offset = idr ? 0 : prev_frame_num_ > fn ? prev_offset_ + max_fn : prev_offset_;
  prev_frame_num_ = fn, prev_offset_ = offset;
  if (sps.poc_type == 2) return idr ? 0 : 2 * (offset + fn) - (s.ref_idc == 0 ? 1 : 0);
  // pic_order_cnt_type 1
  const auto n = static_cast<int64_t>(sps.offset_for_ref_frame.size());
  int64_t abs = n ? offset + fn : 0;
  if (s.ref_idc == 0 && abs > 0) --abs;
  int64_t expected = 0;
  if (abs > 0) {
    int64_t per_cycle = 0;
    for (int o : sps.offset_for_ref_frame) per_cycle += o;
    const int64_t cycle = (abs - 1) / n, in_cycle = (abs - 1) % n;
    expected = cycle * per_cycle;
    for (int64_t i = 0; i <= in_cycle; ++i) expected += sps.offset_for_ref_frame[static_cast<size_t>(i)];
  }
  if (s.ref_idc == 0) expected += sps.offset_for_non_ref_pic;
  const int64_t top = expected + s.delta_poc[0];
  const int64_t bottom = top + sps.offset_for_top_to_bottom_field + s.delta_poc[1];
  return std::min(top, bottom);
}

// ---- HEVC

std::optional<HevcSps> hevc_sps(std::span<const uint8_t> nal) {
  if (nal.size() < 3 || ((nal[0] >> 1) & 0x3F) != 33) return std::nullopt;
  BitReader br(nal.subspan(2));
  auto vps = br.bits(4), sub = br.bits(3), nesting = br.bits(1);
  if (!vps || !sub || !nesting || *sub > 6) return std::nullopt;
  if (!skip_profile_tier_level(br, *sub)) return std::nullopt;
  HevcSps s;
  auto id = br.ue(), chroma = br.ue();
  if (!id || !chroma || *id > 15 || *chroma > 3) return std::nullopt;
  s.id = *id;
  if (*chroma == 3) {
    auto sep = br.bits(1);
    if (!sep) return std::nullopt;
    s.separate_colour_plane = *sep;
  }
  auto w = br.ue(), h = br.ue(), window = br.bits(1);
  if (!w || !h || !window) return std::nullopt;
  if (*window)
    for (int i = 0; i < 4; ++i)
      if (!br.ue()) return std::nullopt;
  auto bl = br.ue(), bc = br.ue(), lsb = br.ue();
  if (!bl || !bc || !lsb || *bl > 8 || *bc > 8 || *lsb > 12) return std::nullopt;
  s.log2_max_poc_lsb = *lsb + 4;
  return s;
}

std::optional<HevcPps> hevc_pps(std::span<const uint8_t> nal) {
  if (nal.size() < 3 || ((nal[0] >> 1) & 0x3F) != 34) return std::nullopt;
  BitReader br(nal.subspan(2));
  auto id = br.ue(), sps = br.ue(), dep = br.bits(1), out = br.bits(1), extra = br.bits(3);
  if (!id || !sps || !dep || !out || !extra || *id > 63 || *sps > 15) return std::nullopt;
  return HevcPps{*id, *sps, *dep != 0, *out != 0, *extra};
}

std::optional<HevcSliceHead> hevc_slice_head(std::span<const uint8_t> nal) {
  if (nal.size() < 3) return std::nullopt;
  HevcSliceHead h;
  h.nal_type = (nal[0] >> 1) & 0x3F;
  const unsigned tid1 = nal[1] & 7;
  if ((nal[0] & 0x80) || tid1 == 0 || !hevc_vcl(h.nal_type)) return std::nullopt;
  h.temporal_id = tid1 - 1;
  BitReader br(nal.subspan(2, std::min<size_t>(nal.size() - 2, 16)));
  auto first = br.bits(1);
  if (!first) return std::nullopt;
  h.first_in_pic = *first;
  if (hevc_irap(h.nal_type) && !br.skip(1)) return std::nullopt;  // no_output_of_prior_pics_flag
  auto id = br.ue();
  if (!id || *id > 63) return std::nullopt;
  h.pps_id = *id;
  return h;
}

std::optional<unsigned> hevc_poc_lsb(std::span<const uint8_t> nal, const HevcSps& sps, const HevcPps& pps) {
  auto h = hevc_slice_head(nal);
  if (!h || !h->first_in_pic || h->pps_id != pps.id) return std::nullopt;
  BitReader br(nal.subspan(2, std::min<size_t>(nal.size() - 2, 64)));
  if (!br.skip(hevc_irap(h->nal_type) ? 2 : 1) || !br.ue()) return std::nullopt;  // flags, pps id
  if (!br.skip(pps.extra_slice_header_bits)) return std::nullopt;
  auto type = br.ue();
  if (!type || *type > 2) return std::nullopt;
  if (pps.output_flag_present && !br.skip(1)) return std::nullopt;
  if (sps.separate_colour_plane && !br.skip(2)) return std::nullopt;
  if (hevc_idr(h->nal_type)) return 0u;
  return br.bits(static_cast<int>(sps.log2_max_poc_lsb));
}

int64_t HevcPoc::next(int t, unsigned tid, unsigned lsb, const HevcSps& sps, bool no_rasl_output) {
  const int64_t max = int64_t{1} << sps.log2_max_poc_lsb;
  int64_t msb = 0;
  if (!(hevc_irap(t) && no_rasl_output)) {
    const int64_t prev_lsb = ((prev_tid0_ % max) + max) % max;
    msb = msb_of(prev_tid0_ - prev_lsb, prev_lsb, lsb, max);
  }
  const int64_t poc = msb + lsb;
  // prevTid0Pic: TemporalId 0, not RADL, RASL or a sub-layer non-reference picture.
  const bool sub_layer_non_ref = t <= 14 && t % 2 == 0;
  if (tid == 0 && !(t >= 6 && t <= 9) && !sub_layer_non_ref) prev_tid0_ = poc;
  return poc;
}

}  // namespace nex::cut::order
