#pragma once
// Camera-local wall-clock time. A dash cam has no time zone, only an offset in
// camera.yaml, so times are naive: milliseconds since 1970-01-01T00:00:00 of
// the camera's own clock.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace nex {

struct LocalTime {
  int64_t ms = 0;
  auto operator<=>(const LocalTime&) const = default;
  LocalTime operator+(int64_t d) const { return {ms + d}; }
  LocalTime operator-(int64_t d) const { return {ms - d}; }
  int64_t operator-(LocalTime o) const { return ms - o.ms; }
};

struct CivilTime {
  int year = 1970, month = 1, day = 1, hour = 0, minute = 0, second = 0, millis = 0;
};

LocalTime from_civil(const CivilTime& c);
CivilTime to_civil(LocalTime t);

// "2026-11-20T08:12:30", "2026-11-20 08:12:30", with optional ".250".
std::optional<LocalTime> parse_iso(std::string_view s);
// ISO 8601 with seconds; milliseconds are shown when not zero or when forced.
std::string format_iso(LocalTime t, bool with_millis = false);
// "20261120_081230" (file names and ids)
std::string format_compact(LocalTime t);
std::optional<LocalTime> parse_compact(std::string_view s);

// Durations: "90s", "1m30s", "25m", "8h", "1h2m3.5s", "+90s", plain "90" (seconds),
// "500ms". Returns milliseconds.
std::optional<int64_t> parse_duration(std::string_view s);
// "1h02m03s" style, compact and stable.
std::string format_duration(int64_t ms);

// "+02:00", "-05:30", "Z" -> minutes east of UTC.
std::optional<int> parse_utc_offset(std::string_view s);
std::string format_utc_offset(int minutes);

// A user's time argument resolved against a reference day: ISO 8601
// (absolute), "HH:MM[:SS]" (time of day on the reference's day) or a relative
// duration ("+90s", "1m30s") added to the reference.
std::optional<LocalTime> parse_time_arg(std::string_view s, LocalTime reference);

}  // namespace nex
