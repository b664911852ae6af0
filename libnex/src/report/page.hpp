#pragma once
// Internal: the incident page (nex/report.hpp) as data, and the one renderer
// that turns it into HTML. The card (report.cpp) and a backed-up item
// (backup.cpp) each fill a Page; neither writes HTML of its own.
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "cut/overlay.hpp"
#include "nex/card.hpp"
#include "nex/context.hpp"
#include "nex/events.hpp"
#include "nex/report.hpp"

namespace nex::report::detail {

struct Page {
  std::optional<Event> event;          // none: a window
  LocalTime from, to;                  // the window
  std::optional<int> utc_offset_min;   // none: not known (a backup made before it was recorded)
  std::optional<double> kmh;           // at the event (or the window's middle)
  std::optional<std::pair<double, double>> where;
  // Rows after the event's and the window's: the camera, where the footage came from.
  struct Fact {
    std::string key, value, cls;
  };
  std::vector<Fact> facts;

  // Stills: the moments (label, time) and, per camera, a data: URI per moment ("" = no picture).
  std::vector<std::pair<std::string, LocalTime>> moments;
  std::vector<std::pair<Camera, std::vector<std::string>>> stills;

  // Telemetry in [from, to); a non-empty no_gps / no_acc replaces the
  // charts (and the track) with that sentence: never a stale or made-up value.
  std::vector<cut::detail::Telemetry::Fix> fixes;
  std::vector<cut::detail::Telemetry::Acc> acc;
  std::string no_gps, no_acc;

  // Findings: lines of the card's scan that touch the window; without a
  // scan (a backup), `findings_note` says why there are none to show.
  std::vector<std::string> findings;
  std::string findings_note;

  struct File {
    std::string name;
    uint64_t size = 0;
    std::string sha256;
  };
  std::vector<File> files;
  std::string generated_by = "nexls --report";
};

// The page's HTML: one self-contained document, no script, no network.
std::string render(const Page& p);

// Writes the page to o.output (HTML, or PDF with o.pdf), nothing left on failure;
// fills res's counts (stills, fixes, samples, files, bytes).
void write_page(const Page& p, const Options& o, Result& res, const Context& ctx);

// The moments of the stills (before, at, after) and a JPEG of each camera
// the recordings hold at each, from `scan` (the card, or a backed-up item's
// clips placed at their start).
void add_stills(Page& p, const CardScan& scan, const std::vector<const Recording*>& recs, const Context& ctx);

// The telemetry of [p.from, p.to) and, where the event has none, the speed
// and position at the event (or the window's middle).
void add_telemetry(Page& p, const cut::detail::Telemetry& tel);

// The instant the stills and the facts are about: the event, or the window's middle.
inline LocalTime focus(const Page& p) { return p.event ? p.event->time : p.from + (p.to - p.from) / 2; }

}  // namespace nex::report::detail
