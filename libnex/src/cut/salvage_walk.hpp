#pragma once
// Internal to nexcut salvage (salvage.cpp): walking a moov-less mdat into
// samples (salvage_walk.cpp) and giving its pictures their display order
// (salvage_order.cpp).
#include <cstddef>
#include <cstdint>
#include <vector>

#include "cut/h264.hpp"
#include "nex/context.hpp"

struct AVCodecParameters;

namespace nex::cut::salvage_detail {

enum class VideoCodec { H264, Hevc };
enum class AudioKind { None, Aac, Pcm };

struct Sample {
  size_t off = 0, size = 0;
  bool key = false;
};

// What the reference recording says about the stream.
struct StreamInfo {
  VideoCodec codec = VideoCodec::H264;
  int length_size = 4;                 // NAL unit length field (avcC/hvcC)
  std::vector<h264::Bytes> param_sets;  // SPS/PPS (and VPS) of the sample entry
  size_t max_nal = 2u << 20;           // a NAL unit longer than this is not one
  AudioKind audio = AudioKind::None;
  const AVCodecParameters* apar = nullptr;
  int aac_frame_size = 1024;
  size_t pcm_block = 0;               // PCM: bytes per sample frame (all channels)
  std::vector<size_t> pcm_runs;       // PCM: the lengths of the reference's audio runs between video samples
};

struct Walk {
  std::vector<Sample> video, audio;
  uint64_t skipped = 0, tail = 0;
};
Walk walk(const uint8_t* data, size_t size, const StreamInfo& info, const Context& ctx);

// The display order of the walked video samples (in decode order):
// for each sample kept, its display slot (pts in frames) and decode slot
// (dts in frames, <= the display slot); undecodable leading pictures are
// dropped (see salvage_order.cpp).
struct Order {
  std::vector<size_t> kept;        // indices into the walk's video, decode order
  std::vector<int64_t> pts, dts;   // in frame durations
  std::vector<bool> key;
  size_t dropped = 0;
  int64_t end = 0;                 // display slot after the last frame
};
Order picture_order(const uint8_t* data, const std::vector<Sample>& video, const StreamInfo& info,
                    const Context& ctx);

}  // namespace nex::cut::salvage_detail
