// Fuzz target: a camera's answers (camera_api.hpp): the info document, the
// file listing and Content-Range. The first byte picks the parser. Bad
// input is an InputError (or nullopt), never a crash; what parses obeys the
// parser's promises (safe, sorted paths; a range inside its total).
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "nex/camera_api.hpp"
#include "nex/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string_view body(reinterpret_cast<const char*>(data) + 1, size - 1);
  try {
    switch (data[0] % 3) {
      case 0: {
        const nex::CameraListing l = nex::parse_camera_listing(body);
        for (size_t i = 0; i < l.files.size(); ++i) {
          if (!nex::is_safe_card_path(l.files[i].path)) std::abort();
          if (i && !(l.files[i - 1].path < l.files[i].path)) std::abort();
        }
        break;
      }
      case 1: {
        const nex::CameraInfo i = nex::parse_camera_info(body);
        if (i.active && !nex::is_safe_card_path(*i.active)) std::abort();
        break;
      }
      default: {
        auto r = nex::parse_content_range(body);
        if (r && !r->unsatisfied && (r->first > r->last || r->last >= r->total)) std::abort();
        break;
      }
    }
  } catch (const nex::InputError&) {
  }
  return 0;
}
