#pragma once
// Internal: the text forms of MP4 metadata that every muxer of ours writes
// (camera segments, clips).
#include <cstdio>
#include <string>

#include "nex/timeutil.hpp"

namespace nex::media {

// ISO 6709, "+52.5200+013.4050/" (the "location" tag).
inline std::string iso6709(double lat, double lon) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "%+08.4f%+09.4f/", lat, lon);
  return buf;
}

// "2026-11-20T06:12:00.000000Z" (the "creation_time" tag), from a UTC time.
inline std::string iso_utc(LocalTime utc) {
  const CivilTime c = to_civil(utc);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03d000Z", c.year, c.month, c.day, c.hour,
                c.minute, c.second, c.millis);
  return buf;
}

}  // namespace nex::media
