#include "nex/check.hpp"

#include <algorithm>
#include <cmath>

#include "nex/camera_api.hpp"
#include "nex/error.hpp"
#include "nex/fsutil.hpp"
#include "nex/source.hpp"
#include "nex/telemetry.hpp"
#include "nex/units.hpp"

namespace nex {
namespace {

constexpr int64_t kOverlapToleranceMs = 500;
constexpr int64_t kClockDriftMs = 5000;

std::string rel_of(const Recording& r) {
  if (r.road) return r.road->rel;
  if (r.interior) return r.interior->rel;
  return r.dir + "/" + r.key;
}

std::vector<GpsFix> gps_of(const CardScan& scan, const Recording& r) {
  if (!r.gps) return {};
  try {
    return parse_nmea(scan.read(*r.gps));
  } catch (const std::exception&) {
    return {};
  }
}

}  // namespace

std::string CheckReport::verdict() const {
  if (clean()) return "card is clean";
  std::string s;
  if (problems) s += std::to_string(problems) + " problem" + (problems == 1 ? "" : "s");
  if (warnings) s += std::string(s.empty() ? "" : ", ") + std::to_string(warnings) + " warning" + (warnings == 1 ? "" : "s");
  return s + " found";
}

CheckReport check_card(const CardScan& scan) {
  CheckReport rep;
  std::vector<Finding> f = scan.findings;
  auto add = [&](Severity s, std::string code, std::string path, std::string msg) {
    f.push_back({s, std::move(code), std::move(path), std::move(msg)});
  };
  const ModelProfile* model = scan.model;

  // Twins and sidecars.
  for (const auto& d : scan.drives) {
    for (size_t i : d.segments) {
      const Recording& r = scan.recordings[i];
      if (d.interior && r.road && !r.interior)
        add(Severity::Problem, "missing-twin", r.road->rel, "road segment without its interior twin");
      if (d.road && r.interior && !r.road)
        add(Severity::Problem, "missing-twin", r.interior->rel, "interior segment without its road twin");
      // A 0-byte recording never got as far as its sidecars; it is reported as such.
      if (r.road_info.state == Mp4State::Empty || r.interior_info.state == Mp4State::Empty) continue;
      if (!r.gps) add(Severity::Warning, "missing-sidecar", rel_of(r), "no .gps sidecar");
      if (!r.acc) add(Severity::Warning, "missing-sidecar", rel_of(r), "no .acc sidecar");
      if (!r.road_thumb && r.road) add(Severity::Warning, "missing-sidecar", rel_of(r), "no thumbnail");
    }
  }
  for (const auto& p : scan.parking) {
    if (model && model->parking_interior_tag && model->interior_camera && p.road && !p.interior)
      add(Severity::Warning, "missing-twin", p.road->rel, "parking clip without its interior twin");
  }

  // Timeline inside and between drives: overlaps, and gaps where the car was
  // still moving (a segment went missing rather than the engine stopping).
  for (size_t i = 1; i < scan.recordings.size(); ++i) {
    const Recording& a = scan.recordings[i - 1];
    const Recording& b = scan.recordings[i];
    if (is_clock_reset(a.start) != is_clock_reset(b.start)) continue;
    const int64_t dur = a.duration_known ? a.duration_ms : 60000;
    const int64_t gap = b.start - (a.start + dur);
    if (gap < -kOverlapToleranceMs) {
      add(Severity::Problem, "overlap", rel_of(b),
          "starts " + format_duration(-gap) + " before the previous segment ends (clock jumped back?)");
      continue;
    }
    if (gap > 2000 && gap < 10 * 60000) {
      const auto fa = gps_of(scan, a);
      if (!fa.empty() && fa.back().speed_kmh > 5.0)
        add(Severity::Problem, "gap", rel_of(b),
            format_duration(gap) + " of footage missing before it while the car was moving at " +
                std::to_string(static_cast<int>(fa.back().speed_kmh)) + " km/h");
    }
  }

  // Clocks: file names (camera clock) against GPS time (true UTC).
  if (scan.camera) {
    const int64_t off = static_cast<int64_t>(scan.camera->utc_offset_min) * 60000;
    int64_t prev_drift = 0;
    bool have_prev = false;
    for (const auto& r : scan.recordings) {
      if (is_clock_reset(r.start)) continue;  // reported by the scan
      const auto fixes = gps_of(scan, r);
      if (fixes.empty()) continue;
      const int64_t drift = r.start.ms - (fixes.front().utc.ms + off);
      if (std::llabs(drift) > kClockDriftMs && (!have_prev || std::llabs(drift - prev_drift) > kClockDriftMs))
        add(Severity::Warning, "clock-jump", rel_of(r),
            "camera clock is " + format_duration(drift) + " off GPS time");
      prev_drift = drift;
      have_prev = true;
    }
  }

  // A camera read over Wi-Fi: its clock against this computer's. It names
  // the footage it records from now on.
  if (auto* cam = dynamic_cast<CameraSource*>(scan.source.get())) {
    CameraInfo info;
    try {
      info = cam->refresh_info();
    } catch (const Error&) {
      info = cam->info();
    }
    if (auto ahead = camera_clock_ahead_ms(info); ahead && std::llabs(*ahead) > kCameraClockToleranceMs)
      add(Severity::Warning, "camera-clock", "",
          "the camera's clock is " + format_duration((std::llabs(*ahead) + 500) / 1000 * 1000) + (*ahead > 0 ? " ahead of" : " behind") +
              " this computer's (" + info.clock + "): the footage it records is named by it");
  }

  // Events whose footage is gone, or still there but unreadable (a problem reported above).
  for (const auto& e : scan.events) {
    if (scan.recording_at(e.time)) continue;
    const Finding* bad = nullptr;
    for (const auto& x : scan.findings)
      if ((x.code == "unreadable" || x.code == "truncated") && !e.segment.empty() &&
          x.path.find(e.segment) != std::string::npos)
        bad = &x;
    if (bad)
      add(Severity::Warning, "event-unreadable", "events.ndjson",
          "footage of event " + e.id + " is on the card but cannot be read (" + bad->path + ")");
    else
      add(Severity::Warning, "event-overwritten", "events.ndjson",
          "footage of event " + e.id + " is no longer on the card (overwritten or deleted)");
  }

  // Fullness and the overwrite horizon.
  if (scan.camera) {
    rep.capacity = scan.camera->capacity;
    rep.sos_quota = model && model->has_sos() ? scan.camera->effective_sos_quota() : 0;
  }
  rep.used = scan.used_bytes;
  rep.sos_used = scan.sos_bytes;
  if (rep.capacity && rep.used > rep.capacity)
    add(Severity::Problem, "over-capacity", "", "card holds " + format_size(rep.used) + ", more than its capacity " +
                                                    format_size(rep.capacity));
  if (rep.sos_quota && rep.sos_used > rep.sos_quota)
    add(Severity::Problem, "over-quota", "sos/", "sos/ holds " + format_size(rep.sos_used) + ", more than its quota " +
                                                     format_size(rep.sos_quota));
  uint64_t bytes = 0;
  int64_t ms = 0;
  for (const auto& r : scan.recordings)
    if (r.duration_known && r.duration_ms > 0) bytes += r.bytes, ms += r.duration_ms;
  if (ms > 0 && rep.capacity) {
    rep.bytes_per_hour = static_cast<uint64_t>(static_cast<double>(bytes) * 3600000.0 / static_cast<double>(ms));
    const uint64_t free = rep.capacity > rep.used ? rep.capacity - rep.used : 0;
    rep.horizon_hours = std::round(static_cast<double>(free) / static_cast<double>(rep.bytes_per_hour) * 10) / 10;
  }

  std::stable_sort(f.begin(), f.end(), [](const Finding& a, const Finding& b) { return a.path < b.path; });
  for (const auto& x : f) {
    if (x.severity == Severity::Problem) ++rep.problems;
    if (x.severity == Severity::Warning) ++rep.warnings;
  }
  rep.findings = std::move(f);
  return rep;
}

ojson CheckReport::to_json(const CardScan& scan) const {
  ojson j;
  j["card"] = scan.where();
  j["model"] = scan.model ? ojson(scan.model->id) : ojson(nullptr);
  j["serial"] = scan.camera ? ojson(scan.camera->serial) : ojson(nullptr);
  j["readable"] = scan.model ? scan.model->readable : true;
  j["segments"] = scan.recordings.size();
  j["drives"] = scan.drives.size();
  j["parking_clips"] = scan.parking.size();
  j["events"] = scan.events.size();
  j["capacity_bytes"] = capacity;
  j["used_bytes"] = used;
  j["sos_quota_bytes"] = sos_quota;
  j["sos_used_bytes"] = sos_used;
  j["bytes_per_hour"] = bytes_per_hour;
  j["overwrite_horizon_hours"] = horizon_hours ? ojson(*horizon_hours) : ojson(nullptr);
  ojson arr = ojson::array();
  for (const auto& x : findings) arr.push_back(x.to_json());
  j["findings"] = arr;
  j["problems"] = problems;
  j["warnings"] = warnings;
  j["verdict"] = verdict();
  return j;
}

}  // namespace nex
