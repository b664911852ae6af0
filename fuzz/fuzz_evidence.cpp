// Fuzz target: an evidence bundle's manifest (evidence.hpp
// evidence::Manifest::parse), read by `nexls verify` from a folder anyone may
// have made. Rejects with InputError, nothing else. What it accepts holds
// only safe relative paths, and its own document parses to the same lists.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "nex/error.hpp"
#include "nex/evidence.hpp"

namespace {

bool safe(const std::string& p) {
  return !p.empty() && p[0] != '/' && p.find("..") == std::string::npos && p.find('\\') == std::string::npos;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  nex::evidence::Manifest m;
  try {
    m = nex::evidence::Manifest::parse(text);
  } catch (const nex::InputError&) {
    return 0;
  }
  for (const auto& f : m.files)
    if (!safe(f.path) || f.sha256.size() != 64) std::abort();
  for (const auto& c : m.clips) {
    if (!safe(c.file)) std::abort();
    for (const auto& r : c.runs)
      if (!safe(r.source) || r.source_last < r.source_first) std::abort();
  }
  try {
    const auto again = nex::evidence::Manifest::parse(m.document.dump());
    if (again.files.size() != m.files.size() || again.clips.size() != m.clips.size()) std::abort();
  } catch (const nex::InputError&) {
    std::abort();  // a document it accepted, written out again, must parse
  }
  return 0;
}
