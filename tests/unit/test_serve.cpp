// The camera server's parsers (--fault, --listen, Range) and its life cycle
// as a library object, over a real loopback socket.
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "nex/camera_api.hpp"
#include "nex/camera_server.hpp"
#include "nex/error.hpp"
#include "nex/sim.hpp"
#include "nex/timeutil.hpp"

using namespace nex;
using namespace nex::serve;

TEST_CASE("serve: fault specs parse into the table's faults", "[serve]") {
  const Faults none;
  CHECK_FALSE(none.any());

  Faults f = parse_faults("drop-after=1M, stall=30,reset=0.25,http500=1,ignore-range,short-range,stale-size,"
                          "empty-listing-once,clock-skew=-1h");
  CHECK(f.any());
  REQUIRE(f.drop_after);
  CHECK(*f.drop_after == 1024 * 1024);
  CHECK(f.stall_ms == 30'000);
  CHECK(f.reset_p == 0.25);
  CHECK(f.http500_p == 1.0);
  CHECK(f.ignore_range);
  CHECK(f.short_range);
  CHECK(f.stale_size);
  CHECK(f.empty_listing_once);
  CHECK(f.clock_skew_ms == -3'600'000);
  // Formatting gives a spec that parses to the same faults.
  const Faults again = parse_faults(format_faults(f));
  CHECK(format_faults(again) == format_faults(f));

  CHECK(parse_faults("drop-after=100").drop_after == 100u);
  CHECK(parse_faults("drop-after=0").drop_after == 0u);
  CHECK(parse_faults("stall=500ms").stall_ms == 500);
  CHECK(parse_faults("clock-skew=3600").clock_skew_ms == 3'600'000);
  CHECK(parse_faults("clock-skew=+90s").clock_skew_ms == 90'000);
  CHECK(parse_faults("reset=0").reset_p == 0);
  CHECK(format_faults(parse_faults("reset=0.1,ignore-range")) == "reset=0.1,ignore-range");
}

TEST_CASE("serve: bad fault specs are one-line usage errors", "[serve]") {
  for (const char* bad : {"", " ", "bogus", "drop-after", "drop-after=", "drop-after=lots", "drop-after=-1",
                          "stall=0", "stall=-5", "stall=soon", "reset=1.5", "reset=-0.1", "reset=nan", "reset=0.1x",
                          "http500", "ignore-range=1", "short-range=yes", "clock-skew=", "clock-skew=--5",
                          "reset=0.1,,ignore-range", "reset=0.1,", "reset=0.1,reset=0.2", "Ignore-Range"}) {
    INFO("spec: '" << bad << "'");
    try {
      parse_faults(bad);
      FAIL("accepted");
    } catch (const UsageError& e) {
      const std::string what = e.what();
      CHECK(what.find("bad --fault") == 0);
      CHECK(what.find('\n') == std::string::npos);
      CHECK(e.hint().empty());  // one line on stderr
    }
  }
  try {
    parse_faults("drop-after=1M,teleport");
  } catch (const UsageError& e) {
    CHECK(std::string(e.what()).find("unknown fault 'teleport'") != std::string::npos);
    CHECK(std::string(e.what()).find("empty-listing-once") != std::string::npos);  // lists what exists
  }
}

TEST_CASE("serve: listen addresses", "[serve]") {
  ListenAddress a = parse_listen("127.0.0.1:8080");
  CHECK(a.host == "127.0.0.1");
  CHECK(a.port == 8080);
  CHECK(a.loopback());
  CHECK(parse_listen("localhost:0").port == 0);
  CHECK(parse_listen("localhost:0").loopback());
  CHECK(parse_listen("127.1.2.3:1").loopback());
  a = parse_listen("[::1]:9000");
  CHECK(a.host == "::1");
  CHECK(a.loopback());
  CHECK_FALSE(parse_listen("0.0.0.0:80").loopback());
  CHECK_FALSE(parse_listen("[::]:80").loopback());
  CHECK_FALSE(parse_listen("192.168.1.254:80").loopback());
  for (const char* bad : {"", "8080", ":8080", "host:", "host:65536", "host:-1", "host:80x", "::1:80", "[::1]80",
                          "[zz]:80", "a b:80", "host:80:90"}) {
    INFO(bad);
    CHECK_THROWS_AS(parse_listen(bad), UsageError);
  }
}

TEST_CASE("serve: one byte range against a size", "[serve]") {
  using K = RangeRequest;
  auto r = resolve_range("bytes=0-99", 1000);
  CHECK(r.kind == K::Partial);
  CHECK(r.first == 0);
  CHECK(r.last == 99);
  r = resolve_range("bytes=900-", 1000);
  CHECK((r.kind == K::Partial && r.first == 900 && r.last == 999));
  r = resolve_range("bytes=-100", 1000);
  CHECK((r.kind == K::Partial && r.first == 900 && r.last == 999));
  r = resolve_range("bytes=-5000", 1000);  // a suffix longer than the file: all of it
  CHECK((r.kind == K::Partial && r.first == 0 && r.last == 999));
  r = resolve_range("bytes=990-5000", 1000);  // clamped to the end
  CHECK((r.kind == K::Partial && r.first == 990 && r.last == 999));
  r = resolve_range("bytes=999-999", 1000);
  CHECK((r.kind == K::Partial && r.first == 999 && r.last == 999));
  CHECK(resolve_range("bytes=1000-", 1000).kind == K::Unsatisfiable);
  CHECK(resolve_range("bytes=5000-6000", 1000).kind == K::Unsatisfiable);
  CHECK(resolve_range("bytes=-0", 1000).kind == K::Unsatisfiable);
  CHECK(resolve_range("bytes=0-", 0).kind == K::Unsatisfiable);
  // Ignored (the whole file): other units, several ranges, nonsense.
  for (const char* h : {"", "items=0-1", "bytes=0-1,5-6", "bytes=5-2", "bytes=a-b", "bytes=-", "bytes=1", "bytes 0-1",
                        "bytes=99999999999999999999-"}) {
    INFO(h);
    CHECK(resolve_range(h, 1000).kind == K::Whole);
  }
}

namespace {

// One HTTP/1.0 exchange over a plain socket: the raw answer.
std::string http_get(int port, const std::string& target) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  const std::string req = "GET " + target + " HTTP/1.0\r\nHost: x\r\n\r\n";
  REQUIRE(::write(fd, req.data(), req.size()) == static_cast<ssize_t>(req.size()));
  std::string out;
  char buf[4096];
  for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;) out.append(buf, static_cast<size_t>(n));
  ::close(fd);
  return out;
}

}  // namespace

TEST_CASE("serve: the server as a library object starts on a free port and stops", "[serve]") {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / ("nex-serve-unit-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  sim::InitOptions init;
  init.card = dir / "card";
  init.model = "beam";
  init.capacity = 1ull << 30;
  init.serial = "BEAM-UNIT";
  sim::init_card(init, Context::quiet());

  ServeOptions o;
  o.card = init.card;
  o.listen = parse_listen("127.0.0.1:0");
  {
    CameraServer srv(o, Context::quiet());
    const std::string url = srv.start();
    REQUIRE(srv.port() > 0);
    CHECK(url == "http://127.0.0.1:" + std::to_string(srv.port()));
    CHECK(srv.running());

    const std::string info = http_get(srv.port(), "/api/info");
    REQUIRE(info.rfind("HTTP/1.1 200", 0) == 0);
    const CameraInfo ci = parse_camera_info(info.substr(info.find("\r\n\r\n") + 4));
    CHECK(ci.serial == "BEAM-UNIT");
    CHECK(ci.model == "beam");

    const std::string listing = http_get(srv.port(), "/api/files");
    const CameraListing cl = parse_camera_listing(listing.substr(listing.find("\r\n\r\n") + 4));
    REQUIRE(cl.files.size() == 1);
    CHECK(cl.files[0].path == "camera.yaml");
    CHECK(cl.files[0].size == fs::file_size(init.card / "camera.yaml"));

    CHECK(http_get(srv.port(), "/files/drive/nothing.mp4").rfind("HTTP/1.1 404", 0) == 0);
    CHECK(http_get(srv.port(), "/files/../etc/passwd").rfind("HTTP/1.1 400", 0) == 0);
    const std::string jpg = http_get(srv.port(), "/live.jpg?camera=interior");
    CHECK(jpg.rfind("HTTP/1.1 200", 0) == 0);
    CHECK(jpg.find("Content-Type: image/jpeg") != std::string::npos);
    CHECK(jpg.substr(jpg.find("\r\n\r\n") + 4, 2) == "\xff\xd8");
    CHECK(http_get(srv.port(), "/live.jpg?camera=sideways").rfind("HTTP/1.1 400", 0) == 0);
    srv.stop();
    CHECK_FALSE(srv.running());
    srv.stop();  // twice is fine
  }
  // The port is free again; a second server on a card without camera.yaml is refused.
  o.card = dir;
  CHECK_THROWS_AS(CameraServer(o, Context::quiet()), InputError);
  fs::remove_all(dir);
}

TEST_CASE("camera clock: how far the camera's clock is from this computer's", "[serve]") {
  using namespace std::chrono;
  const int64_t now_ms = duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
  nex::CameraInfo info;
  // An hour ahead, written in camera-local time two hours east of UTC.
  info.clock = nex::format_iso(nex::LocalTime{now_ms + 3'600'000 + 2 * 3'600'000}, true) + "+02:00";
  auto ahead = nex::camera_clock_ahead_ms(info);
  REQUIRE(ahead);
  CHECK(std::llabs(*ahead - 3'600'000) < 60'000);
  // Behind, with a negative offset.
  info.clock = nex::format_iso(nex::LocalTime{now_ms - 90'000 - 5 * 3'600'000 - 30 * 60'000}, true) + "-05:30";
  ahead = nex::camera_clock_ahead_ms(info);
  REQUIRE(ahead);
  CHECK(std::llabs(*ahead + 90'000) < 60'000);
  // No offset in the string: the info's own.
  info.utc_offset_min = 60;
  info.clock = nex::format_iso(nex::LocalTime{now_ms + 60 * 60'000}, true);
  ahead = nex::camera_clock_ahead_ms(info);
  REQUIRE(ahead);
  CHECK(std::llabs(*ahead) < nex::kCameraClockToleranceMs);
  for (const char* bad : {"", "yesterday", "2026-13-40T99:00:00+02:00", "2026-11-20T08:00:00+99:99"}) {
    info.clock = bad;
    CHECK_FALSE(nex::camera_clock_ahead_ms(info));
  }
}
