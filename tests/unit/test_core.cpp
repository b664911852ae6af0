#include <catch2/catch.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include <sstream>

#include "nex/camera.hpp"
#include "nex/config.hpp"
#include "nex/error.hpp"
#include "nex/fsutil.hpp"
#include "nex/models.hpp"
#include "nex/naming.hpp"
#include "nex/output.hpp"
#include "nex/rotation.hpp"
#include "nex/timeutil.hpp"
#include "nex/units.hpp"

using namespace nex;

TEST_CASE("ISO times round-trip and reject nonsense", "[time]") {
  auto t = parse_iso("2026-11-20T08:12:30");
  REQUIRE(t);
  CHECK(format_iso(*t) == "2026-11-20T08:12:30");
  CHECK(format_compact(*t) == "20261120_081230");
  CHECK(parse_iso("2026-11-20 08:12:30.250")->ms == t->ms + 250);
  CHECK(format_iso(*t + 250) == "2026-11-20T08:12:30.250");
  CHECK_FALSE(parse_iso("2026-02-30T00:00:00"));
  CHECK_FALSE(parse_iso("2026-11-20T24:00:00"));
  CHECK_FALSE(parse_iso("2026-11-20T08:12"));
  CHECK_FALSE(parse_iso("2026-11-20T08:12:30Zjunk"));
  CHECK(parse_iso("2024-02-29T00:00:00"));
  CHECK(format_iso(*parse_iso("2000-01-01T00:00:00")) == "2000-01-01T00:00:00");
  CHECK(to_civil(*parse_compact("20261231_235959")).second == 59);
  CHECK_FALSE(parse_compact("20261231-235959"));
}

TEST_CASE("durations in every documented spelling", "[time]") {
  CHECK(*parse_duration("90s") == 90000);
  CHECK(*parse_duration("+90s") == 90000);
  CHECK(*parse_duration("1m30s") == 90000);
  CHECK(*parse_duration("25m") == 1500000);
  CHECK(*parse_duration("8h") == 8 * 3600000);
  CHECK(*parse_duration("5h10m") == (5 * 60 + 10) * 60000);
  CHECK(*parse_duration("1.5s") == 1500);
  CHECK(*parse_duration("500ms") == 500);
  CHECK(*parse_duration("45") == 45000);
  CHECK_FALSE(parse_duration("1m30"));
  CHECK_FALSE(parse_duration("30s1m"));
  CHECK_FALSE(parse_duration("abc"));
  CHECK_FALSE(parse_duration(""));
  CHECK(format_duration(3723000) == "1h02m03s");
  CHECK(format_duration(90000) == "1m30s");
}

TEST_CASE("time arguments: absolute, time of day, relative", "[time]") {
  const LocalTime ref = *parse_iso("2026-11-20T08:12:00");
  CHECK(*parse_time_arg("2026-11-21T01:00:00", ref) == *parse_iso("2026-11-21T01:00:00"));
  CHECK(*parse_time_arg("08:15", ref) == *parse_iso("2026-11-20T08:15:00"));
  CHECK(*parse_time_arg("08:15:30.5", ref) == *parse_iso("2026-11-20T08:15:30.500"));
  CHECK(*parse_time_arg("+90s", ref) == ref + 90000);
  CHECK(*parse_time_arg("1m30s", ref) == ref + 90000);
  CHECK_FALSE(parse_time_arg("25:00", ref));
}

TEST_CASE("UTC offsets", "[time]") {
  CHECK(*parse_utc_offset("+02:00") == 120);
  CHECK(*parse_utc_offset("-05:30") == -330);
  CHECK(*parse_utc_offset("Z") == 0);
  CHECK_FALSE(parse_utc_offset("+2"));
  CHECK(format_utc_offset(-330) == "-05:30");
}

TEST_CASE("sizes", "[units]") {
  CHECK(*parse_size("32G") == 32ull << 30);
  CHECK(*parse_size("500M") == 500ull << 20);
  CHECK(*parse_size("1.5GiB") == 3ull << 29);
  CHECK(*parse_size("123") == 123);
  CHECK_FALSE(parse_size("12Q"));
  CHECK_FALSE(parse_size("-1G"));
  CHECK(format_size(512) == "512B");
  CHECK(format_size(3ull << 29) == "1.5G");
}

TEST_CASE("file-name grammar: all six tags and sidecars", "[naming]") {
  for (char tag : {'1', '2', 'A', 'B', 'U', 'X'}) {
    const std::string name = std::string("20261120_081200_") + tag + ".mp4";
    auto f = parse_file_name(name);
    REQUIRE(f);
    CHECK(f->tag == tag);
    CHECK(format_file_name(*f) == name);
    CHECK(f->parking() == (tag == 'U' || tag == 'X'));
    CHECK(*f->camera() == ((tag == '1' || tag == 'A' || tag == 'U') ? Camera::Road : Camera::Interior));
  }
  auto g = parse_file_name("20261120_081200.gps");
  REQUIRE(g);
  CHECK(g->kind == FileKind::Gps);
  CHECK_FALSE(g->camera());
  CHECK(parse_file_name("20261120_081200_1.jpg")->kind == FileKind::Thumbnail);
  // other cameras' containers and upper-case extensions: videos that keep their name
  for (const char* v : {"20261120_081200_1.MP4", "20261120_081200_2.mov", "20261120_081200_A.MOV"}) {
    auto f = parse_file_name(v);
    REQUIRE(f);
    CHECK(f->kind == FileKind::Video);
    CHECK(format_file_name(*f) == v);
  }
  CHECK(parse_file_name("20261120_081200_1.mp4")->ext.empty());
  CHECK_FALSE(parse_file_name("20261120_081200_1.mkv"));
  CHECK_FALSE(parse_file_name("20261120_081200_Z.mp4"));
  CHECK_FALSE(parse_file_name("20261120_081200.mp4"));
  CHECK_FALSE(parse_file_name("20261320_081200_1.mp4"));
  CHECK_FALSE(parse_file_name("FSCK0000.REC"));
  CHECK_FALSE(parse_file_name("20261120_081200_1.gps"));
}

TEST_CASE("the six models come from models.yaml", "[models]") {
  REQUIRE(all_models().size() == 6);
  const auto* pro = find_model("pro");
  REQUIRE(pro);
  CHECK(pro->road_tag == '1');
  CHECK(pro->parking_dir == "drive");
  CHECK(pro->parking_interior_tag == 0);
  const auto* beam = find_model("Nexar Beam");
  REQUIRE(beam);
  CHECK(beam->road_tag == 'A');
  CHECK(beam->uses_tag('B'));
  CHECK_FALSE(beam->uses_tag('1'));
  CHECK(find_model("NEXC1")->has_sos());
  CHECK(find_model("nexs1")->parking_interior_tag == 'X');
  CHECK_FALSE(find_model("one")->readable);
  CHECK(find_model("one")->cloud == CloudPolicy::ClipsOnly);
  CHECK(find_model("nexc2")->storage == "builtin");
  CHECK_FALSE(find_model("gopro"));
  CHECK_THROWS_AS(parse_models_yaml("models: [{id: x, name: X, tags: {road: Q, interior: '2'}, parking: {road: U}}]"),
                  InputError);
}

TEST_CASE("camera.yaml round-trip and errors", "[camera]") {
  CameraIdentity id;
  id.model = "nexc1";
  id.serial = "NEXC1-0001";
  id.firmware = "3.2.1";
  id.utc_offset_min = 120;
  id.capacity = 32ull << 30;
  const auto back = parse_camera_yaml(format_camera_yaml(id));
  CHECK(back.model == "nexc1");
  CHECK(back.serial == "NEXC1-0001");
  CHECK(back.utc_offset_min == 120);
  CHECK(back.capacity == id.capacity);
  CHECK(back.effective_sos_quota() == id.capacity / 10);
  CHECK_THROWS_AS(parse_camera_yaml("model: gopro\ncapacity: 1G\n"), InputError);
  CHECK_THROWS_AS(parse_camera_yaml("model: pro\nutc_offset: 'later'\n"), InputError);
  CHECK_THROWS_AS(parse_camera_yaml("[1, 2"), InputError);
  CHECK_THROWS_AS(parse_camera_yaml("just text"), InputError);
}

TEST_CASE("config precedence: flag > env > config > default", "[config]") {
  const Config cfg = Config::from_string("format: csv\nnexsync:\n  bwlimit: 4M\n");
  CHECK(*cfg.get("nexsync.bwlimit") == "4M");
  CHECK_FALSE(cfg.get("nexsync.missing"));
  CHECK_FALSE(cfg.get("format.deeper"));
  ::unsetenv("NEX_TEST_FORMAT");
  CHECK(resolve(std::nullopt, "NEX_TEST_FORMAT", cfg, "format", "table") == "csv");
  ::setenv("NEX_TEST_FORMAT", "ndjson", 1);
  CHECK(resolve(std::nullopt, "NEX_TEST_FORMAT", cfg, "format", "table") == "ndjson");
  CHECK(resolve(std::string("json"), "NEX_TEST_FORMAT", cfg, "format", "table") == "json");
  ::unsetenv("NEX_TEST_FORMAT");
  CHECK(resolve(std::nullopt, "NEX_TEST_FORMAT", Config(), "format", "table") == "table");
  CHECK_THROWS_AS(Config::from_string("- a\n- b\n"), InputError);
}

TEST_CASE("records render in all four formats with stable keys", "[output]") {
  Records r({{"id", "ID"}, {"n", "N", true}, {"note", "NOTE"}});
  ojson a;
  a["id"] = "x";
  a["n"] = 5;
  a["note"] = "has, comma";
  a["extra"] = true;
  r.add(a);
  std::ostringstream t, j, nd, c;
  r.write(t, Format::Table);
  CHECK(t.str() == "ID  N  NOTE\nx   5  has, comma\n");
  r.write(nd, Format::Ndjson);
  CHECK(nd.str() == "{\"id\":\"x\",\"n\":5,\"note\":\"has, comma\",\"extra\":true}\n");
  r.write(c, Format::Csv);
  CHECK(c.str() == "id,n,note\nx,5,\"has, comma\"\n");
  r.write(j, Format::Json);
  CHECK(ojson::parse(j.str())[0]["extra"] == true);
}

TEST_CASE("rotation deletes only the oldest, just enough", "[rotation]") {
  const std::vector<uint64_t> sizes{10, 20, 30};
  CHECK(*plan_rotation(sizes, 60, 5, 100) == 0);
  CHECK(*plan_rotation(sizes, 60, 45, 100) == 1);
  CHECK(*plan_rotation(sizes, 60, 70, 100) == 2);
  CHECK(*plan_rotation(sizes, 60, 71, 100) == 3);
  CHECK_FALSE(plan_rotation(sizes, 60, 101, 100));
}

TEST_CASE("stale temporary files of dead writers are removed, live ones and footage kept", "[core]") {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / ("nex-stale-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  const pid_t dead = ::fork();
  if (dead == 0) ::_exit(0);
  REQUIRE(dead > 0);
  ::waitpid(dead, nullptr, 0);
  const std::string d = std::to_string(dead), me = std::to_string(::getpid());
  for (const std::string& name : std::vector<std::string>{".20261120_081200_1.mp4.tmp-" + d, "..20261120_081200_1.mp4.tmp-" + d + ".tmp-" + d + "-0",
                                 ".events.ndjson.tmp-" + me, ".camera.yaml.tmp-1", "20261120_081200_1.mp4",
                                 "notes.tmp-" + d, ".hidden"})
    std::ofstream(dir / name) << "x";
  auto removed = nex::remove_stale_temps(dir);
  std::sort(removed.begin(), removed.end());
  CHECK(removed == std::vector<std::string>{"..20261120_081200_1.mp4.tmp-" + d + ".tmp-" + d + "-0",
                                            ".20261120_081200_1.mp4.tmp-" + d});
  for (const std::string& kept : std::vector<std::string>{".events.ndjson.tmp-" + me, ".camera.yaml.tmp-1", "20261120_081200_1.mp4",
                                 "notes.tmp-" + d, ".hidden"})
    CHECK(fs::exists(dir / kept));
  fs::remove_all(dir);
}
