#pragma once
// Internal: the small slice of H.264 / MP4 syntax nexcut needs: avcC sample
// entry records, Annex B <-> length-prefixed NAL units, the ids in SPS/PPS
// headers, and the x264 options string an x264 stream carries in an SEI.
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace nex::cut::h264 {

using Bytes = std::vector<uint8_t>;

// Exp-Golomb reader over an RBSP (emulation prevention bytes removed). Every
// read past the end gives nullopt.
class BitReader {
 public:
  explicit BitReader(std::span<const uint8_t> nal) {
    rbsp_.reserve(nal.size());
    int zeros = 0;
    for (uint8_t b : nal) {
      if (zeros >= 2 && b == 3) {
        zeros = 0;
        continue;
      }
      zeros = b == 0 ? zeros + 1 : 0;
      rbsp_.push_back(b);
    }
  }
  std::optional<unsigned> bits(int n) {
    unsigned v = 0;
    for (int i = 0; i < n; ++i) {
      if (pos_ >= rbsp_.size() * 8) return std::nullopt;
      v = v << 1 | ((rbsp_[pos_ / 8] >> (7 - pos_ % 8)) & 1u);
      ++pos_;
    }
    return v;
  }
  std::optional<unsigned> ue() {
    int lz = 0;
    for (;;) {
      auto b = bits(1);
      if (!b) return std::nullopt;
      if (*b) break;
      if (++lz > 31) return std::nullopt;
    }
    auto rest = bits(lz);
    if (!rest) return std::nullopt;
    const uint64_t v = (uint64_t{1} << lz) - 1 + *rest;
    if (v > 0xFFFFFFFFu) return std::nullopt;
    return static_cast<unsigned>(v);
  }
  std::optional<int> se() {
    auto u = ue();
    if (!u) return std::nullopt;
    const int64_t k = *u;
    return static_cast<int>(k & 1 ? (k + 1) / 2 : -(k / 2));
  }
  bool skip(size_t n) {
    if (pos_ + n > rbsp_.size() * 8) return false;
    pos_ += n;
    return true;
  }

 private:
  std::vector<uint8_t> rbsp_;
  size_t pos_ = 0;
};

// AVCDecoderConfigurationRecord (ISO/IEC 14496-15 5.3.3.1).
struct AvcC {
  uint8_t profile = 0, compat = 0, level = 0;
  int length_size = 4;
  std::vector<Bytes> sps, pps;  // NAL units without start code or length
  Bytes ext;                    // High-profile trailer (chroma format, bit depths, SPS ext), as is
};
std::optional<AvcC> parse_avcc(std::span<const uint8_t> data);
Bytes build_avcc(const AvcC& c);

// NAL units of an Annex B buffer (start codes removed).
std::vector<std::span<const uint8_t>> split_annexb(std::span<const uint8_t> data);
// NAL units of a length-prefixed buffer; nullopt when the lengths do not tile it.
std::optional<std::vector<std::span<const uint8_t>>> split_lengths(std::span<const uint8_t> data, int length_size);
// Length-prefixed sample from NAL units, leaving out the types in `drop`.
Bytes to_lengths(const std::vector<std::span<const uint8_t>>& nals, int length_size, std::initializer_list<int> drop = {});

inline int nal_type(std::span<const uint8_t> nal) { return nal.empty() ? -1 : nal[0] & 0x1F; }

// HEVCDecoderConfigurationRecord (ISO/IEC 14496-15 8.3.3.1): the NAL length
// size and the parameter-set NAL units of its arrays (VPS, SPS, PPS, SEI).
struct HvcC {
  int length_size = 4;
  std::vector<Bytes> nals;  // in record order, without lengths
};
std::optional<HvcC> parse_hvcc(std::span<const uint8_t> data);
inline int hevc_nal_type(std::span<const uint8_t> nal) { return nal.empty() ? -1 : (nal[0] >> 1) & 0x3F; }

// A sample (length-prefixed NAL units) that no other picture refers to and
// that carries no parameter set: H.264 slices with nal_ref_idc 0; HEVC
// sub-layer non-reference slices (TRAIL_N, TSA_N, STSA_N, RADL_N, RASL_N,
// RSV_VCL_N*) of temporal id 0, which no picture refers to when the stream
// has one temporal sub-layer (the caller's to know). A decoder that is fed
// only what a range needs may leave such a picture out when it is not shown.
bool non_reference(std::span<const uint8_t> sample, int length_size, bool hevc);

// seq_parameter_set_id of an SPS; {pps id, sps id} of a PPS.
std::optional<unsigned> sps_id(std::span<const uint8_t> sps);
std::optional<std::pair<unsigned, unsigned>> pps_ids(std::span<const uint8_t> pps);
// For a slice NAL (type 1 or 5): first_mb_in_slice == 0 and the pps id.
struct SliceHead {
  unsigned first_mb = 0;
  unsigned slice_type = 0;
  unsigned pps_id = 0;
};
std::optional<SliceHead> slice_head(std::span<const uint8_t> nal);

// "options: cabac=1 ref=1 ..." of the x264 user-data SEI in a sample, parsed
// into key -> value. Empty when the sample has none.
std::map<std::string, std::string> x264_options(std::span<const uint8_t> sample, int length_size);
// The x264 parameters (x264-params syntax, "k=v:k=v") that reproduce the
// stream headers and coding tools described by x264_options().
std::string x264_params_from(const std::map<std::string, std::string>& opts);

}  // namespace nex::cut::h264
