#pragma once
// Internal: picture order of H.264 and HEVC streams read from their slice
// headers, for streams whose container index is gone (nexcut salvage).
//
// A camera's stream with B-frames is stored in decode order; its display
// order is given by each picture's order count (POC), computed from the
// sequence parameter set and the first slice header of the picture:
// H.264 8.2.1 (pic_order_cnt_type 0, 1 and 2), HEVC 8.3.1
// (slice_pic_order_cnt_lsb, reset at IRAPs with NoRaslOutputFlag). Only the
// fields on the way to the POC are read. Everything here parses untrusted
// bytes: any field out of range gives nullopt (fuzz/fuzz_codec_config.cpp).
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <vector>

namespace nex::cut::order {

// ---- H.264

struct AvcSps {
  unsigned id = 0;
  unsigned log2_max_frame_num = 4;
  unsigned poc_type = 0;
  unsigned log2_max_poc_lsb = 4;
  bool delta_pic_order_always_zero = false;
  int offset_for_non_ref_pic = 0;
  int offset_for_top_to_bottom_field = 0;
  std::vector<int> offset_for_ref_frame;
  bool frame_mbs_only = true;
  bool separate_colour_plane = false;
};
std::optional<AvcSps> avc_sps(std::span<const uint8_t> nal);

struct AvcPps {
  unsigned id = 0, sps_id = 0;
  bool bottom_field_pic_order_in_frame_present = false;
};
std::optional<AvcPps> avc_pps(std::span<const uint8_t> nal);

struct AvcSlice {
  int nal_type = 0, ref_idc = 0;
  unsigned first_mb = 0, slice_type = 0, pps_id = 0;
  unsigned frame_num = 0;
  bool field_pic = false;
  unsigned poc_lsb = 0;
  int delta_poc_bottom = 0;
  int delta_poc[2] = {0, 0};
};
// The slice header up to its order-count fields (nal: a type 1 or 5 NAL unit).
std::optional<AvcSlice> avc_slice(std::span<const uint8_t> nal, const AvcSps& sps, const AvcPps& pps);

// Picture order counts of an H.264 stream's pictures, fed in decode order.
// An IDR starts a new period (its POC restarts at 0). MMCO 5 (a reset in
// the middle of a period, which cameras' encoders do not write) is not read.
class AvcPoc {
 public:
  int64_t next(const AvcSlice& s, const AvcSps& sps);

 private:
  int64_t prev_msb_ = 0, prev_lsb_ = 0;
  int64_t prev_frame_num_ = 0, prev_offset_ = 0;
};

// ---- HEVC

struct HevcSps {
  unsigned id = 0;
  unsigned log2_max_poc_lsb = 4;
  bool separate_colour_plane = false;
};
std::optional<HevcSps> hevc_sps(std::span<const uint8_t> nal);

struct HevcPps {
  unsigned id = 0, sps_id = 0;
  bool dependent_slice_segments = false, output_flag_present = false;
  unsigned extra_slice_header_bits = 0;
};
std::optional<HevcPps> hevc_pps(std::span<const uint8_t> nal);

// The start of a slice segment header: no parameter set needed.
struct HevcSliceHead {
  int nal_type = 0;
  unsigned temporal_id = 0;
  bool first_in_pic = false;
  unsigned pps_id = 0;
};
std::optional<HevcSliceHead> hevc_slice_head(std::span<const uint8_t> nal);
// The first slice segment of a picture up to slice_pic_order_cnt_lsb.
std::optional<unsigned> hevc_poc_lsb(std::span<const uint8_t> nal, const HevcSps& sps, const HevcPps& pps);

inline bool hevc_irap(int t) { return t >= 16 && t <= 23; }
inline bool hevc_idr(int t) { return t == 19 || t == 20; }
inline bool hevc_rasl(int t) { return t == 8 || t == 9; }
inline bool hevc_vcl(int t) { return t >= 0 && t <= 31; }

// HEVC picture order counts, fed in decode order. `no_rasl_output`: the
// picture is an IRAP that starts a coded video sequence (IDR, BLA, the first
// picture, a CRA after an end of sequence); its POC MSB restarts at 0.
class HevcPoc {
 public:
  int64_t next(int nal_type, unsigned temporal_id, unsigned poc_lsb, const HevcSps& sps, bool no_rasl_output);

 private:
  int64_t prev_tid0_ = 0;
};

}  // namespace nex::cut::order
