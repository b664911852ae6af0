#include "nex/timeutil.hpp"

#include <charconv>
#include <cmath>
#include <cstdio>

namespace nex {
namespace {

// Howard Hinnant's civil-calendar algorithms (public domain formulation).
int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

void civil_from_days(int64_t z, int& y, int& m, int& d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t yy = static_cast<int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  d = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
  m = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
  y = static_cast<int>(yy + (m <= 2));
}

bool leap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }
int days_in_month(int y, int m) {
  static const int dim[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && leap(y) ? 29 : dim[m - 1];
}

bool digits(std::string_view s, size_t pos, size_t n, int& out) {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
  }
  out = v;
  return true;
}

bool valid(const CivilTime& c) {
  return c.year >= 1970 && c.year <= 9999 && c.month >= 1 && c.month <= 12 && c.day >= 1 &&
         c.day <= days_in_month(c.year, c.month) && c.hour >= 0 && c.hour <= 23 && c.minute >= 0 &&
         c.minute <= 59 && c.second >= 0 && c.second <= 59 && c.millis >= 0 && c.millis <= 999;
}

// Parses ".250" style fractions into milliseconds; advances pos.
bool fraction(std::string_view s, size_t& pos, int& ms) {
  ms = 0;
  if (pos >= s.size() || s[pos] != '.') return true;
  ++pos;
  int scale = 100, n = 0;
  while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
    ms += (s[pos] - '0') * scale;
    scale /= 10;
    ++pos;
    ++n;
  }
  return n > 0;
}

}  // namespace

LocalTime from_civil(const CivilTime& c) {
  const int64_t days = days_from_civil(c.year, static_cast<unsigned>(c.month), static_cast<unsigned>(c.day));
  return {((days * 24 + c.hour) * 60 + c.minute) * 60000 + c.second * 1000LL + c.millis};
}

CivilTime to_civil(LocalTime t) {
  int64_t ms = t.ms;
  int64_t days = ms >= 0 ? ms / 86400000 : -((-ms + 86399999) / 86400000);
  int64_t rem = ms - days * 86400000;
  CivilTime c;
  civil_from_days(days, c.year, c.month, c.day);
  c.hour = static_cast<int>(rem / 3600000);
  c.minute = static_cast<int>(rem / 60000 % 60);
  c.second = static_cast<int>(rem / 1000 % 60);
  c.millis = static_cast<int>(rem % 1000);
  return c;
}

std::optional<LocalTime> parse_iso(std::string_view s) {
  CivilTime c;
  if (s.size() < 19) return std::nullopt;
  if (!digits(s, 0, 4, c.year) || s[4] != '-' || !digits(s, 5, 2, c.month) || s[7] != '-' ||
      !digits(s, 8, 2, c.day) || (s[10] != 'T' && s[10] != ' ') || !digits(s, 11, 2, c.hour) ||
      s[13] != ':' || !digits(s, 14, 2, c.minute) || s[16] != ':' || !digits(s, 17, 2, c.second))
    return std::nullopt;
  size_t pos = 19;
  if (!fraction(s, pos, c.millis)) return std::nullopt;
  if (pos != s.size()) return std::nullopt;
  if (!valid(c)) return std::nullopt;
  return from_civil(c);
}

std::string format_iso(LocalTime t, bool with_millis) {
  const CivilTime c = to_civil(t);
  char buf[40];
  if (with_millis || c.millis)
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03d", c.year, c.month, c.day, c.hour,
                  c.minute, c.second, c.millis);
  else
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d", c.year, c.month, c.day, c.hour, c.minute,
                  c.second);
  return buf;
}

std::string format_compact(LocalTime t) {
  const CivilTime c = to_civil(t);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d%02d%02d_%02d%02d%02d", c.year, c.month, c.day, c.hour, c.minute,
                c.second);
  return buf;
}

std::optional<LocalTime> parse_compact(std::string_view s) {
  CivilTime c;
  if (s.size() != 15 || s[8] != '_') return std::nullopt;
  if (!digits(s, 0, 4, c.year) || !digits(s, 4, 2, c.month) || !digits(s, 6, 2, c.day) ||
      !digits(s, 9, 2, c.hour) || !digits(s, 11, 2, c.minute) || !digits(s, 13, 2, c.second))
    return std::nullopt;
  if (!valid(c)) return std::nullopt;
  return from_civil(c);
}

std::optional<int64_t> parse_duration(std::string_view s) {
  if (!s.empty() && s[0] == '+') s.remove_prefix(1);
  if (s.empty()) return std::nullopt;
  double total = 0;
  size_t pos = 0;
  bool any = false;
  char last_unit = 'x';
  while (pos < s.size()) {
    size_t start = pos;
    while (pos < s.size() && ((s[pos] >= '0' && s[pos] <= '9') || s[pos] == '.')) ++pos;
    if (pos == start) return std::nullopt;
    double v = 0;
    auto [p, ec] = std::from_chars(s.data() + start, s.data() + pos, v);
    if (ec != std::errc() || p != s.data() + pos || !std::isfinite(v)) return std::nullopt;
    if (pos == s.size()) {
      if (any) return std::nullopt;  // "1m30" is ambiguous: require a unit
      total = v * 1000;
      any = true;
      break;
    }
    double scale;
    char unit;
    if (s.substr(pos, 2) == "ms") {
      scale = 1, unit = 'u', pos += 2;
    } else if (s[pos] == 'h') {
      scale = 3600000, unit = 'h', ++pos;
    } else if (s[pos] == 'm') {
      scale = 60000, unit = 'm', ++pos;
    } else if (s[pos] == 's') {
      scale = 1000, unit = 's', ++pos;
    } else {
      return std::nullopt;
    }
    // Units must come in decreasing order, each once.
    static const std::string_view order = "hmsu";
    if (last_unit != 'x' && order.find(unit) <= order.find(last_unit)) return std::nullopt;
    last_unit = unit;
    total += v * scale;
    any = true;
  }
  if (!any || total > 1e15) return std::nullopt;
  return static_cast<int64_t>(std::llround(total));
}

std::string format_duration(int64_t ms) {
  const bool neg = ms < 0;
  if (neg) ms = -ms;
  const int64_t h = ms / 3600000, m = ms / 60000 % 60, s = ms / 1000 % 60, r = ms % 1000;
  char buf[64];
  if (h)
    std::snprintf(buf, sizeof buf, "%s%lldh%02lldm%02llds", neg ? "-" : "", static_cast<long long>(h),
                  static_cast<long long>(m), static_cast<long long>(s));
  else if (m)
    std::snprintf(buf, sizeof buf, "%s%lldm%02llds", neg ? "-" : "", static_cast<long long>(m),
                  static_cast<long long>(s));
  else if (r)
    std::snprintf(buf, sizeof buf, "%s%lld.%03llds", neg ? "-" : "", static_cast<long long>(s),
                  static_cast<long long>(r));
  else
    std::snprintf(buf, sizeof buf, "%s%llds", neg ? "-" : "", static_cast<long long>(s));
  return buf;
}

std::optional<int> parse_utc_offset(std::string_view s) {
  if (s == "Z" || s == "z") return 0;
  int h = 0, m = 0;
  if ((s.size() != 6 && s.size() != 3) || (s[0] != '+' && s[0] != '-')) return std::nullopt;
  if (!digits(s, 1, 2, h)) return std::nullopt;
  if (s.size() == 6 && (s[3] != ':' || !digits(s, 4, 2, m))) return std::nullopt;
  if (h > 14 || m > 59) return std::nullopt;
  const int v = h * 60 + m;
  return s[0] == '-' ? -v : v;
}

std::string format_utc_offset(int minutes) {
  char buf[16];
  const int a = minutes < 0 ? -minutes : minutes;
  std::snprintf(buf, sizeof buf, "%c%02d:%02d", minutes < 0 ? '-' : '+', a / 60, a % 60);
  return buf;
}

std::optional<LocalTime> parse_time_arg(std::string_view s, LocalTime reference) {
  if (auto t = parse_iso(s)) return t;
  // Time of day: HH:MM or HH:MM:SS[.fff]
  if (s.size() >= 5 && s[2] == ':') {
    int h = 0, m = 0, sec = 0, ms = 0;
    if (!digits(s, 0, 2, h) || !digits(s, 3, 2, m)) return std::nullopt;
    size_t pos = 5;
    if (pos < s.size()) {
      if (s[pos] != ':' || !digits(s, pos + 1, 2, sec)) return std::nullopt;
      pos += 3;
      if (!fraction(s, pos, ms) || pos != s.size()) return std::nullopt;
    }
    if (h > 23 || m > 59 || sec > 59) return std::nullopt;
    CivilTime c = to_civil(reference);
    c.hour = h, c.minute = m, c.second = sec, c.millis = ms;
    return from_civil(c);
  }
  if (auto d = parse_duration(s)) return reference + *d;
  return std::nullopt;
}

}  // namespace nex
