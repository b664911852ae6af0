// Fuzz target: the card's events.ndjson (events.hpp). Never throws: torn or
// corrupt lines are counted. Every event read back survives its own JSON.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "nex/events.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  nex::ParseStats st;
  for (const auto& e : nex::parse_events(text, &st)) {
    const auto j = e.to_json();
    (void)j.dump();
    if (!nex::Event::from_json(j)) std::abort();
  }
  return 0;
}
