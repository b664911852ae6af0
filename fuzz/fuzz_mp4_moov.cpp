// Fuzz target: the moov box reader behind nexls (mp4.hpp parse_mp4_moov):
// the input is a moov payload. Never throws.
#include <cstdint>
#include <string_view>

#include "nex/mp4.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view moov(reinterpret_cast<const char*>(data), size);
  const nex::Mp4Info info = nex::parse_mp4_moov(moov, size + 1024);
  (void)info.video();
  (void)info.audio();
  (void)nex::to_string(info.state);
  return 0;
}
