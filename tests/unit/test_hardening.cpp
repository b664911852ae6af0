// Regression tests for what the fuzzers found (docs/hardening.md, fuzz/).
// Each input is also in its target's corpus, replayed by ctest fuzz_replay_*.
#include <catch2/catch.hpp>
#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <string>

#include "nex/camera.hpp"
#include "nex/events.hpp"
#include "nex/fsutil.hpp"
#include "nex/json_number.hpp"
#include "nex/mp4.hpp"
#include "nex/output.hpp"
#include "nex/telemetry.hpp"
#include "nex/units.hpp"
#if __has_include("nex/journal.hpp")
#include "nex/journal.hpp"
#endif

using namespace nex;

namespace {

std::string be32(uint32_t v) {
  return {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8), static_cast<char>(v)};
}
std::string be64(uint64_t v) { return be32(static_cast<uint32_t>(v >> 32)) + be32(static_cast<uint32_t>(v)); }

// A version-1 mvhd box (64-bit times) inside a moov payload.
std::string mvhd_v1(uint64_t created, uint32_t timescale, uint64_t duration) {
  const std::string body = std::string("\1\0\0\0", 4) + be64(created) + be64(0) + be32(timescale) + be64(duration);
  return be32(static_cast<uint32_t>(8 + body.size())) + "mvhd" + body;
}

}  // namespace

TEST_CASE("hardening: JSON numbers read as integers only when they fit", "[hardening]") {
  CHECK(json_int64(ojson(1540)) == 1540);
  CHECK(json_int64(ojson(-7)) == -7);
  CHECK(json_int64(ojson(1540.0)) == 1540);
  CHECK_FALSE(json_int64(ojson(1e300)));
  CHECK_FALSE(json_int64(ojson(0.5)));
  CHECK_FALSE(json_int64(ojson(UINT64_MAX)));
  CHECK_FALSE(json_int64(ojson("12")));
  CHECK(json_uint64(ojson(UINT64_MAX)) == UINT64_MAX);
  CHECK_FALSE(json_uint64(ojson(-1)));
  CHECK_FALSE(json_uint64(ojson(1.8446744073709552e19)));  // 2^64
  CHECK_FALSE(json_uint64(ojson(std::nan(""))));
}

TEST_CASE("hardening: sizes above 2^63 bytes are exact, above 2^64 refused", "[hardening]") {
  CHECK(parse_size("17000000000000000000") == 17000000000000000000ull);  // llround overflowed here
  CHECK_FALSE(parse_size("18446744073709551616"));
  CHECK(parse_camera_yaml("model: pro\ncapacity: 17000000000000000000\n").capacity == 17000000000000000000ull);
}

TEST_CASE("hardening: events.ndjson with absurd numbers is a corrupt line", "[hardening]") {
  ParseStats st;
  const auto ev = parse_events(
      "{\"time\":\"2026-11-20T08:12:40\",\"kind\":\"collision\",\"duration_ms\":1e300}\n"
      "{\"time\":\"2026-11-20T08:12:41\",\"kind\":\"collision\",\"offset_ms\":-1e300}\n"
      "{\"time\":\"2026-11-20T08:12:42\",\"kind\":\"collision\",\"duration_ms\":1500.0,\"offset_ms\":7}\n",
      &st);
  REQUIRE(ev.size() == 1);
  CHECK(ev[0].duration_ms == 1500);
  CHECK(ev[0].offset_ms == 7);
  CHECK(st.bad_lines == 2);
}

TEST_CASE("hardening: .acc sample offsets outside a day are corrupt lines", "[hardening]") {
  ParseStats st;
  const auto s = parse_acc("9223372036854775807,0,0,1\n-20,0,0,1\n86400001,0,0,1\n86400000,0,0,1\n", &st);
  REQUIRE(s.size() == 1);
  CHECK(s[0].ms == 86400000);
  CHECK(st.bad_lines == 3);
}

TEST_CASE("hardening: NMEA times with a sign are corrupt", "[hardening]") {
  const std::string body = "GPRMC,-12345,A,3746.0584,N,12225.7899,W,0.0,314.9,201126,,,A";
  ParseStats st;
  CHECK(parse_nmea("$" + body + "*" + nmea_checksum(body) + "\n", &st).empty());
  CHECK(st.bad_lines == 1);
}

TEST_CASE("hardening: mvhd with 64-bit extremes", "[hardening]") {
  const Mp4Info a = parse_mp4_moov(mvhd_v1(0x8000000000000000ull, 1000, 5000), 1 << 20);
  CHECK(a.state == Mp4State::Ok);
  CHECK(a.creation_time == 0);
  CHECK(a.duration_ms == 5000);
  const Mp4Info b = parse_mp4_moov(mvhd_v1(3870000000ull, 1, UINT64_MAX), 1 << 20);
  CHECK(b.creation_time == 3870000000ll - 2082844800ll);
  CHECK(b.duration_ms == INT64_MAX);  // capped, never wrapped
  const Mp4Info c = parse_mp4_moov(mvhd_v1(0, 90000, 90000ull * 61), 1 << 20);
  CHECK(c.duration_ms == 61000);
}

#if __has_include("nex/journal.hpp")
TEST_CASE("hardening: journal lines with absurd numbers are skipped", "[hardening]") {
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("nex-hardening-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const auto file = dir / "journal.ndjson";
  write_file_atomic(file,
                    "{\"op\":\"create\",\"key\":\"a\",\"upload\":\"u\",\"size\":1e300,\"sha256\":\"x\",\"part_size\":5}\n"
                    "{\"op\":\"create\",\"key\":\"b\",\"upload\":\"v\",\"size\":10,\"sha256\":\"x\",\"part_size\":5}\n"
                    "{\"op\":\"part\",\"key\":\"b\",\"upload\":\"v\",\"n\":-1e300,\"etag\":\"e\"}\n"
                    "{\"op\":\"part\",\"key\":\"b\",\"upload\":\"v\",\"n\":2,\"etag\":\"e2\"}\n");
  const sync::Journal j(file);
  REQUIRE(j.uploads().size() == 1);
  CHECK(j.uploads()[0].key == "b");
  CHECK(j.uploads()[0].parts.size() == 1);
  CHECK(j.skipped_lines() == 2);
  std::filesystem::remove_all(dir);
}
#endif
