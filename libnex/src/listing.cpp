#include "nex/listing.hpp"

#include <cmath>
#include <cstdio>

#include "nex/error.hpp"
#include "nex/fsutil.hpp"
#include "nex/telemetry.hpp"
#include "nex/units.hpp"

namespace nex {
namespace {

double round_to(double v, double step) { return std::round(v / step) * step; }

bool in_window(LocalTime start, LocalTime end, const ListFilter& f) {
  if (f.since && end < *f.since) return false;
  if (f.until && start >= *f.until) return false;
  return true;
}

ojson cameras(bool road, bool interior) {
  ojson a = ojson::array();
  if (road) a.push_back("road");
  if (interior) a.push_back("interior");
  return a;
}

std::string resolution(const Mp4Info& i) {
  const Mp4Track* v = i.video();
  if (!v || !v->width) return "";
  return std::to_string(v->width) + "x" + std::to_string(v->height);
}

// Codec names people know, from the sample entry's four-character code.
std::string codec_name(const std::string& fourcc) {
  if (fourcc == "avc1" || fourcc == "avc3") return "h264";
  if (fourcc == "hvc1" || fourcc == "hev1") return "hevc";
  if (fourcc == "mp4a") return "aac";
  if (fourcc == "sowt" || fourcc == "twos" || fourcc == "lpcm" || fourcc == "in24" || fourcc == "raw ") return "pcm";
  if (fourcc == "av01") return "av1";
  if (fourcc == "apcn" || fourcc == "apch" || fourcc == "apcs" || fourcc == "apco" || fourcc == "ap4h") return "prores";
  return fourcc;
}

ojson fps_of(const Mp4Info& i) {
  const Mp4Track* v = i.video();
  if (!v || v->fps <= 0) return nullptr;
  return std::round(v->fps * 1000.0) / 1000.0;
}

// "h264", or "hevc/h264" when the road and interior cameras differ.
std::string codec_column(const Recording& r) {
  const Mp4Track* a = r.road_info.video();
  const Mp4Track* b = r.interior_info.video();
  const std::string ca = a ? codec_name(a->codec) : "", cb = b ? codec_name(b->codec) : "";
  if (ca.empty()) return cb;
  if (cb.empty() || cb == ca) return ca;
  return ca + "/" + cb;
}

ojson fps_column(const Recording& r) {
  ojson f = fps_of(r.road_info);
  return f.is_null() ? fps_of(r.interior_info) : f;
}

const char* file_state(const std::optional<CardFile>& f, const Mp4Info& i) {
  if (!f) return "missing";
  return to_string(i.state);
}

// The drive a time lies in (or the closest one that ended before it).
const Drive* drive_for(const CardScan& s, LocalTime t) {
  const Drive* best = nullptr;
  for (const auto& d : s.drives)
    if (d.start <= t) best = &d;
  return best;
}

}  // namespace

const Drive* find_drive(const CardScan& scan, const std::string& id) {
  for (const auto& d : scan.drives)
    if (d.id == id) return &d;
  if (auto t = parse_iso(id))
    for (const auto& d : scan.drives)
      if (*t >= d.start && *t < d.end) return &d;
  return nullptr;
}

Records list_view(const CardScan& s, View view, const ListFilter& f) {
  switch (view) {
    case View::Drives: {
      Records r({{"id", "DRIVE"},
                 {"start", "START"},
                 {"end", "END"},
                 {"duration", "DURATION", true},
                 {"distance_km", "KM", true},
                 {"cameras", "CAMERAS"},
                 {"events", "EVENTS", true},
                 {"parking", "PARKING", true},
                 {"size", "SIZE", true},
                 {"score", "SCORE", true}});
      for (size_t i = 0; i < s.drives.size(); ++i) {
        const Drive& d = s.drives[i];
        if (!in_window(d.start, d.end, f)) continue;
        if (f.camera && !(*f.camera == Camera::Road ? d.road : d.interior)) continue;
        // Parking clips recorded after this drive and before the next.
        const LocalTime next = i + 1 < s.drives.size() ? s.drives[i + 1].start : LocalTime{INT64_MAX};
        size_t parking = 0;
        for (const auto& p : s.parking)
          if (p.start >= d.end && p.start < next) ++parking;
        int hb = 0, col = 0;
        for (size_t e : d.events) (s.events[e].kind == EventKind::HardBrake ? hb : col)++;
        ojson j;
        j["type"] = "drive";
        j["id"] = d.id;
        j["start"] = format_iso(d.start);
        j["end"] = format_iso(d.end);
        j["duration_s"] = static_cast<double>(d.end - d.start) / 1000.0;
        j["duration"] = format_duration(d.end - d.start);
        j["distance_km"] = round_to(d.distance_m / 1000.0, 0.01);
        j["cameras"] = cameras(d.road, d.interior);
        j["segments"] = d.segments.size();
        j["events"] = d.events.size();
        j["hard_brakes"] = hb;
        j["collisions"] = col;
        j["parking"] = parking;
        j["bytes"] = d.bytes;
        j["size"] = format_size(d.bytes);
        j["score"] = d.score;
        j["clock_reset"] = d.clock_reset;
        r.add(std::move(j));
      }
      return r;
    }
    case View::Segments: {
      Records r({{"id", "SEGMENT"},
                 {"start", "START"},
                 {"duration", "DURATION", true},
                 {"cameras", "CAMERAS"},
                 {"codec", "CODEC"},
                 {"fps", "FPS", true},
                 {"road_state", "ROAD"},
                 {"interior_state", "INTERIOR"},
                 {"size", "SIZE", true},
                 {"drive", "DRIVE"}});
      for (const auto& rec : s.recordings) {
        if (!in_window(rec.start, rec.end(), f)) continue;
        if (f.camera && !rec.has(*f.camera)) continue;
        const Drive* d = drive_for(s, rec.start);
        ojson j;
        j["type"] = "segment";
        j["id"] = rec.key;
        j["start"] = format_iso(rec.start);
        j["duration_s"] = rec.duration_known ? ojson(static_cast<double>(rec.duration_ms) / 1000.0) : ojson(nullptr);
        j["duration"] = rec.duration_known ? format_duration(rec.duration_ms) : "?";
        j["dir"] = rec.dir;
        j["cameras"] = cameras(rec.road.has_value(), rec.interior.has_value());
        j["road"] = rec.road ? ojson(rec.road->rel) : ojson(nullptr);
        j["road_state"] = file_state(rec.road, rec.road_info);
        j["road_resolution"] = resolution(rec.road_info);
        j["road_codec"] = rec.road_info.video() ? ojson(rec.road_info.video()->codec) : ojson(nullptr);
        j["road_fps"] = fps_of(rec.road_info);
        j["interior"] = rec.interior ? ojson(rec.interior->rel) : ojson(nullptr);
        j["interior_state"] = file_state(rec.interior, rec.interior_info);
        j["interior_resolution"] = resolution(rec.interior_info);
        j["interior_codec"] = rec.interior_info.video() ? ojson(rec.interior_info.video()->codec) : ojson(nullptr);
        j["interior_fps"] = fps_of(rec.interior_info);
        j["audio"] = rec.interior_info.audio() ? ojson(rec.interior_info.audio()->codec) : ojson(nullptr);
        j["road_audio"] = rec.road_info.audio() ? ojson(rec.road_info.audio()->codec) : ojson(nullptr);
        j["codec"] = codec_column(rec);
        j["fps"] = fps_column(rec);
        j["gps"] = rec.gps.has_value();
        j["acc"] = rec.acc.has_value();
        j["bytes"] = rec.bytes;
        j["size"] = format_size(rec.bytes);
        j["drive"] = d ? ojson(d->id) : ojson(nullptr);
        r.add(std::move(j));
      }
      return r;
    }
    case View::Events: {
      Records r({{"id", "EVENT"},
                 {"time", "TIME"},
                 {"kind", "KIND"},
                 {"peak_g", "PEAK G", true},
                 {"drive", "DRIVE"},
                 {"footage", "FOOTAGE"}});
      for (const auto& e : s.events) {
        if (f.kind && e.kind != *f.kind) continue;
        if (!in_window(e.time, e.time, f)) continue;
        const Recording* rec = s.recording_at(e.time);
        if (f.camera && !(rec && rec->has(*f.camera))) continue;
        const Drive* d = is_parking(e.kind) ? nullptr : drive_for(s, e.time);
        ojson j;
        j["type"] = "event";
        j["id"] = e.id;
        j["time"] = format_iso(e.time, true);
        j["kind"] = to_string(e.kind);
        j["peak_g"] = e.peak_g;
        j["segment"] = e.segment;
        j["offset_ms"] = e.offset_ms;
        j["drive"] = d && e.time < d->end + 2000 ? ojson(d->id) : ojson(nullptr);
        j["footage"] = rec ? "on card" : "overwritten";
        j["lat"] = e.lat ? ojson(*e.lat) : ojson(nullptr);
        j["lon"] = e.lon ? ojson(*e.lon) : ojson(nullptr);
        j["speed_kmh"] = e.speed_kmh ? ojson(*e.speed_kmh) : ojson(nullptr);
        r.add(std::move(j));
      }
      return r;
    }
    case View::Parking: {
      Records r({{"id", "CLIP"},
                 {"start", "START"},
                 {"duration", "DURATION", true},
                 {"dir", "FOLDER"},
                 {"cameras", "CAMERAS"},
                 {"event", "EVENT"},
                 {"size", "SIZE", true}});
      for (const auto& p : s.parking) {
        if (!in_window(p.start, p.end(), f)) continue;
        if (f.camera && !p.has(*f.camera)) continue;
        const Event* ev = nullptr;
        for (const auto& e : s.events)
          if (is_parking(e.kind) && e.segment == p.key) ev = &e;
        if (f.kind && (!ev || ev->kind != *f.kind)) continue;
        ojson j;
        j["type"] = "parking";
        j["id"] = p.key;
        j["start"] = format_iso(p.start);
        j["duration_s"] = p.duration_known ? ojson(static_cast<double>(p.duration_ms) / 1000.0) : ojson(nullptr);
        j["duration"] = p.duration_known ? format_duration(p.duration_ms) : "?";
        j["dir"] = p.dir;
        j["cameras"] = cameras(p.road.has_value(), p.interior.has_value());
        j["event"] = ev ? ojson(ev->id) : ojson(nullptr);
        j["kind"] = ev ? ojson(to_string(ev->kind)) : ojson(nullptr);
        j["bytes"] = p.bytes;
        j["size"] = format_size(p.bytes);
        r.add(std::move(j));
      }
      return r;
    }
  }
  return Records({});
}

std::string drive_gpx(const CardScan& s, const Drive& d) {
  std::string out =
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      "<gpx version=\"1.1\" creator=\"nexls\" xmlns=\"http://www.topografix.com/GPX/1/1\">\n"
      "  <trk>\n    <name>drive " + d.id + "</name>\n    <trkseg>\n";
  char buf[256];
  for (size_t i : d.segments) {
    const Recording& r = s.recordings[i];
    if (!r.gps) continue;
    std::vector<GpsFix> fixes;
    try {
      fixes = parse_nmea(s.read(*r.gps));
    } catch (const IoError&) {
      continue;  // reported by --check
    }
    for (const auto& f : fixes) {
      const CivilTime c = to_civil(f.utc);
      std::snprintf(buf, sizeof buf,
                    "      <trkpt lat=\"%.6f\" lon=\"%.6f\"><time>%04d-%02d-%02dT%02d:%02d:%02dZ</time></trkpt>\n",
                    f.lat, f.lon, c.year, c.month, c.day, c.hour, c.minute, c.second);
      out += buf;
    }
  }
  out += "    </trkseg>\n  </trk>\n</gpx>\n";
  return out;
}

}  // namespace nex
