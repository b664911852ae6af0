// nexcut --overlay fields (the drawing itself is read back with OCR in
// tests/cli/test_overlay.sh).
#include <catch2/catch.hpp>

#include "nex/cut.hpp"
#include "nex/error.hpp"

TEST_CASE("overlay fields parse in any order; unknown ones are usage errors", "[overlay]") {
  const nex::cut::Overlay all = nex::cut::parse_overlay("event,gps,g,speed,time");
  CHECK(all.time);
  CHECK(all.speed);
  CHECK(all.g);
  CHECK(all.gps);
  CHECK(all.event);
  CHECK_FALSE(all.millis);
  const nex::cut::Overlay t = nex::cut::parse_overlay("time");
  CHECK(t.any());
  CHECK_FALSE(t.speed);
  CHECK_FALSE(nex::cut::Overlay{}.any());
  CHECK_THROWS_AS(nex::cut::parse_overlay("time,altitude"), nex::UsageError);
  CHECK_THROWS_AS(nex::cut::parse_overlay(""), nex::UsageError);
  CHECK_THROWS_AS(nex::cut::parse_overlay("time,"), nex::UsageError);
  CHECK_THROWS_AS(nex::cut::parse_overlay("Time"), nex::UsageError);
}
