#include "nex/telemetry.hpp"

#include <charconv>
#include <cmath>
#include <cstdio>

namespace nex {
namespace {

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  for (;;) {
    const size_t p = s.find(sep, start);
    out.push_back(s.substr(start, p == std::string_view::npos ? std::string_view::npos : p - start));
    if (p == std::string_view::npos) break;
    start = p + 1;
  }
  return out;
}

bool to_double(std::string_view s, double& v) {
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  return ec == std::errc() && p == s.data() + s.size() && std::isfinite(v);
}

bool to_int(std::string_view s, int64_t& v) {
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  return ec == std::errc() && p == s.data() + s.size();
}

// Iterates lines; reports whether the final line lacked its newline.
template <class F>
void for_each_line(std::string_view text, ParseStats* st, F&& f) {
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    const bool torn = nl == std::string_view::npos;
    std::string_view line = text.substr(pos, torn ? std::string_view::npos : nl - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    pos = torn ? text.size() : nl + 1;
    if (line.empty()) continue;
    if (st) ++st->lines;
    const bool ok = f(line);
    if (!ok && st) {
      if (torn) st->torn_tail = true;
      else ++st->bad_lines;
    } else if (torn && st) {
      st->torn_tail = true;
    }
  }
}

std::string nmea_coord(double deg, bool lat) {
  const char hemi = lat ? (deg < 0 ? 'S' : 'N') : (deg < 0 ? 'W' : 'E');
  deg = std::fabs(deg);
  const int d = static_cast<int>(deg);
  const double m = (deg - d) * 60.0;
  char buf[32];
  std::snprintf(buf, sizeof buf, lat ? "%02d%07.4f,%c" : "%03d%07.4f,%c", d, m, hemi);
  return buf;
}

bool parse_coord(std::string_view v, std::string_view hemi, bool lat, double& out) {
  double raw;
  if (!to_double(v, raw) || hemi.size() != 1) return false;
  const double d = std::floor(raw / 100.0);
  const double m = raw - d * 100.0;
  if (m >= 60.0 || d > (lat ? 90 : 180)) return false;
  out = d + m / 60.0;
  if (hemi == "S" || hemi == "W") out = -out;
  else if (hemi != "N" && hemi != "E") return false;
  return true;
}

}  // namespace

std::string format_acc(const std::vector<AccSample>& samples) {
  std::string out;
  out.reserve(samples.size() * 28);
  char buf[96];
  for (const auto& s : samples) {
    std::snprintf(buf, sizeof buf, "%lld,%.3f,%.3f,%.3f\n", static_cast<long long>(s.ms), s.x, s.y, s.z);
    out += buf;
  }
  return out;
}

// A sample's offset into its segment: a segment is a minute; a day is
// already absurd. Bounding it here keeps "segment start + ms" in range for
// every reader (fuzz_acc found 9223372036854775807 overflowing it).
constexpr int64_t kMaxAccMs = 24LL * 3600 * 1000;

std::vector<AccSample> parse_acc(std::string_view text, ParseStats* st) {
  std::vector<AccSample> out;
  for_each_line(text, st, [&](std::string_view line) {
    const auto f = split(line, ',');
    AccSample s;
    if (f.size() != 4 || !to_int(f[0], s.ms) || s.ms < 0 || s.ms > kMaxAccMs || !to_double(f[1], s.x) ||
        !to_double(f[2], s.y) || !to_double(f[3], s.z))
      return false;
    out.push_back(s);
    return true;
  });
  return out;
}

std::string nmea_checksum(std::string_view body) {
  unsigned char c = 0;
  for (char ch : body) c ^= static_cast<unsigned char>(ch);
  char buf[4];
  std::snprintf(buf, sizeof buf, "%02X", c);
  return buf;
}

std::string format_nmea(const std::vector<GpsFix>& fixes) {
  std::string out;
  char body[160];
  for (const auto& f : fixes) {
    const CivilTime c = to_civil(f.utc);
    const double knots = f.speed_kmh / 1.852;
    std::snprintf(body, sizeof body, "GPRMC,%02d%02d%02d.%02d,%c,%s,%s,%.1f,%.1f,%02d%02d%02d,,,A", c.hour, c.minute,
                  c.second, c.millis / 10, f.valid ? 'A' : 'V', nmea_coord(f.lat, true).c_str(),
                  nmea_coord(f.lon, false).c_str(), knots, f.course, c.day, c.month, c.year % 100);
    out += '$';
    out += body;
    out += '*' + nmea_checksum(body) + "\r\n";
    std::snprintf(body, sizeof body, "GPGGA,%02d%02d%02d.%02d,%s,%s,%d,09,0.9,%.1f,M,0.0,M,,", c.hour, c.minute,
                  c.second, c.millis / 10, nmea_coord(f.lat, true).c_str(), nmea_coord(f.lon, false).c_str(),
                  f.valid ? 1 : 0, f.alt);
    out += '$';
    out += body;
    out += '*' + nmea_checksum(body) + "\r\n";
  }
  return out;
}

std::vector<GpsFix> parse_nmea(std::string_view text, ParseStats* st) {
  std::vector<GpsFix> out;
  for_each_line(text, st, [&](std::string_view line) {
    if (line.size() < 10 || line[0] != '$') return false;
    const size_t star = line.rfind('*');
    if (star == std::string_view::npos || star + 3 != line.size()) return false;
    const std::string_view body = line.substr(1, star - 1);
    if (nmea_checksum(body) != line.substr(star + 1)) return false;
    const auto f = split(body, ',');
    if (f[0] == "GPGGA") return f.size() >= 10;
    if (f[0] != "GPRMC") return true;  // other sentences are fine, just unused
    if (f.size() < 10) return false;
    GpsFix fix;
    fix.valid = f[2] == "A";
    if (!fix.valid) return true;
    double speed = 0, course = 0;
    if (!parse_coord(f[3], f[4], true, fix.lat) || !parse_coord(f[5], f[6], false, fix.lon) ||
        !to_double(f[7], speed) || (!f[8].empty() && !to_double(f[8], course)))
      return false;
    fix.speed_kmh = speed * 1.852;
    fix.course = course;
    int64_t hms_i = 0, dmy = 0;
    const std::string_view hms = f[1].substr(0, f[1].find('.'));
    if (hms.size() != 6 || f[9].size() != 6 || !to_int(hms, hms_i) || !to_int(f[9], dmy) || hms_i < 0 ||
        dmy < 0)  // "-12345" is six characters too
      return false;
    CivilTime c;
    c.hour = static_cast<int>(hms_i / 10000);
    c.minute = static_cast<int>(hms_i / 100 % 100);
    c.second = static_cast<int>(hms_i % 100);
    c.day = static_cast<int>(dmy / 10000);
    c.month = static_cast<int>(dmy / 100 % 100);
    c.year = 2000 + static_cast<int>(dmy % 100);
    if (c.hour > 23 || c.minute > 59 || c.second > 59 || c.month < 1 || c.month > 12 || c.day < 1 || c.day > 31)
      return false;
    fix.utc = from_civil(c);
    out.push_back(fix);
    return true;
  });
  return out;
}

double haversine_m(double lat1, double lon1, double lat2, double lon2) {
  constexpr double kR = 6371000.0, kRad = M_PI / 180.0;
  const double dlat = (lat2 - lat1) * kRad, dlon = (lon2 - lon1) * kRad;
  const double a = std::sin(dlat / 2) * std::sin(dlat / 2) +
                   std::cos(lat1 * kRad) * std::cos(lat2 * kRad) * std::sin(dlon / 2) * std::sin(dlon / 2);
  return 2 * kR * std::asin(std::min(1.0, std::sqrt(a)));
}

double track_length_m(const std::vector<GpsFix>& fixes) {
  double d = 0;
  for (size_t i = 1; i < fixes.size(); ++i)
    d += haversine_m(fixes[i - 1].lat, fixes[i - 1].lon, fixes[i].lat, fixes[i].lon);
  return d;
}

}  // namespace nex
