// nexls CARD --report: the incident page of a card's event or window
// (nex/report.hpp): the card's scan fills a Page (report/page.hpp), whose one
// renderer writes the self-contained HTML (or PDF). A backed-up item's page
// is made in backup.cpp.
#include "nex/report.hpp"

#include <algorithm>

#include "cut/overlay.hpp"
#include "evidence/internal.hpp"
#include "nex/cut.hpp"
#include "nex/error.hpp"
#include "nex/models.hpp"
#include "report/page.hpp"

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
  detail::Page p;
  for (const Event& e : scan.events)
    if (!o.event.empty() && e.id == o.event) p.event = e;
  p.from = w.from;
  p.to = w.to;

  std::vector<const Recording*> recs;
  for (const auto* list : {&scan.recordings, &scan.parking})
    for (const Recording& r : *list)
      if (r.start < w.to && r.start + std::max<int64_t>(r.duration_ms, 1) > w.from) recs.push_back(&r);
  if (recs.empty())
    throw InputError("no footage between " + format_iso(w.from, true) + " and " + format_iso(w.to, true) + " on " +
                     scan.where());

  if (scan.camera) p.utc_offset_min = scan.camera->utc_offset_min;
  else p.utc_offset_min = 0;
  const bool gps = std::any_of(recs.begin(), recs.end(), [](const Recording* r) { return r->gps.has_value(); });
  const bool acc = std::any_of(recs.begin(), recs.end(), [](const Recording* r) { return r->acc.has_value(); });
  if (!gps) p.no_gps = "no GPS on the card for this window (no .gps sidecar)";
  if (!acc) p.no_acc = "no G-sensor data on the card for this window (no .acc sidecar)";
  detail::add_telemetry(p, cut::detail::Telemetry::load(scan, w.from, w.to));
  if (scan.camera) {
    const ModelProfile* m = scan.model;
    p.facts.push_back({"camera",
                       (m ? m->name : scan.camera->model) + ", serial " + scan.camera->serial + ", firmware " +
                           scan.camera->firmware,
                       "camera"});
  }
  p.facts.push_back({"card", scan.where(), "card"});
  detail::add_stills(p, scan, recs, ctx);

  // Files with their SHA-256, and the findings that touch them.
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
      p.files.push_back({(*f)->rel, (*f)->size, sha});
    }
  for (const Finding& f : scan.findings) {
    bool touches = false;
    for (const auto& r : rels) touches = touches || f.path == r;
    for (const Recording* r : recs)
      touches = touches || (!f.path.empty() && fs::path(f.path).filename().string().rfind(r->key, 0) == 0);
    if (touches) p.findings.push_back(f.code + ": " + f.path + ": " + f.message);
  }

  Result res;
  detail::write_page(p, o, res, ctx);
  return res;
}

}  // namespace nex::report
