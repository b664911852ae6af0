#include "nex/units.hpp"

#include <charconv>
#include <cmath>
#include <cstdio>

namespace nex {

std::optional<uint64_t> parse_size(std::string_view s) {
  if (s.empty()) return std::nullopt;
  size_t pos = 0;
  while (pos < s.size() && ((s[pos] >= '0' && s[pos] <= '9') || s[pos] == '.')) ++pos;
  if (pos == 0) return std::nullopt;
  double v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + pos, v);
  if (ec != std::errc() || p != s.data() + pos || !std::isfinite(v) || v < 0) return std::nullopt;
  std::string_view unit = s.substr(pos);
  double scale = 1;
  if (!unit.empty()) {
    const char u = static_cast<char>(unit[0] | 0x20);
    switch (u) {
      case 'b': scale = 1; break;
      case 'k': scale = 1024.0; break;
      case 'm': scale = 1024.0 * 1024; break;
      case 'g': scale = 1024.0 * 1024 * 1024; break;
      case 't': scale = 1024.0 * 1024 * 1024 * 1024; break;
      default: return std::nullopt;
    }
    std::string_view rest = unit.substr(1);
    if (u != 'b' && !rest.empty() && (rest == "iB" || rest == "ib" || rest == "B" || rest == "b")) rest = {};
    if (!rest.empty()) return std::nullopt;
  }
  const double bytes = v * scale;
  // Below 2^64, so the cast is defined; llround would overflow above 2^63.
  if (bytes > 1.8e19) return std::nullopt;
  return static_cast<uint64_t>(std::round(bytes));
}

std::string format_size(uint64_t b) {
  char buf[32];
  const char* units = "KMGT";
  double v = static_cast<double>(b);
  if (b < 1024) {
    std::snprintf(buf, sizeof buf, "%lluB", static_cast<unsigned long long>(b));
    return buf;
  }
  int i = -1;
  while (v >= 1024 && i < 3) v /= 1024, ++i;
  std::snprintf(buf, sizeof buf, v < 10 ? "%.1f%c" : "%.0f%c", v, units[i]);
  return buf;
}

}  // namespace nex
