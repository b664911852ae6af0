#include "nex/json_number.hpp"

#include <cmath>
#include <limits>

namespace nex {
namespace {

// A finite whole double in [lo, hi) (2^63 and 2^64 are exact doubles).
bool whole_in(double d, double lo, double hi) { return std::isfinite(d) && d == std::trunc(d) && d >= lo && d < hi; }

}  // namespace

std::optional<int64_t> json_int64(const ojson& v) {
  if (v.is_number_unsigned()) {
    const auto u = v.get<uint64_t>();
    if (u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) return std::nullopt;
    return static_cast<int64_t>(u);
  }
  if (v.is_number_integer()) return v.get<int64_t>();
  if (v.is_number_float() && whole_in(v.get<double>(), -0x1p63, 0x1p63)) return static_cast<int64_t>(v.get<double>());
  return std::nullopt;
}

std::optional<uint64_t> json_uint64(const ojson& v) {
  if (v.is_number_unsigned()) return v.get<uint64_t>();
  if (v.is_number_integer()) {
    const auto i = v.get<int64_t>();
    if (i < 0) return std::nullopt;
    return static_cast<uint64_t>(i);
  }
  if (v.is_number_float() && whole_in(v.get<double>(), 0, 0x1p64)) return static_cast<uint64_t>(v.get<double>());
  return std::nullopt;
}

}  // namespace nex
