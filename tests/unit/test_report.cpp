// nexls --report from a card and from a backed-up item (nex/report.hpp):
// the same counts and facts, the sidecars nexsync keeps with an event, and
// "no telemetry in this backup" for an item without them.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <regex>

#include "nex/card.hpp"
#include "nex/config.hpp"
#include "nex/error.hpp"
#include "nex/footage.hpp"
#include "nex/fsutil.hpp"
#include "nex/manifest.hpp"
#include "nex/report.hpp"
#include "nex/sim.hpp"
#include "nex/sync.hpp"

namespace fs = std::filesystem;

namespace {

struct Tmp {
  fs::path path;
  Tmp() {
    path = fs::temp_directory_path() / ("nex-report-unit-" + std::to_string(::getpid()));
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~Tmp() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

// The facts the page shows whatever it was made from.
std::string facts(const std::string& html) {
  static const std::regex re(R"re(<td class="(event-id|kind|time|peak-g|window|speed|position)">[^<]*</td>)re");
  std::string out;
  for (std::sregex_iterator it(html.begin(), html.end(), re), end; it != end; ++it) out += it->str() + "\n";
  return out;
}

}  // namespace

TEST_CASE("report: a backed-up event gives the card's page, from its own sidecars", "[report]") {
  Tmp tmp;
  const nex::Context q = nex::Context::quiet();
  const fs::path card = tmp.path / "card";
  nex::sim::InitOptions io;
  io.card = card;
  io.model = "pro";
  io.capacity = 8ull << 30;
  io.serial = "PRO-RU";
  nex::sim::init_card(io, q);
  nex::sim::DriveOptions d;
  d.card = card;
  d.start = *nex::parse_iso("2026-11-20T08:12:00");
  d.duration_ms = 120'000;
  d.events.push_back(nex::sim::parse_planned_event("hard-brake@59s"));
  d.cache_dir = nex::default_cache_dir();
  nex::sim::simulate_drive(d, q);
  const std::string ev = "20261120_081259_hard-brake";

  nex::sync::SyncOptions so;
  so.card = card;
  so.destination = (tmp.path / "bk").string();
  so.work_dir = tmp.path / "work";
  so.drives = nex::sync::DrivesMode::None;
  so.jobs = 1;
  REQUIRE(nex::sync::run_sync(so, q).exit_code() == 0);
  const fs::path item = tmp.path / "bk/PRO-RU/events" / ev;
  nex::sync::Manifest m = nex::sync::Manifest::parse(nex::read_file(item / "event.json"));
  int sidecars = 0;
  for (const auto& f : m.files)
    if (f.camera.empty()) {
      ++sidecars;
      CHECK(f.source == "drive/" + f.name);
      CHECK(nex::read_file(item / f.name) == nex::read_file(card / f.source));
    }
  CHECK(sidecars == 4);  // .gps and .acc of 08:12:00 and 08:13:00

  nex::report::Options o;
  o.event = ev;
  o.output = tmp.path / "card.html";
  const nex::CardScan scan = nex::scan_card(card, {}, q);
  const nex::report::Result rc = nex::report::write_report(scan, o, q);
  o.output = tmp.path / "bk.html";
  const nex::report::Result rb = nex::report::write_backup_report(so.destination, ev, o, nex::Config(), q);
  CHECK(rb.stills == 3);  // road only: before, at, after
  CHECK(rb.stills == rc.stills);
  CHECK(rb.fixes == rc.fixes);
  CHECK(rb.samples == rc.samples);
  CHECK(rb.samples == 1500);
  CHECK(rb.files == static_cast<int>(m.files.size()));
  const std::string card_html = nex::read_file(tmp.path / "card.html"), bk_html = nex::read_file(tmp.path / "bk.html");
  CHECK(facts(bk_html) == facts(card_html));
  CHECK(bk_html.find("not known: a backup holds no scan of the card") != std::string::npos);

  // Backed up before nexsync kept the sidecars: no charts, never a made-up value.
  std::erase_if(m.files, [](const nex::sync::ManifestFile& f) { return f.camera.empty(); });
  nex::write_file_atomic(item / "event.json", m.dump());
  o.output = tmp.path / "old.html";
  const nex::report::Result ro = nex::report::write_backup_report("", item.string(), o, nex::Config(), q);
  CHECK(ro.fixes == 0);
  CHECK(ro.samples == 0);
  const std::string old_html = nex::read_file(tmp.path / "old.html");
  CHECK(old_html.find("no telemetry in this backup") != std::string::npos);
  CHECK(old_html.find("<polyline") == std::string::npos);
  CHECK(facts(old_html) == facts(card_html));

  // A drive, an unknown id: refused, nothing written.
  o.output = tmp.path / "bad.html";
  CHECK_THROWS_AS(nex::report::write_backup_report(so.destination, "20261120_081300_collision", o, nex::Config(), q),
                  nex::InputError);
  CHECK_THROWS_AS(nex::report::write_backup_report(so.destination, "", o, nex::Config(), q), nex::UsageError);
  CHECK_FALSE(fs::exists(o.output));
}
