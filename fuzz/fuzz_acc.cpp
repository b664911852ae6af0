// Fuzz target: the .acc G-sensor CSV sidecar (telemetry.hpp). A tolerant
// reader: never throws, bad lines are counted. Each sample is then placed in
// time the way nexcut's telemetry export does (segment start + sample ms).
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "nex/telemetry.hpp"
#include "nex/timeutil.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  nex::ParseStats st;
  const auto samples = nex::parse_acc(text, &st);
  if (st.bad_lines > st.lines || samples.size() > st.lines) std::abort();
  const nex::LocalTime start = nex::from_civil({2026, 11, 20, 8, 12, 0, 0});
  for (const auto& s : samples) (void)nex::format_iso(start + s.ms, true);
  (void)nex::format_acc(samples);
  return 0;
}
