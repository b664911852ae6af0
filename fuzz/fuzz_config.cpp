// Fuzz target: the user's config.yaml (config.hpp). Rejects with InputError;
// lookups of any dotted key never throw.
#include <cstdint>
#include <string>

#include "nex/config.hpp"
#include "nex/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    const nex::Config cfg = nex::Config::from_string(text);
    for (const char* key : {"nexsync.bwlimit", "nexsync.endpoint", "nexsync.links.mobile.carry", "log", "a.b.c.d",
                            "", ".", "nexsync..x", "0", "[0]"})
      (void)cfg.get(key);
    (void)nex::resolve(std::nullopt, nullptr, cfg, "nexsync.bucket", "fallback");
  } catch (const nex::InputError&) {
  }
  return 0;
}
