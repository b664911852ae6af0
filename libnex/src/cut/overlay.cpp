// nexcut --overlay: the facts of each frame's capture time, drawn on it.
#include "cut/overlay.hpp"

#include <algorithm>
#include <cstdio>

#include "media/drawtext.hpp"
#include "nex/error.hpp"

namespace nex::cut {

Overlay parse_overlay(std::string_view fields) {
  Overlay o;
  size_t pos = 0;
  while (pos <= fields.size()) {
    const size_t comma = std::min(fields.find(',', pos), fields.size());
    const std::string_view f = fields.substr(pos, comma - pos);
    if (f == "time") o.time = true;
    else if (f == "speed") o.speed = true;
    else if (f == "g") o.g = true;
    else if (f == "gps") o.gps = true;
    else if (f == "event") o.event = true;
    else
      throw UsageError("unknown overlay field '" + std::string(f) + "'", "--overlay takes time,speed,g,gps,event");
    pos = comma + 1;
  }
  return o;
}

namespace detail {

namespace {

// A sidecar's text, or nothing when it cannot be read (the field then says so).
std::optional<std::string> sidecar(const CardScan& scan, const CardFile& f) {
  try {
    return scan.read(f);
  } catch (const Error&) {
    return std::nullopt;
  }
}

double lerp(double a, double b, double u) { return a + (b - a) * u; }

// The entries around t in a vector sorted by .t: the last at or before t and
// the first after it.
template <class V>
std::pair<const typename V::value_type*, const typename V::value_type*> around(const V& v, LocalTime t) {
  auto it = std::upper_bound(v.begin(), v.end(), t, [](LocalTime x, const auto& e) { return x < e.t; });
  const auto* after = it != v.end() ? &*it : nullptr;
  const auto* before = it != v.begin() ? &*std::prev(it) : nullptr;
  return {before, after};
}

}  // namespace

Telemetry Telemetry::load(const CardScan& scan, LocalTime from, LocalTime to) {
  std::vector<const Recording*> recs;
  for (const auto* list : {&scan.recordings, &scan.parking})
    for (const Recording& r : *list) recs.push_back(&r);
  return load(scan, recs, from, to);
}

Telemetry Telemetry::load(const CardScan& scan, const std::vector<const Recording*>& recs, LocalTime from,
                          LocalTime to) {
  Telemetry tel;
  // A little on each side so a frame near the window's edge has fixes around it.
  const LocalTime a = from - 2000, b = to + 2000;
  for (const Recording* rp : recs) {
    const Recording& r = *rp;
    if (!(r.start < b && r.start + std::max<int64_t>(r.duration_ms, 60000) > a)) continue;
    if (r.gps)
      if (auto text = sidecar(scan, *r.gps)) {
        const std::vector<GpsFix> fixes = parse_nmea(*text);
        for (const GpsFix& g : fixes)
          if (g.valid) tel.fixes.push_back({r.start + (g.utc - fixes.front().utc), g});
      }
    if (r.acc)
      if (auto text = sidecar(scan, *r.acc))
        for (const AccSample& s : parse_acc(*text)) tel.acc.push_back({r.start + s.ms, s});
  }
  std::stable_sort(tel.fixes.begin(), tel.fixes.end(), [](const Fix& x, const Fix& y) { return x.t < y.t; });
  std::stable_sort(tel.acc.begin(), tel.acc.end(), [](const Acc& x, const Acc& y) { return x.t < y.t; });
  return tel;
}

std::optional<GpsFix> Telemetry::gps_at(LocalTime t) const {
  const auto [p, n] = around(fixes, t);
  if (p && n && n->t - p->t <= 2000) {
    const double u = static_cast<double>(t - p->t) / static_cast<double>(n->t - p->t);
    GpsFix g = p->g;
    g.lat = lerp(p->g.lat, n->g.lat, u);
    g.lon = lerp(p->g.lon, n->g.lon, u);
    g.speed_kmh = lerp(p->g.speed_kmh, n->g.speed_kmh, u);
    g.alt = lerp(p->g.alt, n->g.alt, u);
    g.utc = p->g.utc + (t - p->t);
    return g;
  }
  if (p && t - p->t < 1000) return p->g;
  if (n && n->t - t < 1000) return n->g;
  return std::nullopt;
}

std::optional<AccSample> Telemetry::acc_at(LocalTime t) const {
  const auto [p, n] = around(acc, t);
  if (p && n && n->t - p->t <= 100) {
    const double u = static_cast<double>(t - p->t) / static_cast<double>(n->t - p->t);
    AccSample s = p->s;
    s.x = lerp(p->s.x, n->s.x, u);
    s.y = lerp(p->s.y, n->s.y, u);
    s.z = lerp(p->s.z, n->s.z, u);
    return s;
  }
  if (p && t - p->t <= 40) return p->s;
  if (n && n->t - t <= 40) return n->s;
  return std::nullopt;
}

OverlayPainter::OverlayPainter(const CardScan& scan, LocalTime from, LocalTime to, const Overlay& what, int width,
                               int height, AVPixelFormat fmt, int strip_width, int text_height)
    : what_(what), utc_offset_min_(scan.camera ? scan.camera->utc_offset_min : 0) {
  if (what.speed || what.gps || what.g) tel_ = Telemetry::load(scan, from, to);
  if (what.event)
    for (const Event& e : scan.events)
      if (e.time < to + 1000 && e.time + std::max<int64_t>(e.duration_ms, 1000) > from) events_.push_back(e);
  media::DrawTextStyle style;
  style.font = media::overlay_font();
  style.size = std::max(12, text_height / 27);
  style.x = std::max(2, strip_width / 80);
  style.y = strip_width * 6 / 80;  // below the 4-block quiet zone of a timecode strip, with room to spare
  drawer_ = std::make_unique<media::TextDrawer>(width, height, fmt, style);
}

OverlayPainter::~OverlayPainter() = default;

std::string OverlayPainter::text_at(LocalTime t) const {
  std::string s;
  char buf[160];
  auto line = [&](const std::string& l) {
    if (!s.empty()) s += '\n';
    s += l;
  };
  if (what_.time) {
    const CivilTime c = to_civil(t);
    if (what_.millis)
      std::snprintf(buf, sizeof buf, "%04d-%02d-%02d %02d:%02d:%02d.%03d", c.year, c.month, c.day, c.hour, c.minute,
                    c.second, c.millis);
    else
      std::snprintf(buf, sizeof buf, "%04d-%02d-%02d %02d:%02d:%02d", c.year, c.month, c.day, c.hour, c.minute,
                    c.second);
    line(std::string(buf) + " " + format_utc_offset(utc_offset_min_));
  }
  if (what_.speed || what_.gps) {
    const std::optional<GpsFix> g = tel_.gps_at(t);
    if (what_.speed) {
      if (g) std::snprintf(buf, sizeof buf, "%.1f km/h", g->speed_kmh);
      line(g ? std::string(buf) : "speed: no GPS");
    }
    if (what_.gps) {
      if (g) std::snprintf(buf, sizeof buf, "%.6f %.6f", g->lat, g->lon);
      line(g ? std::string(buf) : "position: no GPS");
    }
  }
  if (what_.g) {
    const std::optional<AccSample> a = tel_.acc_at(t);
    if (a) std::snprintf(buf, sizeof buf, "G x %+.2f y %+.2f z %+.2f", a->x, a->y, a->z);
    line(a ? std::string(buf) : "G: no G-sensor");
  }
  if (what_.event)
    for (const Event& e : events_)
      if (t >= e.time && t < e.time + std::max<int64_t>(e.duration_ms, 1000)) {
        std::snprintf(buf, sizeof buf, "EVENT %s %.2f g", to_string(e.kind), e.peak_g);
        line(buf);
        break;
      }
  return s;
}

AVFrame* OverlayPainter::draw(const AVFrame* frame, LocalTime t) { return drawer_->draw(frame, text_at(t)); }

}  // namespace detail
}  // namespace nex::cut
