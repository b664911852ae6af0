#pragma once
// nexls --check: the support-staff report on a card. Adds to the scan's own
// findings the checks that need the whole picture (twins, timeline, clocks,
// overwritten events) and the card's fullness and overwrite horizon.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "nex/card.hpp"

namespace nex {

struct CheckReport {
  std::vector<Finding> findings;  // scan findings + check findings, by path
  uint64_t capacity = 0, used = 0, sos_quota = 0, sos_used = 0;
  std::optional<double> horizon_hours;  // hours of driving until the oldest footage is overwritten
  uint64_t bytes_per_hour = 0;          // recording rate the horizon assumes
  size_t problems = 0, warnings = 0;
  bool clean() const { return problems == 0 && warnings == 0; }
  std::string verdict() const;
  ojson to_json(const CardScan& scan) const;
};

CheckReport check_card(const CardScan& scan);

}  // namespace nex
