// The incident page's one renderer (report/page.hpp): the facts, the stills
// as data: URIs, the charts as inline SVG polylines whose data-points
// attributes say how many samples they hold (tests check them in a real
// browser's DOM), the track, the findings and the files. No script.
#include "report/page.hpp"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "nex/cut.hpp"
#include "nex/error.hpp"
#include "nex/fsutil.hpp"
#include "report/pdf.hpp"
#include "s3/internal.hpp"

namespace nex::report::detail {

namespace fs = std::filesystem;

namespace {

std::string esc(std::string_view s) {
  std::string o;
  for (char c : s) {
    switch (c) {
      case '&': o += "&amp;"; break;
      case '<': o += "&lt;"; break;
      case '>': o += "&gt;"; break;
      case '"': o += "&quot;"; break;
      default: o += c;
    }
  }
  return o;
}

std::string num(double v, int prec = 2) {
  char b[64];
  std::snprintf(b, sizeof b, "%.*f", prec, v);
  return b;
}

constexpr int kW = 760, kH = 180, kPad = 40;  // chart size and left/bottom margin

// One chart: series of (ms since the window's start, value) as polylines on
// a shared value axis, the event's time as a red vertical line.
struct Series {
  std::string cls, colour, label;
  std::vector<std::pair<int64_t, double>> pts;
};

std::string chart(const std::string& cls, const std::string& unit, const std::vector<Series>& series, int64_t span_ms,
                  std::optional<int64_t> event_ms) {
  double lo = 0, hi = 0;
  bool any = false;
  for (const auto& s : series)
    for (const auto& [t, v] : s.pts) {
      lo = any ? std::min(lo, v) : v, hi = any ? std::max(hi, v) : v;
      any = true;
    }
  if (cls == "speed") lo = 0;
  if (hi - lo < 1e-6) hi = lo + 1;
  const double pad = (hi - lo) * 0.08;
  lo -= cls == "speed" ? 0 : pad, hi += pad;
  const double pw = kW - kPad - 10, ph = kH - 30;
  auto X = [&](int64_t t) { return kPad + pw * static_cast<double>(t) / static_cast<double>(std::max<int64_t>(1, span_ms)); };
  auto Y = [&](double v) { return 10 + ph * (hi - v) / (hi - lo); };
  std::string o = "<svg class=\"chart " + cls + "\" viewBox=\"0 0 " + std::to_string(kW) + " " + std::to_string(kH) +
                  "\" width=\"" + std::to_string(kW) + "\" height=\"" + std::to_string(kH) +
                  "\" xmlns=\"http://www.w3.org/2000/svg\" data-span-ms=\"" + std::to_string(span_ms) + "\">\n";
  o += "<rect x=\"" + std::to_string(kPad) + "\" y=\"10\" width=\"" + num(pw, 0) + "\" height=\"" + num(ph, 0) +
       "\" fill=\"#fafafa\" stroke=\"#ccc\"/>\n";
  for (double v : {lo, (lo + hi) / 2, hi})
    o += "<text x=\"" + std::to_string(kPad - 4) + "\" y=\"" + num(Y(v) + 4, 1) + "\" text-anchor=\"end\">" +
         num(v, cls == "speed" ? 0 : 1) + "</text>\n";
  for (int s = 0; s <= span_ms / 1000; s += std::max<int>(1, static_cast<int>(span_ms / 1000 / 6)))
    o += "<text x=\"" + num(X(s * 1000LL), 1) + "\" y=\"" + std::to_string(kH - 4) + "\" text-anchor=\"middle\">" +
         std::to_string(s) + " s</text>\n";
  o += "<text x=\"" + std::to_string(kW - 10) + "\" y=\"22\" text-anchor=\"end\">" + esc(unit) + "</text>\n";
  for (const auto& s : series) {
    o += "<polyline class=\"" + s.cls + "\" data-points=\"" + std::to_string(s.pts.size()) +
         "\" fill=\"none\" stroke=\"" + s.colour + "\" stroke-width=\"1.5\" points=\"";
    for (const auto& [t, v] : s.pts) o += num(X(t), 1) + "," + num(Y(v), 1) + " ";
    o += "\"><title>" + esc(s.label) + "</title></polyline>\n";
  }
  if (event_ms)
    o += "<line class=\"event-marker\" data-ms=\"" + std::to_string(*event_ms) + "\" x1=\"" + num(X(*event_ms), 1) +
         "\" x2=\"" + num(X(*event_ms), 1) + "\" y1=\"10\" y2=\"" + num(10 + ph, 0) +
         "\" stroke=\"#d00\" stroke-width=\"2\"/>\n";
  return o + "</svg>\n";
}

std::string track_svg(const std::vector<cut::detail::Telemetry::Fix>& fixes, std::optional<std::pair<double, double>> at) {
  const int W = 420, H = 420, P = 20;
  double la0 = 90, la1 = -90, lo0 = 180, lo1 = -180;
  for (const auto& f : fixes) la0 = std::min(la0, f.g.lat), la1 = std::max(la1, f.g.lat), lo0 = std::min(lo0, f.g.lon),
                              lo1 = std::max(lo1, f.g.lon);
  if (at) la0 = std::min(la0, at->first), la1 = std::max(la1, at->first), lo0 = std::min(lo0, at->second),
          lo1 = std::max(lo1, at->second);
  // Equirectangular around the track's middle latitude; same scale on both axes.
  const double k = std::cos((la0 + la1) / 2 * M_PI / 180);
  const double w = std::max((lo1 - lo0) * k, 1e-6), h = std::max(la1 - la0, 1e-6);
  const double s = std::min((W - 2 * P) / w, (H - 2 * P) / h);
  auto X = [&](double lon) { return P + ((lon - lo0) * k) * s + ((W - 2 * P) - w * s) / 2; };
  auto Y = [&](double lat) { return H - P - (lat - la0) * s - ((H - 2 * P) - h * s) / 2; };
  std::string o = "<svg class=\"track\" viewBox=\"0 0 " + std::to_string(W) + " " + std::to_string(H) + "\" width=\"" +
                  std::to_string(W) + "\" height=\"" + std::to_string(H) + "\" xmlns=\"http://www.w3.org/2000/svg\">\n";
  o += "<rect width=\"" + std::to_string(W) + "\" height=\"" + std::to_string(H) + "\" fill=\"#f4f7f4\" stroke=\"#ccc\"/>\n";
  o += "<polyline class=\"gps-track\" data-points=\"" + std::to_string(fixes.size()) +
       "\" fill=\"none\" stroke=\"#2a6\" stroke-width=\"3\" points=\"";
  for (const auto& f : fixes) o += num(X(f.g.lon), 1) + "," + num(Y(f.g.lat), 1) + " ";
  o += "\"/>\n";
  if (!fixes.empty())
    o += "<circle class=\"track-start\" cx=\"" + num(X(fixes.front().g.lon), 1) + "\" cy=\"" +
         num(Y(fixes.front().g.lat), 1) + "\" r=\"5\" fill=\"#2a6\"/>\n";
  if (at)
    o += "<circle class=\"event-point\" data-lat=\"" + num(at->first, 6) + "\" data-lon=\"" + num(at->second, 6) +
         "\" cx=\"" + num(X(at->second), 1) + "\" cy=\"" + num(Y(at->first), 1) +
         "\" r=\"8\" fill=\"#d00\" stroke=\"#fff\" stroke-width=\"2\"/>\n";
  o += "<text x=\"" + std::to_string(W - 8) + "\" y=\"" + std::to_string(H - 8) +
       "\" text-anchor=\"end\">north up, no map</text>\n";
  return o + "</svg>\n";
}

// A JPEG of the frame shown at t, as a data: URI; "" when there is none.
std::string still_uri(const CardScan& scan, LocalTime t, Camera cam, const fs::path& tmp) {
  try {
    cut::make_still(scan, t, cam, tmp, Context::quiet(), true);
    const std::string jpeg = read_file(tmp);
    std::error_code ec;
    fs::remove(tmp, ec);
    return "data:image/jpeg;base64," +
           s3::detail::base64(reinterpret_cast<const unsigned char*>(jpeg.data()), jpeg.size());
  } catch (const Interrupted&) {
    throw;
  } catch (const Error&) {
    std::error_code ec;
    fs::remove(tmp, ec);
    return "";
  }
}

}  // namespace

void add_stills(Page& p, const CardScan& scan, const std::vector<const Recording*>& recs, const Context& ctx) {
  const LocalTime at = focus(p);
  p.moments = {{"before", std::max(p.from, at - 5000)},
               {p.event ? "at the event" : "middle", at},
               {"after", std::min(p.to - 1, at + 5000)}};
  const fs::path tmpdir = fs::temp_directory_path();
  const std::string tag = ".nex-report-" + std::to_string(::getpid());
  for (Camera cam : {Camera::Road, Camera::Interior}) {
    bool has = false;
    for (const Recording* r : recs) has = has || r->has(cam);
    if (!has) continue;
    std::vector<std::string> uris;
    for (const auto& [label, t] : p.moments) {
      ctx.check_interrupt();
      uris.push_back(still_uri(scan, t, cam, tmpdir / (tag + "-" + to_string(cam) + ".jpg")));
    }
    p.stills.emplace_back(cam, std::move(uris));
  }
}

void add_telemetry(Page& p, const cut::detail::Telemetry& tel) {
  for (const auto& f : tel.fixes)
    if (f.t >= p.from && f.t < p.to) p.fixes.push_back(f);
  for (const auto& a : tel.acc)
    if (a.t >= p.from && a.t < p.to) p.acc.push_back(a);
  const LocalTime at = focus(p);
  if (p.event && p.event->lat && p.event->lon) p.where = std::pair{*p.event->lat, *p.event->lon};
  if (p.event && p.event->speed_kmh) p.kmh = *p.event->speed_kmh;
  if (auto g = tel.gps_at(at)) {
    if (!p.where) p.where = std::pair{g->lat, g->lon};
    if (!p.kmh) p.kmh = g->speed_kmh;
  }
}

std::string render(const Page& p) {
  const int64_t span = p.to - p.from;
  std::optional<int64_t> marker;
  if (p.event) marker = p.event->time - p.from;
  const std::string off = p.utc_offset_min ? format_utc_offset(*p.utc_offset_min) : "";
  auto local = [&](LocalTime t) { return format_iso(t, true) + (off.empty() ? "" : " " + off); };

  std::string stills = "<table class=\"stills\">\n<tr><th></th>";
  for (const auto& [label, t] : p.moments) stills += "<th>" + esc(label) + "<br>" + esc(format_iso(t, true)) + "</th>";
  stills += "</tr>\n";
  for (const auto& [cam, uris] : p.stills) {
    stills += "<tr><th>" + std::string(to_string(cam)) + "</th>";
    for (size_t i = 0; i < uris.size() && i < p.moments.size(); ++i) {
      const auto& [label, t] = p.moments[i];
      if (uris[i].empty()) {
        stills += "<td class=\"missing\">no picture</td>";
        continue;
      }
      stills += "<td><img class=\"still\" data-camera=\"" + std::string(to_string(cam)) + "\" data-time=\"" +
                format_iso(t, true) + "\" alt=\"" + std::string(to_string(cam)) + " " + esc(label) + "\" src=\"" +
                uris[i] + "\"></td>";
    }
    stills += "</tr>\n";
  }
  stills += "</table>\n";

  Series speed{"speed-line", "#06c", "speed (km/h)", {}}, gx{"g-x", "#c60", "x (longitudinal)", {}},
      gy{"g-y", "#090", "y (lateral)", {}}, gz{"g-z", "#66c", "z (vertical)", {}};
  for (const auto& f : p.fixes) speed.pts.emplace_back(f.t - p.from, f.g.speed_kmh);
  for (const auto& a : p.acc) {
    gx.pts.emplace_back(a.t - p.from, a.s.x);
    gy.pts.emplace_back(a.t - p.from, a.s.y);
    gz.pts.emplace_back(a.t - p.from, a.s.z);
  }
  auto none = [](const std::string& cls, const std::string& why) {
    return "<p class=\"no-telemetry " + cls + "\">" + esc(why) + "</p>\n";
  };

  const std::string title = p.event ? std::string(to_string(p.event->kind)) + " at " + format_iso(p.event->time, true)
                                    : "footage " + format_iso(p.from, true) + " to " + format_iso(p.to, true);
  std::string h =
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>Incident report: " + esc(title) +
      "</title>\n<style>\nbody{font:14px/1.4 sans-serif;margin:24px;color:#222;max-width:1400px}"
      "h1{font-size:22px}h2{font-size:17px;margin-top:28px;border-bottom:1px solid #ddd}"
      "table{border-collapse:collapse}td,th{padding:3px 8px;text-align:left;vertical-align:top}"
      ".facts th{color:#555;font-weight:normal}.files td{font-family:monospace;font-size:12px}"
      ".stills img{width:400px;height:auto;display:block}.missing,.no-telemetry,.no-findings{color:#999}"
      "svg text{font:11px sans-serif;fill:#555}.legend span{margin-right:14px}\n</style>\n</head>\n<body>\n";
  h += "<h1>Incident report: " + esc(title) + "</h1>\n<table class=\"facts\">\n";
  auto fact = [&](const std::string& k, const std::string& v, const std::string& cls) {
    h += "<tr><th>" + esc(k) + "</th><td class=\"" + cls + "\">" + esc(v) + "</td></tr>\n";
  };
  if (p.event) {
    fact("event", p.event->id, "event-id");
    fact("kind", to_string(p.event->kind), "kind");
    fact("time", local(p.event->time), "time");
    fact("peak G", num(p.event->peak_g), "peak-g");
  }
  fact("window", format_iso(p.from, true) + " to " + local(p.to), "window");
  fact("speed", p.kmh ? num(*p.kmh, 1) + " km/h" : "no GPS", "speed");
  fact("position", p.where ? num(p.where->first, 6) + ", " + num(p.where->second, 6) : "no GPS", "position");
  for (const auto& f : p.facts) fact(f.key, f.value, f.cls);
  h += "</table>\n<h2>Pictures</h2>\n" + stills;
  h += "<h2>Speed</h2>\n" + (p.no_gps.empty() ? chart("speed", "km/h", {speed}, span, marker) : none("speed", p.no_gps));
  h += "<h2>G-force</h2>\n" +
       (p.no_acc.empty() ? "<div class=\"legend\"><span style=\"color:#c60\">x longitudinal</span><span "
                           "style=\"color:#090\">y lateral</span><span style=\"color:#66c\">z vertical</span></div>\n" +
                               chart("gforce", "g", {gx, gy, gz}, span, marker)
                         : none("gforce", p.no_acc));
  h += "<h2>GPS track</h2>\n" +
       (p.no_gps.empty() ? track_svg(p.fixes, p.event ? p.where : std::nullopt) : none("track", p.no_gps));
  h += "<h2>Card findings in this window</h2>\n";
  if (!p.findings_note.empty()) h += "<p class=\"no-findings\">" + esc(p.findings_note) + "</p>\n";
  else if (p.findings.empty()) h += "<p class=\"no-findings\">none</p>\n";
  else {
    h += "<ul class=\"findings\">\n";
    for (const auto& f : p.findings) h += "<li class=\"finding\">" + esc(f) + "</li>\n";
    h += "</ul>\n";
  }
  h += "<h2>Files</h2>\n<table class=\"files\">\n<tr><th>file</th><th>bytes</th><th>SHA-256</th></tr>\n";
  for (const auto& f : p.files)
    h += "<tr><td>" + esc(f.name) + "</td><td>" + std::to_string(f.size) + "</td><td class=\"sha256\">" +
         esc(f.sha256) + "</td></tr>\n";
  h += "</table>\n<p class=\"generated\">" + esc(p.generated_by) + "; times are camera-local (" +
       (off.empty() ? std::string("the UTC offset is not recorded in this backup") : "UTC" + off) +
       ").</p>\n</body>\n</html>\n";
  return h;
}

void write_page(const Page& p, const Options& o, Result& res, const Context& ctx) {
  res.file = o.output;
  res.from = p.from;
  res.to = p.to;
  res.stills = 0;
  for (const auto& [cam, uris] : p.stills)
    for (const auto& u : uris) res.stills += u.empty() ? 0 : 1;
  res.fixes = static_cast<int>(p.fixes.size());
  res.samples = static_cast<int>(p.acc.size());
  res.files = static_cast<int>(p.files.size());
  const std::string h = render(p);
  if (o.pdf) {
    print_pdf(h, o.output, ctx);
    std::error_code ec;
    res.bytes = fs::file_size(o.output, ec);
  } else {
    write_file_atomic(o.output, h);
    res.bytes = h.size();
  }
}

}  // namespace nex::report::detail
