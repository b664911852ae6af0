// The camera server's small parsers: --fault, --listen, and Range headers.
// All of them read what a user or a client typed, so they reject rather
// than guess, and never throw anything but UsageError.
#include <arpa/inet.h>

#include <cctype>
#include <charconv>
#include <cmath>
#include <set>

#include "nex/camera_server.hpp"
#include "nex/error.hpp"
#include "nex/timeutil.hpp"
#include "nex/units.hpp"

namespace nex::serve {
namespace {

constexpr const char* kFaultList =
    "drop-after=SIZE, power-off=SIZE, stall=SECONDS, reset=P, http500=P, ignore-range, short-range, stale-size, "
    "empty-listing-once, clock-skew=SECONDS";

[[noreturn]] void bad(std::string_view spec, const std::string& why) {
  throw UsageError("bad --fault '" + std::string(spec) + "': " + why);
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::optional<double> parse_probability(std::string_view v) {
  double p = 0;
  auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), p);
  if (ec != std::errc() || end != v.data() + v.size() || !std::isfinite(p) || p < 0 || p > 1) return std::nullopt;
  return p;
}

// Seconds as nex durations are typed ("30", "1m30s", "500ms"), with a sign
// where `signed_ok`.
std::optional<int64_t> parse_seconds(std::string_view v, bool signed_ok) {
  bool neg = false;
  if (signed_ok && !v.empty() && (v.front() == '-' || v.front() == '+')) {
    neg = v.front() == '-';
    v.remove_prefix(1);
  }
  if (v.empty() || v.front() == '+' || v.front() == '-') return std::nullopt;
  auto d = parse_duration(v);
  if (!d || *d < 0) return std::nullopt;
  return neg ? -*d : *d;
}

std::string format_p(double p) {
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, p);
  return ec == std::errc() ? std::string(buf, end) : std::to_string(p);
}

}  // namespace

bool Faults::any() const {
  return drop_after || power_off || stall_ms > 0 || reset_p > 0 || http500_p > 0 || ignore_range || short_range || stale_size ||
         empty_listing_once || clock_skew_ms != 0;
}

Faults parse_faults(std::string_view spec) {
  Faults f;
  std::set<std::string, std::less<>> seen;
  std::string_view rest = spec;
  if (trim(spec).empty()) bad(spec, std::string("no fault named (") + kFaultList + ")");
  while (true) {
    const size_t comma = rest.find(',');
    const std::string_view item = trim(rest.substr(0, comma));
    if (item.empty()) bad(spec, "an empty item");
    const size_t eq = item.find('=');
    const std::string_view name = trim(item.substr(0, eq));
    const std::optional<std::string_view> value =
        eq == std::string_view::npos ? std::nullopt : std::optional(trim(item.substr(eq + 1)));
    if (!seen.insert(std::string(name)).second) bad(spec, "'" + std::string(name) + "' given twice");
    auto need = [&](const char* what) -> std::string_view {
      if (!value || value->empty()) bad(spec, "'" + std::string(name) + "' needs a value (" + std::string(name) + "=" + what + ")");
      return *value;
    };
    auto none = [&] {
      if (value) bad(spec, "'" + std::string(name) + "' takes no value");
    };
    auto bad_value = [&](const char* eg) {
      bad(spec, "bad value '" + std::string(*value) + "' for " + std::string(name) + " (e.g. " + eg + ")");
    };
    if (name == "drop-after") {
      auto n = parse_size(need("SIZE"));
      if (!n) bad_value("drop-after=1M");
      f.drop_after = *n;
    } else if (name == "power-off") {
      auto n = parse_size(need("SIZE"));
      if (!n || *n == 0) bad_value("power-off=40M");
      f.power_off = *n;
    } else if (name == "stall") {
      auto ms = parse_seconds(need("SECONDS"), false);
      if (!ms || *ms <= 0) bad_value("stall=30, stall=500ms");
      f.stall_ms = *ms;
    } else if (name == "reset" || name == "http500") {
      auto p = parse_probability(need("P"));
      if (!p) bad_value("0.1: a probability from 0 to 1");
      (name == "reset" ? f.reset_p : f.http500_p) = *p;
    } else if (name == "ignore-range") {
      none();
      f.ignore_range = true;
    } else if (name == "short-range") {
      none();
      f.short_range = true;
    } else if (name == "stale-size") {
      none();
      f.stale_size = true;
    } else if (name == "empty-listing-once") {
      none();
      f.empty_listing_once = true;
    } else if (name == "clock-skew") {
      auto ms = parse_seconds(need("SECONDS"), true);
      if (!ms) bad_value("clock-skew=3600, clock-skew=-90s");
      f.clock_skew_ms = *ms;
    } else {
      bad(spec, "unknown fault '" + std::string(name) + "' (" + kFaultList + ")");
    }
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  return f;
}

std::string format_faults(const Faults& f) {
  std::string out;
  auto add = [&](const std::string& s) { out += (out.empty() ? "" : ",") + s; };
  if (f.drop_after) add("drop-after=" + std::to_string(*f.drop_after));
  if (f.power_off) add("power-off=" + std::to_string(*f.power_off));
  if (f.stall_ms > 0) add("stall=" + format_duration(f.stall_ms));
  if (f.reset_p > 0) add("reset=" + format_p(f.reset_p));
  if (f.http500_p > 0) add("http500=" + format_p(f.http500_p));
  if (f.ignore_range) add("ignore-range");
  if (f.short_range) add("short-range");
  if (f.stale_size) add("stale-size");
  if (f.empty_listing_once) add("empty-listing-once");
  if (f.clock_skew_ms != 0)
    add("clock-skew=" + std::string(f.clock_skew_ms < 0 ? "-" : "") + format_duration(std::abs(f.clock_skew_ms)));
  return out;
}

bool ListenAddress::loopback() const {
  if (host == "localhost") return true;
  in_addr a4{};
  if (inet_pton(AF_INET, host.c_str(), &a4) == 1) return (ntohl(a4.s_addr) >> 24) == 127;
  in6_addr a6{};
  if (inet_pton(AF_INET6, host.c_str(), &a6) == 1) return IN6_IS_ADDR_LOOPBACK(&a6);
  return false;
}

ListenAddress parse_listen(std::string_view s) {
  auto fail = [&] {
    throw UsageError("bad --listen '" + std::string(s) + "'",
                     "HOST:PORT, e.g. 127.0.0.1:8080, localhost:0 (a free port), [::1]:9000");
  };
  ListenAddress a;
  std::string_view port;
  if (!s.empty() && s.front() == '[') {
    const size_t close = s.find(']');
    if (close == std::string_view::npos || close + 1 >= s.size() || s[close + 1] != ':') fail();
    a.host = std::string(s.substr(1, close - 1));
    port = s.substr(close + 2);
    in6_addr a6{};
    if (inet_pton(AF_INET6, a.host.c_str(), &a6) != 1) fail();
  } else {
    const size_t colon = s.rfind(':');
    if (colon == std::string_view::npos || s.find(':') != colon) fail();
    a.host = std::string(s.substr(0, colon));
    port = s.substr(colon + 1);
  }
  if (a.host.empty() || port.empty()) fail();
  for (char c : a.host)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == ':')) fail();
  int p = -1;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
  if (ec != std::errc() || end != port.data() + port.size() || p < 0 || p > 65535) fail();
  a.port = p;
  return a;
}

RangeRequest resolve_range(std::string_view h, uint64_t size) {
  RangeRequest whole;
  h = trim(h);
  if (h.substr(0, 6) != "bytes=") return whole;
  h = trim(h.substr(6));
  if (h.find(',') != std::string_view::npos) return whole;  // one range per request
  const size_t dash = h.find('-');
  if (dash == std::string_view::npos) return whole;
  const std::string_view a = trim(h.substr(0, dash)), b = trim(h.substr(dash + 1));
  auto num = [](std::string_view v, uint64_t& out) {
    if (v.empty() || v.size() > 19) return false;
    auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
    return ec == std::errc() && end == v.data() + v.size();
  };
  RangeRequest r;
  r.kind = RangeRequest::Partial;
  if (a.empty()) {  // suffix: the last K bytes
    uint64_t k = 0;
    if (!num(b, k)) return whole;
    if (k == 0 || size == 0) return {RangeRequest::Unsatisfiable, 0, 0};
    r.first = k >= size ? 0 : size - k;
    r.last = size - 1;
    return r;
  }
  if (!num(a, r.first)) return whole;
  if (b.empty()) {
    r.last = size ? size - 1 : 0;
  } else {
    if (!num(b, r.last) || r.last < r.first) return whole;
    if (size && r.last >= size) r.last = size - 1;
  }
  if (r.first >= size) return {RangeRequest::Unsatisfiable, 0, 0};
  return r;
}

}  // namespace nex::serve
