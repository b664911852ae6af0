// Fuzz target: a card's camera.yaml (camera.hpp). Rejects with InputError.
#include <cstdint>
#include <string>

#include "nex/camera.hpp"
#include "nex/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    const nex::CameraIdentity id = nex::parse_camera_yaml(text);
    (void)id.profile();
    (void)id.effective_sos_quota();
    (void)nex::format_camera_yaml(id);
  } catch (const nex::InputError&) {
  }
  return 0;
}
