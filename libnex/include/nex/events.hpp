#pragma once
// G-sensor events: the detector a camera runs over its accelerometer stream,
// and events.ndjson, the append-only log on the card.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "nex/output.hpp"
#include "nex/telemetry.hpp"
#include "nex/timeutil.hpp"

namespace nex {

enum class EventKind { HardBrake, Collision, ParkingImpact, ParkingMotion };
const char* to_string(EventKind k);  // "hard-brake", "collision", "parking-impact", "parking-motion"
std::optional<EventKind> parse_event_kind(std::string_view s);
bool is_parking(EventKind k);

// Thresholds of DESIGN.md §2.
struct DetectorConfig {
  double hard_brake_g = 0.4;      // longitudinal deceleration...
  int64_t hard_brake_ms = 200;    // ...sustained at least this long
  double collision_g = 2.0;       // horizontal peak
  double parking_impact_g = 0.25; // deviation from rest while parked
  int64_t merge_ms = 5000;        // one event per kind within this window
};

struct Event {
  std::string id;          // "<YYYYMMDD_HHMMSS>_<kind>"
  LocalTime time;          // camera-local time of onset (ms precision)
  EventKind kind = EventKind::HardBrake;
  double peak_g = 0;
  int64_t duration_ms = 0;
  std::string segment;     // instant key of the recording that holds it
  int64_t offset_ms = 0;   // offset inside that recording
  std::optional<double> lat, lon, speed_kmh;

  ojson to_json() const;
  static std::optional<Event> from_json(const ojson& j);
};

std::string make_event_id(LocalTime t, EventKind k);

// Streaming detector over consecutive samples (absolute times); feeds may
// span segment boundaries.
class EventDetector {
 public:
  explicit EventDetector(DetectorConfig cfg = {}, bool parked = false) : cfg_(cfg), parked_(parked) {}
  // Returns events completed by this sample.
  std::vector<Event> feed(LocalTime t, const AccSample& s);
  // Flush an event still in progress at the end of the stream.
  std::vector<Event> finish();

 private:
  DetectorConfig cfg_;
  bool parked_;
  // hard-brake run
  bool in_brake_ = false;
  LocalTime brake_start_{}, brake_last_{};
  double brake_peak_ = 0;
  // collision / impact spike
  bool in_spike_ = false;
  LocalTime spike_start_{}, spike_last_{};
  double spike_peak_ = 0;
  std::optional<LocalTime> last_emitted_[4];
  std::vector<Event> emit(EventKind k, LocalTime start, LocalTime end, double peak);
};

// events.ndjson: one JSON object a line. A torn or corrupt line is counted in
// stats and skipped.
std::vector<Event> read_events(const std::filesystem::path& file, ParseStats* stats = nullptr);
std::vector<Event> parse_events(std::string_view text, ParseStats* stats = nullptr);
void append_event(const std::filesystem::path& file, const Event& e);

}  // namespace nex
