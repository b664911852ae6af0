#include <catch2/catch.hpp>

#include "nex/events.hpp"
#include "nex/telemetry.hpp"

using namespace nex;

TEST_CASE("NMEA written and parsed back with checksums", "[telemetry]") {
  std::vector<GpsFix> fixes;
  for (int i = 0; i < 3; ++i) {
    GpsFix f;
    f.utc = *parse_iso("2026-11-20T06:12:00") + i * 1000;
    f.lat = 52.52 + i * 0.0001;
    f.lon = -13.405;
    f.speed_kmh = 50;
    f.course = 90;
    fixes.push_back(f);
  }
  const std::string text = format_nmea(fixes);
  CHECK(text.rfind("$GPRMC,061200.00,A,5231.2000,N,01324.3000,W,", 0) == 0);
  ParseStats st;
  const auto back = parse_nmea(text, &st);
  REQUIRE(back.size() == 3);
  CHECK(st.bad_lines == 0);
  CHECK_FALSE(st.torn_tail);
  CHECK(back[1].lat == Approx(52.5201).epsilon(1e-6));
  CHECK(back[0].lon == Approx(-13.405).epsilon(1e-6));
  CHECK(back[2].utc == fixes[2].utc);
  CHECK(back[0].speed_kmh == Approx(50).margin(0.2));
  CHECK(track_length_m(back) == Approx(22.2).margin(0.5));

  std::string damaged = text;
  damaged[10] = 'X';                             // checksum breaks on the first line
  damaged.resize(damaged.size() - 7);            // torn last line
  ParseStats st2;
  const auto some = parse_nmea(damaged, &st2);
  CHECK(some.size() == 2);
  CHECK(st2.bad_lines == 1);
  CHECK(st2.torn_tail);
}

TEST_CASE("G-sensor CSV round trip, torn tail tolerated", "[telemetry]") {
  std::vector<AccSample> s{{0, 0.01, -0.02, 1.0}, {20, -0.45, 0.0, 0.98}};
  const std::string text = format_acc(s);
  CHECK(text == "0,0.010,-0.020,1.000\n20,-0.450,0.000,0.980\n");
  ParseStats st;
  auto back = parse_acc(text + "40,0.1", &st);
  CHECK(back.size() == 2);
  CHECK(st.torn_tail);
  CHECK(back[1].x == Approx(-0.45));
}

namespace {
std::vector<Event> run(const std::vector<AccSample>& samples, bool parked = false) {
  EventDetector d({}, parked);
  std::vector<Event> out;
  const LocalTime t0 = *parse_iso("2026-11-20T08:00:00");
  for (const auto& s : samples) {
    auto v = d.feed(t0 + s.ms, s);
    out.insert(out.end(), v.begin(), v.end());
  }
  auto v = d.finish();
  out.insert(out.end(), v.begin(), v.end());
  return out;
}
std::vector<AccSample> steady(int64_t ms, double x = 0.0) {
  std::vector<AccSample> v;
  for (int64_t t = 0; t < ms; t += 20) v.push_back({t, x, 0.0, 1.0});
  return v;
}
}  // namespace

TEST_CASE("detector: sustained deceleration is a hard brake, a short one is not", "[events]") {
  auto s = steady(5000);
  for (auto& a : s)
    if (a.ms >= 2000 && a.ms < 2600) a.x = -0.5;
  auto ev = run(s);
  REQUIRE(ev.size() == 1);
  CHECK(ev[0].kind == EventKind::HardBrake);
  CHECK(ev[0].time == *parse_iso("2026-11-20T08:00:02"));
  CHECK(ev[0].peak_g == Approx(0.5));
  CHECK(ev[0].id == "20261120_080002_hard-brake");

  auto shortb = steady(5000);
  for (auto& a : shortb)
    if (a.ms >= 2000 && a.ms < 2160) a.x = -0.6;  // 160 ms < 200 ms
  CHECK(run(shortb).empty());

  auto weak = steady(5000);
  for (auto& a : weak)
    if (a.ms >= 2000 && a.ms < 3000) a.x = -0.39;
  CHECK(run(weak).empty());
}

TEST_CASE("detector: a sharp spike is a collision", "[events]") {
  auto s = steady(3000);
  s[100].x = -2.5;
  s[101].x = -1.0;
  auto ev = run(s);
  REQUIRE(ev.size() == 1);
  CHECK(ev[0].kind == EventKind::Collision);
  CHECK(ev[0].peak_g == Approx(2.5));
  auto low = steady(3000);
  low[100].x = -1.9;
  CHECK(run(low).empty());
}

TEST_CASE("detector: parked impacts use the parking threshold", "[events]") {
  auto s = steady(3000);
  s[50].y = 0.3;
  auto ev = run(s, true);
  REQUIRE(ev.size() == 1);
  CHECK(ev[0].kind == EventKind::ParkingImpact);
  auto gentle = steady(3000);
  gentle[50].y = 0.2;
  CHECK(run(gentle, true).empty());
}

TEST_CASE("events.ndjson tolerates torn and corrupt lines", "[events]") {
  Event e;
  e.kind = EventKind::Collision;
  e.time = *parse_iso("2026-11-20T08:14:30.120");
  e.id = make_event_id(e.time, e.kind);
  e.peak_g = 2.7;
  e.segment = "20261120_081400";
  const std::string line = e.to_json().dump();
  ParseStats st;
  auto evs = parse_events(line + "\nnot json\n{\"kind\":\"bogus\",\"time\":\"x\"}\n" + line.substr(0, 20), &st);
  REQUIRE(evs.size() == 1);
  CHECK(evs[0].id == "20261120_081430_collision");
  CHECK(evs[0].time == e.time);
  CHECK(st.bad_lines == 2);
  CHECK(st.torn_tail);
}
