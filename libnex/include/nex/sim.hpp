#pragma once
// nexsim as a library job: the camera emulator that writes cards. It is the
// only writer of cards; every write goes through a temporary name and a
// rename, and loop/sos rotation runs before each recording is committed.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "nex/camera.hpp"
#include "nex/context.hpp"
#include "nex/events.hpp"
#include "nex/footage.hpp"
#include "nex/recording_format.hpp"
#include "nex/timeutil.hpp"

namespace nex::sim {

struct InitOptions {
  std::filesystem::path card;
  std::string model;           // id or name
  uint64_t capacity = 0;       // bytes
  std::string serial;          // empty: derived from the model and card name
  std::string firmware = "3.2.1";
  int utc_offset_min = 0;
  std::optional<uint64_t> sos_quota;
  RecordingFormat format;      // how it records; unset fields: the model's defaults
};
void init_card(const InitOptions& o, const Context& ctx);

// "hard-brake@6m", "collision@14m30s", "impact@2h", "motion@5h10m"
struct PlannedEvent {
  std::string kind;  // as typed: hard-brake, collision, impact, motion
  int64_t at_ms = 0;
};
PlannedEvent parse_planned_event(const std::string& spec);  // throws UsageError

struct DriveOptions {
  std::filesystem::path card;
  std::optional<LocalTime> start;  // default: a minute after the card's newest footage
  int64_t duration_ms = 0;
  int64_t segment_ms = 60000;
  bool interior = false;
  bool night = false;
  std::vector<PlannedEvent> events;
  uint64_t seed = 1;
  bool power_cut = false;
  bool clock_reset = false;
  std::filesystem::path cache_dir;  // footage templates
  // 0: write as fast as it can. N > 0: N× real time: each segment is open
  // (its files under temporary names, as a camera's file being recorded)
  // for its length / N, then closed; a watcher meets the drive as it happens.
  double pace = 0;
};
// "1x", "10x", "20", "0.5x" -> factor; throws UsageError (0 < factor <= 1000).
double parse_pace(std::string_view s);

struct RunReport {
  size_t recordings_written = 0;
  size_t recordings_deleted = 0;  // by rotation
  uint64_t bytes_written = 0;
  std::vector<Event> events;      // detected and logged
  LocalTime start, end;
};
RunReport simulate_drive(const DriveOptions& o, const Context& ctx);

struct ParkOptions {
  std::filesystem::path card;
  std::optional<LocalTime> start;  // default: when the newest drive ended
  int64_t duration_ms = 0;
  std::vector<PlannedEvent> incidents;
  int64_t clip_ms = 20000;
  uint64_t seed = 1;
  std::filesystem::path cache_dir;
};
RunReport simulate_park(const ParkOptions& o, const Context& ctx);

// The footage templates a camera records from (road, interior by day and by
// night), in its recording format; none: the default cameras'.
std::vector<StreamProfile> camera_templates(const std::optional<CameraIdentity>& id);

}  // namespace nex::sim
