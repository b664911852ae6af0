// Fuzz target: a backed-up item's manifest (manifest.hpp Manifest::parse),
// read back from a destination. Rejects with InputError. What it accepts it
// writes out again, and that text parses to the same manifest.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "nex/error.hpp"
#include "nex/manifest.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  nex::sync::Manifest m;
  try {
    m = nex::sync::Manifest::parse(text);
  } catch (const nex::InputError&) {
    return 0;
  }
  (void)m.ref();
  (void)m.bytes();
  const std::string out = m.dump();
  try {
    if (nex::sync::Manifest::parse(out).dump() != out) std::abort();
  } catch (const nex::InputError&) {
    std::abort();  // its own output must parse
  }
  return 0;
}
