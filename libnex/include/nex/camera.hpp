#pragma once
// camera.yaml: the identity a card carries.
#include <cstdint>
#include <filesystem>
#include <string>

#include "nex/models.hpp"
#include "nex/recording_format.hpp"

namespace nex {

struct CameraIdentity {
  std::string model;          // model id
  std::string serial;
  std::string firmware;
  int utc_offset_min = 0;
  uint64_t capacity = 0;      // bytes
  uint64_t sos_quota = 0;     // bytes; 0 = model default fraction of capacity
  // How it records (keys codec, fps, bframes, gop, container); each absent
  // key is the model's default (H.264, 30 fps, no B-frames, 1 s, mp4).
  RecordingFormat format;

  const ModelProfile& profile() const;  // throws InputError if unknown
  uint64_t effective_sos_quota() const;
};

// Throws InputError with a one-line reason on a missing or malformed file.
CameraIdentity load_camera_yaml(const std::filesystem::path& card);
CameraIdentity parse_camera_yaml(const std::string& text);
std::string format_camera_yaml(const CameraIdentity& id);

}  // namespace nex
