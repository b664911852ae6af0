// Fuzz target: the card's file-name grammar (naming.hpp). Never throws.
// Checks the round trip: a name the parser accepts formats back to itself.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "nex/naming.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  (void)nex::parse_camera(text);
  if (const auto f = nex::parse_file_name(text)) {
    (void)f->camera();
    (void)f->parking();
    if (nex::format_file_name(*f) != text) std::abort();  // accepted names round-trip exactly
    if (nex::instant_key(f->time) != text.substr(0, 15)) std::abort();
  }
  return 0;
}
