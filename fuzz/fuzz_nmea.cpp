// Fuzz target: the .gps NMEA sidecar (telemetry.hpp). A tolerant reader: it
// never throws, bad lines are counted. Fixes are then used the way nexls and
// nexcut do: track length, civil time, offset from the first fix.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "nex/telemetry.hpp"
#include "nex/timeutil.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  nex::ParseStats st;
  const auto fixes = nex::parse_nmea(text, &st);
  if (st.bad_lines > st.lines || fixes.size() > st.lines) std::abort();
  (void)nex::track_length_m(fixes);
  const nex::LocalTime start = nex::from_civil({2026, 11, 20, 8, 12, 0, 0});
  for (const auto& g : fixes) {
    (void)nex::to_civil(g.utc);
    (void)nex::format_iso(start + (g.utc - fixes.front().utc), true);
  }
  (void)nex::format_nmea(fixes);
  return 0;
}
