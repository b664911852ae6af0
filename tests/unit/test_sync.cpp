// nexsync's pure parts (key layout, manifests, journal, order, quota, option
// parsing) and one end-to-end run into a local folder on a nexsim card.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "nex/backup_layout.hpp"
#include "nex/card.hpp"
#include "nex/config.hpp"
#include "nex/destination.hpp"
#include "nex/error.hpp"
#include "nex/footage.hpp"
#include "nex/fsutil.hpp"
#include "nex/journal.hpp"
#include "nex/manifest.hpp"
#include "nex/retention.hpp"
#include "nex/sigv4.hpp"
#include "nex/sim.hpp"
#include "nex/sync.hpp"

namespace fs = std::filesystem;
using namespace nex::sync;

namespace {

struct SyncTmp {
  fs::path path;
  explicit SyncTmp(const std::string& stem) {
    path = fs::temp_directory_path() / (stem + "-" + std::to_string(::getpid()));
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~SyncTmp() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

nex::LocalTime at(const char* iso) { return *nex::parse_iso(iso); }

// A card of `model` with a drive of `ms` from 08:12:00 (nexsim's footage,
// from the template cache).
nex::sim::DriveOptions sim_card(const fs::path& card, const char* model, uint64_t capacity, const char* serial,
                                int64_t ms, bool power_cut = false) {
  const nex::Context q = nex::Context::quiet();
  nex::sim::InitOptions io;
  io.card = card;
  io.model = model;
  io.capacity = capacity;
  io.serial = serial;
  nex::sim::init_card(io, q);
  nex::sim::DriveOptions d;
  d.card = card;
  d.start = at("2026-11-20T08:12:00");
  d.duration_ms = ms;
  d.power_cut = power_cut;
  d.cache_dir = nex::default_cache_dir();
  nex::sim::simulate_drive(d, q);
  return d;
}

Manifest sample_manifest() {
  Manifest m;
  m.kind = ItemKind::Drive;
  m.id = "20261120_081200";
  m.serial = "PRO-1";
  m.model = "pro";
  m.created = "2026-11-23T10:00:00Z";
  m.recipe = std::string(64, 'a');
  m.from = at("2026-11-20T08:12:00");
  m.to = at("2026-11-20T08:15:00");
  m.records["drives"] = {{"type", "drive"}, {"id", "20261120_081200"}};
  m.files.push_back({"road-timelapse.mp4", "drives/20261120_081200/road-timelapse.mp4", 1234,
                     std::string(64, 'b'), "road", "timelapse"});
  m.files.push_back({"20261120_081200_1.mp4", "footage/20261120/20261120_081200_1.mp4", 99,
                     std::string(64, 'c'), "road", "drive/20261120_081200_1.mp4"});
  return m;
}

}  // namespace

TEST_CASE("sync: key layout", "[sync]") {
  auto r = parse_item_ref("PRO-1/events/20261120_081810_hard-brake");
  REQUIRE(r);
  CHECK(r->serial == "PRO-1");
  CHECK(r->category == "events");
  CHECK(r->manifest_key() == "PRO-1/events/20261120_081810_hard-brake/event.json");
  CHECK(r->time() == at("2026-11-20T08:18:10"));
  CHECK(parse_item_ref("PRO-1/drives/20261120_081200/drive.json")->id == "20261120_081200");
  CHECK(parse_item_ref("PRO-1/clips/20261120_081200_near-miss/")->category == "clips");
  CHECK_FALSE(parse_item_ref("PRO-1/footage/20261120"));
  CHECK_FALSE(parse_item_ref("PRO-1/events/../x"));
  CHECK_FALSE(parse_item_ref("../events/20261120_081200"));
  CHECK_FALSE(parse_item_ref("PRO-1/drives/20261120_081200/road.mp4"));
  CHECK_FALSE(parse_item_ref("PRO-1/drives/2026"));

  CHECK(item_of_key("S/events/20261120_081810_collision/road.mp4")->folder() == "S/events/20261120_081810_collision");
  CHECK_FALSE(item_of_key("S/footage/20261120/20261120_081200_1.mp4"));

  CHECK(footage_rel(at("2026-11-20T23:59:30"), "x.mp4") == "footage/20261120/x.mp4");
  CHECK(clip_slug("Near miss!  at the lights") == "near-miss-at-the-lights");
  CHECK(clip_slug("../../etc") == "etc");
  CHECK(clip_slug("!!!") == "clip");
  CHECK(join_key("", "a/b") == "a/b");
  CHECK(join_key("backup/fleet", "a/b") == "backup/fleet/a/b");
  CHECK(std::string(manifest_name(ItemKind::Parking)) == "event.json");
  CHECK(std::string(category(ItemKind::Parking)) == "events");
  CHECK_THROWS_AS(check_serial("../x"), nex::InputError);
  CHECK_NOTHROW(check_serial("PRO-BC61BA2E"));
}

TEST_CASE("sync: safe keys", "[sync]") {
  CHECK(safe_key("PRO-1/events/x/road.mp4"));
  for (const char* bad : {"", "/etc/passwd", "a/../b", "../a", "a/./b", "a//b", "a/b/", "a\\b", "a\nb", ".."})
    CHECK_FALSE(safe_key(bad));
  CHECK_FALSE(safe_key(std::string(1025, 'a')));
}

TEST_CASE("sync: destinations", "[sync]") {
  auto s3 = parse_destination("s3://nex-test/backup/fleet/");
  CHECK(s3.s3);
  CHECK(s3.bucket == "nex-test");
  CHECK(s3.prefix == "backup/fleet");
  CHECK(s3.text() == "s3://nex-test/backup/fleet");
  CHECK(parse_destination("s3://b").prefix.empty());
  CHECK_THROWS_AS(parse_destination("s3:///x"), nex::UsageError);
  CHECK_THROWS_AS(parse_destination("s3://Bad_Bucket!/x"), nex::UsageError);
  CHECK_THROWS_AS(parse_destination("s3://b/a/../c"), nex::UsageError);
  auto local = parse_destination("/tmp/x/../backup/");
  CHECK_FALSE(local.s3);
  CHECK(local.folder == "/tmp/backup");
}

TEST_CASE("sync: manifests round-trip and refuse unsafe keys", "[sync]") {
  const Manifest m = sample_manifest();
  const Manifest back = Manifest::parse(m.dump());
  CHECK(back.dump() == m.dump());
  CHECK(back.bytes() == 1333);
  CHECK(back.files[1].key == "footage/20261120/20261120_081200_1.mp4");
  CHECK(back.ref().manifest_key() == "PRO-1/drives/20261120_081200/drive.json");

  auto with_key = [&](ItemKind kind, const std::string& key) {
    Manifest x = sample_manifest();
    x.kind = kind;
    if (kind != ItemKind::Drive) x.id = "20261120_081200_hard-brake";
    x.files.resize(1);
    x.files[0].key = key;
    return x.dump();
  };
  CHECK_THROWS_AS(Manifest::parse(with_key(ItemKind::Drive, "../../../etc/evil")), nex::InputError);
  CHECK_THROWS_AS(Manifest::parse(with_key(ItemKind::Drive, "/etc/evil")), nex::InputError);
  CHECK_THROWS_AS(Manifest::parse(with_key(ItemKind::Drive, "drives/20261120_081200/../../x")), nex::InputError);
  CHECK_THROWS_AS(Manifest::parse(with_key(ItemKind::Drive, "events/other/road.mp4")), nex::InputError);
  CHECK_THROWS_AS(Manifest::parse(with_key(ItemKind::Drive, "drives/20261120_081200/a/b.mp4")), nex::InputError);
  // footage/ belongs to drives only
  CHECK_THROWS_AS(Manifest::parse(with_key(ItemKind::Event, "footage/20261120/x.mp4")), nex::InputError);
  CHECK_NOTHROW(Manifest::parse(with_key(ItemKind::Event, "events/20261120_081200_hard-brake/road.mp4")));

  nex::ojson j = m.to_json();
  j["files"][0]["sha256"] = "xyz";
  CHECK_THROWS_AS(Manifest::parse(j.dump()), nex::InputError);
  j = m.to_json();
  j["version"] = 99;
  CHECK_THROWS_AS(Manifest::parse(j.dump()), nex::InputError);
  j = m.to_json();
  j["serial"] = "../x";
  CHECK_THROWS_AS(Manifest::parse(j.dump()), nex::InputError);
  CHECK_THROWS_AS(Manifest::parse("not json"), nex::InputError);
  CHECK_THROWS_AS(Manifest::parse("[]"), nex::InputError);
}

TEST_CASE("sync: a drive still being recorded says so in its manifest", "[sync]") {
  Manifest m = sample_manifest();
  CHECK_FALSE(Manifest::parse(m.dump()).open);
  // A final manifest has no "open" key at all: the same bytes as before it existed.
  CHECK(m.dump().find("\"open\"") == std::string::npos);
  m.open = true;
  const Manifest back = Manifest::parse(m.dump());
  CHECK(back.open);
  CHECK(back.dump() == m.dump());
  nex::ojson j = m.to_json();
  j["open"] = "yes";
  CHECK_THROWS_AS(Manifest::parse(j.dump()), nex::InputError);
}

TEST_CASE("sync: a cut clip's derivation and the camera round-trip; older manifests have neither", "[sync][manifest]") {
  Manifest m = sample_manifest();
  const std::string before = m.dump();
  CHECK(before.find("\"derivation\"") == std::string::npos);
  CHECK(before.find("\"camera\": {") == std::string::npos);
  CHECK_FALSE(Manifest::parse(before).files[0].derivation);
  CHECK_FALSE(Manifest::parse(before).utc_offset_min);
  m.firmware = "3.2.1";
  m.utc_offset_min = -330;
  nex::sync::Derivation d;
  d.mode = "exact";
  d.frames = 900;
  d.reencoded_frames = 28;
  d.start = at("2026-11-20T08:12:20");
  d.end = at("2026-11-20T08:12:50");
  d.sources.push_back({"drive/20261120_081200_1.mp4", 61936616, std::string(64, 'd')});
  d.sources.push_back({"drive/20261120_081300_1.mp4", 61936000, ""});
  d.runs.push_back({"drive/20261120_081200_1.mp4", false, 0, 28, 602, 629});
  d.runs.push_back({"drive/20261120_081200_1.mp4", true, 28, 800, 630, 1429});
  d.runs.push_back({"drive/20261120_081300_1.mp4", true, 828, 72, 0, 71});
  m.files[0].derivation = d;
  const Manifest back = Manifest::parse(m.dump());
  CHECK(back.dump() == m.dump());
  REQUIRE(back.files[0].derivation);
  CHECK(back.files[0].derivation->runs.size() == 3);
  CHECK(back.files[0].derivation->sources[1].sha256.empty());
  CHECK(back.utc_offset_min == -330);
  CHECK(back.firmware == "3.2.1");
  // untrusted: unsafe card paths, runs that skip or name another file
  auto bad = [&](auto edit) {
    nex::ojson j = m.to_json();
    edit(j["files"][0]["derivation"]);
    return j.dump();
  };
  CHECK_THROWS_AS(Manifest::parse(bad([](nex::ojson& x) { x["sources"][0]["file"] = "../etc/passwd"; })), nex::InputError);
  CHECK_THROWS_AS(Manifest::parse(bad([](nex::ojson& x) { x["runs"][1]["clip_first"] = 29; })), nex::InputError);
  CHECK_THROWS_AS(Manifest::parse(bad([](nex::ojson& x) { x["runs"][0]["source"] = "drive/x.mp4"; })), nex::InputError);
  CHECK_THROWS_AS(Manifest::parse(bad([](nex::ojson& x) { x["frames"] = -1; })), nex::InputError);
  CHECK_THROWS_AS(Manifest::parse(bad([](nex::ojson& x) { x["sources"][0]["sha256"] = "abc"; })), nex::InputError);
  CHECK_THROWS_AS(Manifest::parse(bad([](nex::ojson& x) { x = "exact"; })), nex::InputError);
  // keys a future version adds are ignored, as this one's are by older nex
  nex::ojson j = m.to_json();
  j["files"][0]["derivation"]["later"] = {{"x", 1}};
  j["later"] = true;
  CHECK(Manifest::parse(j.dump()).dump() == m.dump());
}

TEST_CASE("sync: the journal survives a torn last line", "[sync]") {
  SyncTmp tmp("nex-sync-journal");
  const fs::path f = tmp.path / "journal";
  {
    Journal j(f);
    j.created({"k/a.mp4", "U1", 100, std::string(64, 'a'), 8, {}});
    j.part_done("k/a.mp4", "U1", 1, "e1");
    j.part_done("k/a.mp4", "U1", 2, "e2");
    j.created({"k/b.mp4", "U2", 50, std::string(64, 'b'), 8, {}});
    j.ended("k/b.mp4", "U2");
    j.part_done("k/b.mp4", "U2", 1, "late");  // after the end: ignored
  }
  {
    std::ofstream out(f, std::ios::app);
    out << R"({"op":"part","key":"k/a.mp4","upload":"U1","n":3,"et)";  // kill -9 mid-write
  }
  Journal j(f);
  CHECK(j.skipped_lines() == 1);
  auto u = j.find("k/a.mp4");
  REQUIRE(u);
  CHECK(u->upload_id == "U1");
  CHECK(u->size == 100);
  CHECK(u->parts.size() == 2);
  CHECK(u->parts.at(2) == "e2");
  CHECK_FALSE(j.find("k/b.mp4"));
  j.compact();
  Journal again(f);
  CHECK(again.skipped_lines() == 0);
  CHECK(again.find("k/a.mp4")->parts.size() == 2);
  again.ended("k/a.mp4", "U1");
  again.compact();
  CHECK_FALSE(fs::exists(f));
}

TEST_CASE("sync: quota keeps events and starred drives, rolls drives over oldest first", "[sync]") {
  auto item = [](ItemKind k, const char* id, uint64_t bytes, bool starred = false) {
    QuotaItem q;
    q.kind = k;
    q.ref = {"S", category(k), id};
    q.time = *q.ref.time();
    q.bytes = bytes;
    q.starred = starred;
    return q;
  };
  const std::vector<QuotaItem> existing = {
      item(ItemKind::Drive, "20261101_080000", 100),
      item(ItemKind::Drive, "20261102_080000", 100, /*starred=*/true),
      item(ItemKind::Drive, "20261103_080000", 100),
      item(ItemKind::Event, "20261101_080010_hard-brake", 50),
  };
  const uint64_t used = 350;

  SECTION("room for everything") {
    auto d = plan_quota({item(ItemKind::Drive, "20261104_080000", 100)}, existing, used, 1000);
    CHECK(d.pending_verdict == std::vector<std::string>{""});
    CHECK(d.victims.empty());
  }
  SECTION("a new drive rolls the oldest unstarred one over") {
    auto d = plan_quota({item(ItemKind::Drive, "20261104_080000", 100)}, existing, used, 360);
    CHECK(d.pending_verdict == std::vector<std::string>{""});
    REQUIRE(d.victims.size() == 1);
    CHECK(d.victims[0].id == "20261101_080000");
  }
  SECTION("an event pushes drives out, never the starred one or other events") {
    auto d = plan_quota({item(ItemKind::Event, "20261104_090000_collision", 200)}, existing, used, 400);
    CHECK(d.pending_verdict == std::vector<std::string>{""});
    REQUIRE(d.victims.size() == 2);
    CHECK(d.victims[0].id == "20261101_080000");
    CHECK(d.victims[1].id == "20261103_080000");
  }
  SECTION("events filling the quota leave continuous footage out") {
    auto d = plan_quota({item(ItemKind::Event, "20261104_090000_collision", 300),
                         item(ItemKind::Drive, "20261104_080000", 100)},
                        existing, used, 460);
    CHECK(d.pending_verdict[0] == "");
    CHECK(d.pending_verdict[1] == "left out");
    CHECK(d.victims.size() == 2);
  }
  SECTION("events that do not fit are left out, newest first kept") {
    auto d = plan_quota({item(ItemKind::Event, "20261104_090000_collision", 60),
                         item(ItemKind::Event, "20261103_090000_collision", 60)},
                        {item(ItemKind::Event, "20261101_080010_hard-brake", 50)}, 50, 120);
    CHECK(d.pending_verdict == std::vector<std::string>{"", "left out"});
  }
  SECTION("FIFO: older new drives roll over, not newer ones") {
    auto d = plan_quota({item(ItemKind::Drive, "20261104_080000", 100), item(ItemKind::Drive, "20261105_080000", 100)},
                        {}, 0, 150);
    CHECK(d.pending_verdict == std::vector<std::string>{"rolled over", ""});
    CHECK_FALSE(d.over);
  }
  SECTION("events and starred items alone over the quota: every drive goes, the run says so") {
    auto d = plan_quota({item(ItemKind::Drive, "20261104_080000", 10)}, existing, used, 140);
    CHECK(d.over);
    CHECK(d.pending_verdict == std::vector<std::string>{"left out"});
    CHECK(d.victims.size() == 2);
  }
}

TEST_CASE("sync: option parsing", "[sync]") {
  CHECK(parse_rate("2M") == (2ull << 20));
  CHECK(parse_rate("500K/s") == 500ull << 10);
  CHECK(parse_rate("1MiB/s") == 1ull << 20);
  CHECK(parse_rate("off") == 0u);
  CHECK_FALSE(parse_rate("fast"));
  auto c = parse_clip_request("08:14:00/+30s=Near miss");
  CHECK(c.from == "08:14:00");
  CHECK(c.to == "+30s");
  CHECK(c.name == "Near miss");
  CHECK(parse_clip_request("2026-11-20T08:14:00/2026-11-20T08:14:30").name == "clip");
  CHECK_THROWS_AS(parse_clip_request("08:14:00"), nex::UsageError);
  CHECK(parse_drives_mode("full") == DrivesMode::Full);
  CHECK_FALSE(parse_drives_mode("all"));

  nex::Config none;
  auto wifi = link_policy("wifi", none);
  CHECK(wifi.carry == Carry::All);
  auto mobile = link_policy("mobile", none);
  CHECK(mobile.carry == Carry::Events);
  CHECK(carries(Carry::Events, ItemKind::Parking));
  CHECK_FALSE(carries(Carry::Events, ItemKind::Clip));
  CHECK(carries(Carry::Clips, ItemKind::Clip));
  CHECK_FALSE(carries(Carry::Clips, ItemKind::Drive));
  auto cfg = nex::Config::from_string("nexsync:\n  links:\n    mobile: {carry: clips, bwlimit: 1M}\n");
  auto m2 = link_policy("mobile", cfg);
  CHECK(m2.carry == Carry::Clips);
  CHECK(m2.bwlimit == 1u << 20);
  CHECK_THROWS_AS(link_policy("satellite", none), nex::UsageError);
  CHECK_THROWS_AS(link_policy("mobile", nex::Config::from_string("nexsync: {links: {mobile: {carry: x}}}")),
                  nex::UsageError);
}

TEST_CASE("sync: a card into a local folder, then nothing to do", "[sync]") {
  SyncTmp tmp("nex-sync-local");
  const nex::Context q = nex::Context::quiet();
  const fs::path card = tmp.path / "card";
  sim_card(card, "nexc1", 32ull << 30, "C1-UNIT", 60'000);
  nex::sim::ParkOptions p;
  p.card = card;
  p.duration_ms = 3'600'000;
  p.incidents.push_back(nex::sim::parse_planned_event("impact@10m"));
  p.cache_dir = nex::default_cache_dir();
  nex::sim::simulate_park(p, q);

  SyncOptions o;
  o.card = card;
  o.destination = (tmp.path / "backup").string();
  o.work_dir = tmp.path / "work";
  o.drives = DrivesMode::Full;
  o.jobs = 2;

  o.dry_run = true;
  SyncReport plan = run_sync(o, q);
  REQUIRE(plan.items.size() == 2);
  CHECK(plan.items[0].kind == ItemKind::Parking);  // events first
  CHECK(plan.items[0].action == "would upload");
  CHECK(plan.items[1].kind == ItemKind::Drive);
  CHECK_FALSE(fs::exists(tmp.path / "backup"));

  o.dry_run = false;
  SyncReport r = run_sync(o, q);
  CHECK(r.exit_code() == 0);
  CHECK(r.summary.items_uploaded == 2);
  const fs::path serial = tmp.path / "backup" / "C1-UNIT";
  // The parking clip of an NEXC1 (sos/, road + interior) as the event.
  const std::string ev = r.items[0].ref.id;
  CHECK(ev.find("parking-impact") != std::string::npos);
  for (const char* f : {"road.mp4", "interior.mp4", "event.json"}) CHECK(fs::exists(serial / "events" / ev / f));
  const Manifest m = Manifest::parse(nex::read_file(serial / "drives/20261120_081200/drive.json"));
  CHECK(m.files.size() == 4);  // road, thumbnail, .gps, .acc
  for (const auto& f : m.files) {
    const fs::path got = serial / f.key;
    REQUIRE(fs::exists(got));
    CHECK(fs::file_size(got) == f.size);
    CHECK(nex::sigv4::sha256_hex(nex::read_file(got)) == f.sha256);
    CHECK(nex::read_file(got) == nex::read_file(card / f.source));
  }

  SyncReport again = run_sync(o, q);
  CHECK(again.summary.items_up_to_date == 2);
  CHECK(again.summary.bytes_sent == 0);
  CHECK(again.summary.requests_list == 1);

  // The same records as the card's listing, read back from the manifests.
  nex::Records ev_rows = list_backup((tmp.path / "backup").string(), BackupView::Events, {}, nex::Config(), q);
  REQUIRE(ev_rows.size() == 1);
  CHECK(ev_rows.rows()[0]["type"] == "event");
  CHECK(ev_rows.rows()[0]["id"] == ev);
  CHECK(ev_rows.rows()[0]["starred"] == false);
}

TEST_CASE("sync: --storage-class per item kind", "[sync]") {
  StorageClasses sc;
  parse_storage_classes("STANDARD_IA", sc);
  CHECK(sc.of(ItemKind::Event) == "STANDARD_IA");
  CHECK(sc.of(ItemKind::Drive) == "STANDARD_IA");
  parse_storage_classes("events=STANDARD,clips=GLACIER_IR", sc);
  CHECK(sc.of(ItemKind::Event) == "STANDARD");
  CHECK(sc.of(ItemKind::Parking) == "STANDARD");
  CHECK(sc.of(ItemKind::Clip) == "GLACIER_IR");
  CHECK(sc.of(ItemKind::Drive) == "STANDARD_IA");
  StorageClasses none;
  CHECK_FALSE(none.any());
  CHECK(none.of(ItemKind::Drive).empty());
  for (const char* bad : {"", "standard_ia", "drives=", "drives=STANDARD,", "footage=STANDARD", "drives:STANDARD_IA",
                          "events=STANDARD,bogus"}) {
    StorageClasses s = sc;
    CHECK_THROWS_AS(parse_storage_classes(bad, s), nex::UsageError);
    CHECK(s.of(ItemKind::Clip) == "GLACIER_IR");  // untouched
  }
}

TEST_CASE("sync: timelapse part names", "[sync]") {
  CHECK(timelapse_part_name("20261120_081200") == "road-timelapse_20261120_081200.mp4");
  CHECK(is_timelapse_part_name("road-timelapse_20261120_081200.mp4"));
  for (const char* bad : {"road-timelapse.mp4", "road-timelapse_20261120_08120.mp4", "road-timelapse_20261120-081200.mp4",
                          "road-timelapse_20261120_081200.mov", "road-timelapse_2026112a_081200.mp4",
                          "xroad-timelapse_20261120_081200.mp4", "road-timelapse_20261120_081200.mp4x"})
    CHECK_FALSE(is_timelapse_part_name(bad));
}

TEST_CASE("sync: a drive recorded while backed up keeps its timelapse in parts", "[sync]") {
  // A drive of 2m30s whose camera lost power (its last segment has no index)
  // and, while the first run looks, is writing the file after it (a
  // temporary name, as cameras that rename at the close leave it).
  SyncTmp tmp("nex-sync-parts");
  const nex::Context q = nex::Context::quiet();
  const fs::path card = tmp.path / "card";
  sim_card(card, "pro", 8ull << 30, "PRO-PARTS", 150'000, /*power_cut=*/true);
  const fs::path temp = card / "drive" / ".20261120_081500_1.mp4.tmp-4242";
  std::ofstream(temp) << "being written";

  SyncOptions o;
  o.card = card;
  o.destination = (tmp.path / "backup").string();
  o.work_dir = tmp.path / "work";
  o.drives = DrivesMode::Timelapse;
  const fs::path item = tmp.path / "backup/PRO-PARTS/drives/20261120_081200";
  auto parts = [&] {
    std::vector<std::string> names;
    for (const auto& f : Manifest::parse(nex::read_file(item / "drive.json")).files) names.push_back(f.name);
    return names;
  };
  const std::vector<std::string> want{"road-timelapse_20261120_081200.mp4", "road-timelapse_20261120_081300.mp4"};

  // Still recording: the closed, readable segments' parts go now.
  SyncReport open = run_sync(o, q);
  REQUIRE(open.items.size() == 1);
  CHECK(open.items[0].action == "in progress");
  CHECK(Manifest::parse(nex::read_file(item / "drive.json")).open);
  CHECK(parts() == want);
  CHECK_FALSE(fs::exists(item / "road-timelapse.mp4"));
  const auto first = fs::last_write_time(item / want[0]);

  // The camera is done: the drive is final with the same parts, none made or
  // written again, and says which segment the timelapse leaves out.
  fs::remove(temp);
  SyncReport done = run_sync(o, q);
  REQUIRE(done.items.size() == 1);
  CHECK(done.items[0].action == "uploaded");
  CHECK(done.items[0].note.find("leaves out 1 segment") != std::string::npos);
  CHECK(done.summary.files_present == 2);
  CHECK(done.summary.bytes_sent == 0);
  const Manifest final_m = Manifest::parse(nex::read_file(item / "drive.json"));
  CHECK_FALSE(final_m.open);
  CHECK(parts() == want);
  CHECK(fs::last_write_time(item / want[0]) == first);
  for (const auto& f : final_m.files) {
    CHECK(f.source.find("timelapse 30x of drive/") == 0);
    CHECK(nex::sigv4::sha256_hex(nex::read_file(item.parent_path().parent_path() / f.key)) == f.sha256);
  }

  // A backup of the same card made after the fact has one timelapse instead.
  o.destination = (tmp.path / "after").string();
  SyncReport after = run_sync(o, q);
  REQUIRE(after.items.size() == 1);
  CHECK(fs::exists(tmp.path / "after/PRO-PARTS/drives/20261120_081200/road-timelapse.mp4"));
  CHECK(after.items[0].note.find("damaged segments left out") != std::string::npos);
}
