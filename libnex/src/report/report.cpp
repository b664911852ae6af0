// nexls --report: the incident page (nex/report.hpp).
//
// Everything is inside the one file: CSS in a <style>, stills as data: URIs
// (JPEGs made by nexcut's still code, which decodes one frame each), charts
// as inline SVG polylines whose data-points attributes say how many samples
// they hold (tests check them in a real browser's DOM). No script.
#include "nex/report.hpp"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "cut/overlay.hpp"
#include "evidence/internal.hpp"
#include "nex/cut.hpp"
#include "nex/error.hpp"
#include "nex/fsutil.hpp"
#include "nex/models.hpp"
#include "report/pdf.hpp"
#include "s3/internal.hpp"

namespace nex::report {

namespace fs = std::filesystem;

ojson Result::to_json() const {
  ojson j;
  j["file"] = file.string();
  j["from"] = format_iso(from, true);
  j["to"] = format_iso(to, true);
  j["stills"] = stills;
  j["files"] = files;
  j["fixes"] = fixes;
  j["samples"] = samples;
  j["bytes"] = bytes;
  return j;
}

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

Result write_report(const CardScan& scan, const Options& o, const Context& ctx) {
  if (o.output.empty()) throw UsageError("--report needs -o FILE.html");
  if (o.event.empty() && (o.from.empty() || o.to.empty()))
    throw UsageError("--report needs an event id, or --from and --to");
  cut::Selection sel;
  sel.event = o.event;
  sel.from = o.from;
  sel.to = o.to;
  sel.before = o.before;
  sel.after = o.after;
  const cut::Window w = cut::resolve_selection(scan, sel);
  const Event* ev = nullptr;
  for (const Event& e : scan.events)
    if (!o.event.empty() && e.id == o.event) ev = &e;

  std::vector<const Recording*> recs;
  for (const auto* list : {&scan.recordings, &scan.parking})
    for (const Recording& r : *list)
      if (r.start < w.to && r.start + std::max<int64_t>(r.duration_ms, 1) > w.from) recs.push_back(&r);
  if (recs.empty())
    throw InputError("no footage between " + format_iso(w.from, true) + " and " + format_iso(w.to, true) + " on " +
                     scan.where());
  const int64_t span = w.to - w.from;
  Result res;
  res.file = o.output;
  res.from = w.from;
  res.to = w.to;

  // Telemetry of the window.
  const cut::detail::Telemetry tel = cut::detail::Telemetry::load(scan, w.from, w.to);
  std::vector<cut::detail::Telemetry::Fix> fixes;
  for (const auto& f : tel.fixes)
    if (f.t >= w.from && f.t < w.to) fixes.push_back(f);
  Series speed{"speed-line", "#06c", "speed (km/h)", {}}, gx{"g-x", "#c60", "x (longitudinal)", {}},
      gy{"g-y", "#090", "y (lateral)", {}}, gz{"g-z", "#66c", "z (vertical)", {}};
  for (const auto& f : fixes) speed.pts.emplace_back(f.t - w.from, f.g.speed_kmh);
  for (const auto& a : tel.acc)
    if (a.t >= w.from && a.t < w.to) {
      gx.pts.emplace_back(a.t - w.from, a.s.x);
      gy.pts.emplace_back(a.t - w.from, a.s.y);
      gz.pts.emplace_back(a.t - w.from, a.s.z);
    }
  res.fixes = static_cast<int>(fixes.size());
  res.samples = static_cast<int>(gx.pts.size());
  const LocalTime at = ev ? ev->time : w.from + span / 2;
  std::optional<int64_t> marker;
  if (ev) marker = ev->time - w.from;
  std::optional<std::pair<double, double>> where;
  std::optional<double> kmh;
  if (ev && ev->lat && ev->lon) where = std::pair{*ev->lat, *ev->lon};
  if (ev && ev->speed_kmh) kmh = *ev->speed_kmh;
  if (auto g = tel.gps_at(at)) {
    if (!where) where = std::pair{g->lat, g->lon};
    if (!kmh) kmh = g->speed_kmh;
  }

  // Stills: before, at and after, both cameras.
  const fs::path tmpdir = fs::temp_directory_path();
  const std::string tag = ".nex-report-" + std::to_string(::getpid());
  const std::vector<std::pair<std::string, LocalTime>> moments = {
      {"before", std::max(w.from, at - 5000)}, {ev ? "at the event" : "middle", at}, {"after", std::min(w.to - 1, at + 5000)}};
  std::string stills = "<table class=\"stills\">\n<tr><th></th>";
  for (const auto& [label, t] : moments) stills += "<th>" + esc(label) + "<br>" + esc(format_iso(t, true)) + "</th>";
  stills += "</tr>\n";
  for (Camera cam : {Camera::Road, Camera::Interior}) {
    bool has = false;
    for (const Recording* r : recs) has = has || r->has(cam);
    if (!has) continue;
    stills += "<tr><th>" + std::string(to_string(cam)) + "</th>";
    for (const auto& [label, t] : moments) {
      ctx.check_interrupt();
      const std::string uri = still_uri(scan, t, cam, tmpdir / (tag + "-" + to_string(cam) + ".jpg"));
      if (uri.empty()) {
        stills += "<td class=\"missing\">no picture</td>";
        continue;
      }
      ++res.stills;
      stills += "<td><img class=\"still\" data-camera=\"" + std::string(to_string(cam)) + "\" data-time=\"" +
                format_iso(t, true) + "\" alt=\"" + std::string(to_string(cam)) + " " + esc(label) + "\" src=\"" + uri +
                "\"></td>";
    }
    stills += "</tr>\n";
  }
  stills += "</table>\n";

  // Files with their SHA-256, and the findings that touch them.
  std::string files = "<table class=\"files\">\n<tr><th>file</th><th>bytes</th><th>SHA-256</th></tr>\n";
  std::vector<std::string> rels;
  for (const Recording* r : recs)
    for (const auto* f : {&r->road, &r->interior, &r->gps, &r->acc}) {
      if (!*f) continue;
      ctx.check_interrupt();
      std::string sha;
      try {
        sha = (*f)->path.empty() ? evidence::detail::sha256_of(scan.read(**f))
                                 : evidence::detail::hash_file((*f)->path, ctx).sha256;
      } catch (const IoError& e) {
        sha = std::string("unreadable: ") + e.what();
      }
      rels.push_back((*f)->rel);
      ++res.files;
      files += "<tr><td>" + esc((*f)->rel) + "</td><td>" + std::to_string((*f)->size) + "</td><td class=\"sha256\">" +
               esc(sha) + "</td></tr>\n";
    }
  files += "</table>\n";
  std::string findings;
  for (const Finding& f : scan.findings) {
    bool touches = false;
    for (const auto& r : rels) touches = touches || f.path == r;
    for (const Recording* r : recs)
      touches = touches || (!f.path.empty() && fs::path(f.path).filename().string().rfind(r->key, 0) == 0);
    if (touches)
      findings += "<li class=\"finding\">" + esc(f.code) + ": " + esc(f.path) + ": " + esc(f.message) + "</li>\n";
  }

  // The page.
  const std::string title = ev ? std::string(to_string(ev->kind)) + " at " + format_iso(ev->time, true)
                               : "footage " + format_iso(w.from, true) + " to " + format_iso(w.to, true);
  const int off = scan.camera ? scan.camera->utc_offset_min : 0;
  std::string h =
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>Incident report: " + esc(title) +
      "</title>\n<style>\nbody{font:14px/1.4 sans-serif;margin:24px;color:#222;max-width:1400px}"
      "h1{font-size:22px}h2{font-size:17px;margin-top:28px;border-bottom:1px solid #ddd}"
      "table{border-collapse:collapse}td,th{padding:3px 8px;text-align:left;vertical-align:top}"
      ".facts th{color:#555;font-weight:normal}.files td{font-family:monospace;font-size:12px}"
      ".stills img{width:400px;height:auto;display:block}.missing{color:#999}"
      "svg text{font:11px sans-serif;fill:#555}.legend span{margin-right:14px}\n</style>\n</head>\n<body>\n";
  h += "<h1>Incident report: " + esc(title) + "</h1>\n<table class=\"facts\">\n";
  auto fact = [&](const std::string& k, const std::string& v, const std::string& cls) {
    h += "<tr><th>" + esc(k) + "</th><td class=\"" + cls + "\">" + esc(v) + "</td></tr>\n";
  };
  if (ev) {
    fact("event", ev->id, "event-id");
    fact("kind", to_string(ev->kind), "kind");
    fact("time", format_iso(ev->time, true) + " " + format_utc_offset(off), "time");
    fact("peak G", num(ev->peak_g), "peak-g");
  }
  fact("window", format_iso(w.from, true) + " to " + format_iso(w.to, true) + " " + format_utc_offset(off), "window");
  fact("speed", kmh ? num(*kmh, 1) + " km/h" : "no GPS", "speed");
  fact("position", where ? num(where->first, 6) + ", " + num(where->second, 6) : "no GPS", "position");
  if (scan.camera) {
    const ModelProfile* m = scan.model;
    fact("camera", (m ? m->name : scan.camera->model) + ", serial " + scan.camera->serial + ", firmware " +
                       scan.camera->firmware, "camera");
  }
  fact("card", scan.where(), "card");
  h += "</table>\n<h2>Pictures</h2>\n" + stills;
  h += "<h2>Speed</h2>\n" + chart("speed", "km/h", {speed}, span, marker);
  h += "<h2>G-force</h2>\n<div class=\"legend\"><span style=\"color:#c60\">x longitudinal</span><span "
       "style=\"color:#090\">y lateral</span><span style=\"color:#66c\">z vertical</span></div>\n" +
       chart("gforce", "g", {gx, gy, gz}, span, marker);
  h += "<h2>GPS track</h2>\n" + track_svg(fixes, ev ? where : std::nullopt);
  h += "<h2>Card findings in this window</h2>\n";
  h += findings.empty() ? "<p class=\"no-findings\">none</p>\n" : "<ul class=\"findings\">\n" + findings + "</ul>\n";
  h += "<h2>Files</h2>\n" + files;
  h += "<p class=\"generated\">nexls --report; times are camera-local (UTC" + format_utc_offset(off) +
       ").</p>\n</body>\n</html>\n";
  if (o.pdf) {
    detail::print_pdf(h, o.output, ctx);
    std::error_code ec;
    res.bytes = fs::file_size(o.output, ec);
  } else {
    write_file_atomic(o.output, h);
    res.bytes = h.size();
  }
  return res;
}

}  // namespace nex::report
