#include "nex/events.hpp"

#include <cmath>
#include <system_error>
#include <utility>

#include "nex/fsutil.hpp"
#include "nex/json_number.hpp"

namespace nex {

const char* to_string(EventKind k) {
  switch (k) {
    case EventKind::HardBrake: return "hard-brake";
    case EventKind::Collision: return "collision";
    case EventKind::ParkingImpact: return "parking-impact";
    case EventKind::ParkingMotion: return "parking-motion";
  }
  return "";
}

std::optional<EventKind> parse_event_kind(std::string_view s) {
  for (auto k : {EventKind::HardBrake, EventKind::Collision, EventKind::ParkingImpact, EventKind::ParkingMotion})
    if (s == to_string(k)) return k;
  return std::nullopt;
}

bool is_parking(EventKind k) { return k == EventKind::ParkingImpact || k == EventKind::ParkingMotion; }

std::string make_event_id(LocalTime t, EventKind k) { return format_compact(t) + "_" + to_string(k); }

namespace {
double round3(double v) { return std::round(v * 1000.0) / 1000.0; }
double round6(double v) { return std::round(v * 1e6) / 1e6; }
}  // namespace

ojson Event::to_json() const {
  ojson j;
  j["id"] = id;
  j["time"] = format_iso(time, true);
  j["kind"] = to_string(kind);
  j["peak_g"] = round3(peak_g);
  j["duration_ms"] = duration_ms;
  j["segment"] = segment;
  j["offset_ms"] = offset_ms;
  j["lat"] = lat ? ojson(round6(*lat)) : ojson(nullptr);
  j["lon"] = lon ? ojson(round6(*lon)) : ojson(nullptr);
  j["speed_kmh"] = speed_kmh ? ojson(std::round(*speed_kmh * 10) / 10) : ojson(nullptr);
  return j;
}

std::optional<Event> Event::from_json(const ojson& j) {
  if (!j.is_object()) return std::nullopt;
  try {
    Event e;
    const auto kind = parse_event_kind(j.at("kind").get<std::string>());
    const auto t = parse_iso(j.at("time").get<std::string>());
    if (!kind || !t) return std::nullopt;
    e.kind = *kind;
    e.time = *t;
    e.id = j.value("id", make_event_id(e.time, e.kind));
    e.peak_g = j.value("peak_g", 0.0);
    // Absent: 0; anything but a whole number that fits: a corrupt line.
    for (auto [key, field] : {std::pair{"duration_ms", &e.duration_ms}, std::pair{"offset_ms", &e.offset_ms}}) {
      const auto it = j.find(key);
      if (it == j.end()) continue;
      const auto v = json_int64(*it);
      if (!v) return std::nullopt;
      *field = *v;
    }
    e.segment = j.value("segment", std::string());
    if (j.contains("lat") && j["lat"].is_number()) e.lat = j["lat"].get<double>();
    if (j.contains("lon") && j["lon"].is_number()) e.lon = j["lon"].get<double>();
    if (j.contains("speed_kmh") && j["speed_kmh"].is_number()) e.speed_kmh = j["speed_kmh"].get<double>();
    return e;
  } catch (const ojson::exception&) {
    return std::nullopt;
  }
}

std::vector<Event> EventDetector::emit(EventKind k, LocalTime start, LocalTime end, double peak) {
  auto& last = last_emitted_[static_cast<int>(k)];
  if (last && start - *last < cfg_.merge_ms) return {};
  last = start;
  Event e;
  e.kind = k;
  e.time = start;
  e.id = make_event_id(start, k);
  e.peak_g = peak;
  e.duration_ms = end - start;
  return {e};
}

std::vector<Event> EventDetector::feed(LocalTime t, const AccSample& s) {
  std::vector<Event> out;
  auto append = [&](std::vector<Event> v) { out.insert(out.end(), v.begin(), v.end()); };
  const double horiz = std::hypot(s.x, s.y);
  if (parked_) {
    const double dev = std::sqrt(s.x * s.x + s.y * s.y + (s.z - 1.0) * (s.z - 1.0));
    if (dev >= cfg_.parking_impact_g) {
      if (!in_spike_) in_spike_ = true, spike_start_ = t, spike_peak_ = 0;
      spike_last_ = t;
      spike_peak_ = std::max(spike_peak_, dev);
    } else if (in_spike_) {
      in_spike_ = false;
      append(emit(EventKind::ParkingImpact, spike_start_, spike_last_, spike_peak_));
    }
    return out;
  }
  // Collision: a horizontal spike above the threshold; time of its peak run.
  if (horiz >= cfg_.collision_g) {
    if (!in_spike_) in_spike_ = true, spike_start_ = t, spike_peak_ = 0;
    spike_last_ = t;
    spike_peak_ = std::max(spike_peak_, horiz);
  } else if (in_spike_) {
    in_spike_ = false;
    append(emit(EventKind::Collision, spike_start_, spike_last_, spike_peak_));
  }
  // Hard brake: deceleration (negative x) at or beyond the threshold, sustained.
  if (-s.x >= cfg_.hard_brake_g && horiz < cfg_.collision_g) {
    if (!in_brake_) in_brake_ = true, brake_start_ = t, brake_peak_ = 0;
    brake_last_ = t;
    brake_peak_ = std::max(brake_peak_, -s.x);
  } else if (in_brake_) {
    in_brake_ = false;
    // The run lasted from its first sample to this one (the first below threshold).
    if (t - brake_start_ >= cfg_.hard_brake_ms) append(emit(EventKind::HardBrake, brake_start_, t, brake_peak_));
  }
  return out;
}

std::vector<Event> EventDetector::finish() {
  std::vector<Event> out;
  if (in_spike_) {
    in_spike_ = false;
    auto v = emit(parked_ ? EventKind::ParkingImpact : EventKind::Collision, spike_start_, spike_last_, spike_peak_);
    out.insert(out.end(), v.begin(), v.end());
  }
  if (in_brake_) {
    in_brake_ = false;
    if (brake_last_ - brake_start_ >= cfg_.hard_brake_ms) {
      auto v = emit(EventKind::HardBrake, brake_start_, brake_last_, brake_peak_);
      out.insert(out.end(), v.begin(), v.end());
    }
  }
  return out;
}

std::vector<Event> parse_events(std::string_view text, ParseStats* st) {
  std::vector<Event> out;
  size_t pos = 0;
  while (pos < text.size()) {
    const size_t nl = text.find('\n', pos);
    const bool torn = nl == std::string_view::npos;
    const std::string_view line = text.substr(pos, torn ? std::string_view::npos : nl - pos);
    pos = torn ? text.size() : nl + 1;
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
    if (st) ++st->lines;
    const ojson j = ojson::parse(line, nullptr, false);
    std::optional<Event> e;
    if (!j.is_discarded()) e = Event::from_json(j);
    if (e) {
      out.push_back(std::move(*e));
    } else if (st) {
      if (torn) st->torn_tail = true;
      else ++st->bad_lines;
    }
  }
  return out;
}

std::vector<Event> read_events(const std::filesystem::path& file, ParseStats* st) {
  std::error_code ec;
  if (!std::filesystem::exists(file, ec)) return {};
  return parse_events(read_file(file), st);
}

void append_event(const std::filesystem::path& file, const Event& e) {
  append_line_durable(file, e.to_json().dump());
}

}  // namespace nex
