#pragma once
// What nexls shows: the views of a scanned card as records with stable keys,
// and a drive's GPS track as GPX 1.1. Every record starts with "type" and
// "id", the keys nexcut --items and nexsync --items read back.
#include <optional>
#include <string>

#include "nex/card.hpp"
#include "nex/output.hpp"

namespace nex {

enum class View { Drives, Segments, Events, Parking };

struct ListFilter {
  std::optional<Camera> camera;     // only items with footage of this camera
  std::optional<LocalTime> since;   // items ending at or after
  std::optional<LocalTime> until;   // items starting before
  std::optional<EventKind> kind;    // events / parking: this kind only
};

Records list_view(const CardScan& scan, View view, const ListFilter& filter);

// The drive whose id is given (or the one holding a time, for convenience).
const Drive* find_drive(const CardScan& scan, const std::string& id);

// GPX 1.1 of a drive's GPS fixes (times in UTC, as the receiver gave them).
std::string drive_gpx(const CardScan& scan, const Drive& drive);

}  // namespace nex
