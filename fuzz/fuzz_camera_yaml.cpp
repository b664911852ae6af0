// Fuzz target: a card's camera.yaml (camera.hpp). Rejects with InputError.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "nex/camera.hpp"
#include "nex/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    const nex::CameraIdentity id = nex::parse_camera_yaml(text);
    (void)id.profile();
    (void)id.effective_sos_quota();
    const std::string text2 = nex::format_camera_yaml(id);
    // The recording format round-trips (a serial YAML cannot hold may make
    // the written file unreadable: that is an InputError, not a crash).
    if (nex::parse_camera_yaml(text2).format != id.format) std::abort();
  } catch (const nex::InputError&) {
  }
  return 0;
}
