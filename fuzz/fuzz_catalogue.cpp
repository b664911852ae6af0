// Fuzz target: a camera's catalogue (catalogue.hpp Catalogue::parse), read
// back from a destination. Rejects with InputError. What it accepts it writes
// out again, and that text parses to the same catalogue; an accepted entry
// checked against a listing made of its own fields agrees with it.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "nex/catalogue.hpp"
#include "nex/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  nex::sync::Catalogue c;
  try {
    c = nex::sync::Catalogue::parse(text);
  } catch (const nex::InputError&) {
    return 0;
  }
  for (const auto& e : c.entries) {
    const nex::sync::ObjectEntry listed{e.key, e.size, e.etag, e.last_modified};
    if (!nex::sync::entry_agrees(e, listed, /*md5_etags=*/false)) std::abort();
    (void)nex::sync::entry_agrees(e, listed, /*md5_etags=*/true);
  }
  const std::string out = c.dump();
  try {
    if (nex::sync::Catalogue::parse(out).dump() != out) std::abort();
  } catch (const nex::InputError&) {
    std::abort();  // its own output must parse
  }
  return 0;
}
