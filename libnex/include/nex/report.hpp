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
#include "nex/config.hpp"
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

// The same page of an item of a backup (nexsync): `item` is its location
// (s3://BUCKET/PREFIX/SERIAL/events/ID, /backup/SERIAL/clips/ID) or, with
// `backup` (the backup's root), an id as nexsync pull takes it. The item is
// pulled into a temporary folder by nexsync pull (every file checked against
// the manifest's SHA-256; --encrypt's key from cfg), and the page is made
// of what the backup holds: the manifest's event record, camera and files,
// stills from its clips (a clip starts at the manifest's "from"), charts and
// track from the .gps/.acc sidecars nexsync keeps with events and clips ("no
// telemetry in this backup" for an item backed up without them), and no card
// findings (a backup has no scan of the card; the page says so). o.event,
// o.from and o.to are not used. UsageError for a drive; InputError for an
// unknown item, an item without footage, or a file that fails verification.
// Nothing is left under `output` on failure.
Result write_backup_report(const std::string& backup, const std::string& item, const Options& o,
                           const Config& cfg, const Context& ctx);

}  // namespace nex::report
