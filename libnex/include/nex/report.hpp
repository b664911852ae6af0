#pragma once
// nexls --report: one self-contained HTML page about an event or a time
// window that a support agent or an adjuster opens offline: the event's
// facts and the camera, the files with their SHA-256, stills of both cameras
// before, at and after (embedded JPEGs), the speed and the three G-force axes
// over the window and the GPS track as inline SVG (no script, no network),
// and the card's findings that touch the window.
#include <cstdint>
#include <filesystem>
#include <string>

#include "nex/card.hpp"
#include "nex/context.hpp"
#include "nex/output.hpp"
#include "nex/timeutil.hpp"

namespace nex::report {

struct Options {
  std::string event;                  // an event id (window: before/after around it), or
  std::string from, to;               // a window, in nexcut's time syntax (--to relative to --from)
  std::string before = "20s", after = "10s";
  std::filesystem::path output;       // the .html (.pdf), written under a temporary name and renamed
  bool pdf = false;                   // print the page to PDF (headless Chromium) instead
};

struct Result {
  std::filesystem::path file;
  LocalTime from, to;
  int stills = 0;       // pictures embedded
  int files = 0;        // card files listed with their SHA-256
  int fixes = 0;        // GPS fixes in the window
  int samples = 0;      // G-sensor samples in the window
  uint64_t bytes = 0;
  ojson to_json() const;
};

// UsageError for a bad selection; InputError for an unknown event or a
// window with no footage. Nothing is left under `output` on failure.
Result write_report(const CardScan& scan, const Options& o, const Context& ctx);

}  // namespace nex::report
