#pragma once
// Sidecar telemetry: the G-sensor (.acc, CSV "ms,x,y,z" in g, 50 Hz) and GPS
// (.gps, NMEA 0183 $GPRMC + $GPGGA at 1 Hz). Readers are tolerant: a torn or
// corrupt line is counted, never fatal.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "nex/timeutil.hpp"

namespace nex {

// x: longitudinal (+ forward), y: lateral (+ left), z: vertical (~1 g at rest).
struct AccSample {
  int64_t ms = 0;  // since the segment began
  double x = 0, y = 0, z = 1;
};

struct GpsFix {
  LocalTime utc;           // UTC wall time the receiver reported
  double lat = 0, lon = 0; // degrees
  double speed_kmh = 0;
  double course = 0;       // degrees
  double alt = 0;          // metres
  bool valid = true;
};

struct ParseStats {
  size_t lines = 0;
  size_t bad_lines = 0;  // corrupt or failed checksum
  bool torn_tail = false;  // last line without newline or incomplete
};

std::string format_acc(const std::vector<AccSample>& samples);
std::vector<AccSample> parse_acc(std::string_view text, ParseStats* stats = nullptr);

std::string format_nmea(const std::vector<GpsFix>& fixes);
// Parses $GPRMC (position, speed, date) and checks every sentence's checksum.
std::vector<GpsFix> parse_nmea(std::string_view text, ParseStats* stats = nullptr);
// "$GPRMC,...*4A" checksum over the text between '$' and '*'.
std::string nmea_checksum(std::string_view body);

// Great-circle distance in metres.
double haversine_m(double lat1, double lon1, double lat2, double lon2);
double track_length_m(const std::vector<GpsFix>& fixes);

}  // namespace nex
