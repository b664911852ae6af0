#pragma once
// nexcut salvage: a playable MP4 from a recording cut short by a power loss
// (media data present, no moov index, mdat size 0). The codec parameters come
// from a healthy recording of the same camera (found next to the file, or
// given); the media data is walked sample by sample: H.264 and HEVC access
// units are length-prefixed NAL units and validate themselves; AAC frames
// between them are delimited by decoding (the shortest length that decodes
// is the frame), PCM runs by where the next access unit starts. Pictures get
// their display order from their order counts (B-frames, open GOPs). Every
// complete frame is kept; the torn tail is dropped. A .mov output gets a
// QuickTime file (needed for PCM audio).
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include "nex/context.hpp"
#include "nex/output.hpp"

namespace nex::cut {

struct SalvageOptions {
  std::filesystem::path input;
  std::filesystem::path output;
  std::optional<std::filesystem::path> reference;  // default: a healthy file of the same camera beside input
  bool overwrite = false;
};

struct SalvageReport {
  std::filesystem::path input, output, reference;
  std::string codec;                // h264 | hevc
  int64_t video_frames = 0, keyframes = 0;
  int64_t dropped_frames = 0;       // complete but undecodable leading pictures (open GOP at the start)
  int64_t audio_frames = 0;         // AAC frames, or PCM sample frames
  int64_t duration_ms = 0;          // of the video
  uint64_t media_bytes = 0;         // bytes after the mdat header
  uint64_t used_bytes = 0;          // in recovered frames
  uint64_t tail_bytes = 0;          // incomplete last frame(s), dropped
  uint64_t skipped_bytes = 0;       // unrecognised data skipped in the middle
  ojson to_json() const;
};

SalvageReport salvage(const SalvageOptions& o, const Context& ctx);

// A healthy recording of the same camera next to `damaged` (same folder,
// same tag, nearest in time); nullopt when there is none.
std::optional<std::filesystem::path> find_reference(const std::filesystem::path& damaged);

}  // namespace nex::cut
