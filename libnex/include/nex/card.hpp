#pragma once
// A card as the camera left it: recordings grouped by instant, drives
// (trips), parking clips, events, and findings about anything odd. Scanning
// is read-only and tolerant: nothing on a card makes it throw, except a card
// folder that cannot be opened at all.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "nex/camera.hpp"
#include "nex/context.hpp"
#include "nex/events.hpp"
#include "nex/mp4.hpp"
#include "nex/naming.hpp"

namespace nex {

enum class Severity { Info, Warning, Problem };
const char* to_string(Severity s);

struct Finding {
  Severity severity = Severity::Problem;
  std::string code;     // stable machine key: "zero-byte", "truncated", ...
  std::string path;     // relative to the card, "" for card-wide findings
  std::string message;  // one line for people
  ojson to_json() const;
};

struct CardFile {
  std::filesystem::path path;  // absolute; empty when the card is a camera (read through CardScan::source)
  std::string rel;             // "drive/20261120_081200_1.mp4"
  uint64_t size = 0;
  FileName name;
};

// Every file of one instant in one folder (drive/ or sos/).
struct Recording {
  std::string key;         // "20261120_081200"
  LocalTime start;
  std::string dir;         // "drive" or "sos"
  bool parking = false;
  std::optional<CardFile> road, interior, road_thumb, interior_thumb, gps, acc;
  Mp4Info road_info, interior_info;  // state Malformed with problem "not probed" when skipped
  int64_t duration_ms = 0;           // from the MP4 headers; 0 when unknown
  bool duration_known = false;
  uint64_t bytes = 0;
  std::vector<std::filesystem::path> files;  // every file, for rotation

  LocalTime end() const { return start + duration_ms; }
  bool has(Camera c) const { return c == Camera::Road ? road.has_value() : interior.has_value(); }
};

struct Drive {
  std::string id;            // instant key of its first segment
  LocalTime start, end;
  std::vector<size_t> segments;  // indices into CardScan::recordings
  double distance_m = 0;
  bool road = false, interior = false;
  std::vector<size_t> events;    // indices into CardScan::events
  uint64_t bytes = 0;
  int score = 100;
  bool clock_reset = false;
};

struct ScanOptions {
  bool probe_media = true;  // read MP4 headers (durations, codecs)
  bool read_gps = true;     // distances
  int64_t gap_tolerance_ms = 2000;  // larger gaps split drives
};

class Source;

struct CardScan {
  std::filesystem::path root;                // the folder; empty for a camera
  std::shared_ptr<Source> source;            // what the card was read through
  std::optional<CameraIdentity> camera;
  const ModelProfile* model = nullptr;
  std::vector<Recording> recordings;  // drive recordings, oldest first
  std::vector<Recording> parking;     // parking clips (drive/ or sos/), oldest first
  std::vector<Drive> drives;          // oldest first
  std::vector<Event> events;          // as in events.ndjson, in file order
  ParseStats events_stats;
  std::vector<Finding> findings;
  uint64_t used_bytes = 0, drive_bytes = 0, sos_bytes = 0;
  std::vector<std::string> unknown_files;  // relative paths
  std::vector<std::string> recording_now;  // a camera's files still being recorded (left out)

  // The card as the user named it: its folder, or the camera's URL.
  std::string where() const;
  // A (small) file of the card, read through its source. Throws IoError.
  std::string read(const CardFile& f) const;

  // The recording holding a time, if any (drive recordings then parking).
  const Recording* recording_at(LocalTime t) const;
};

// Throws InputError when `card` is missing or not a folder. A missing or bad
// camera.yaml is a finding (camera stays empty) unless require_identity.
CardScan scan_card(const std::filesystem::path& card, const ScanOptions& opts, const Context& ctx,
                   bool require_identity = false);
// The same through any source (a folder or a camera, nex/source.hpp).
CardScan scan_card(const std::shared_ptr<Source>& source, const ScanOptions& opts, const Context& ctx,
                   bool require_identity = false);

// The drive score: 100 − 25 × collisions − 10 × hard brakes per 10 km (at
// least 10 km counted), clamped to 0..100.
int drive_score(int hard_brakes, int collisions, double distance_m);

// A recording's time is before the camera could have been made: the clock
// was reset (year 2000 after a dead RTC battery).
bool is_clock_reset(LocalTime t);

}  // namespace nex
