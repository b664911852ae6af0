#pragma once
// The manifest of a backed-up item (event.json, clip.json, drive.json): every
// file with its size and SHA-256. It is written last, after every file was
// verified at the destination, so "the manifest is there" means "the item is
// backed up". It also carries the item's nexls record (the listing of a
// backup shows the same keys as the listing of a card) and whether the user
// starred it.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "nex/backup_layout.hpp"
#include "nex/output.hpp"
#include "nex/timeutil.hpp"

namespace nex::sync {

inline constexpr int kManifestVersion = 1;

struct ManifestFile {
  std::string name;    // "road.mp4", "20261120_081200_1.mp4"
  std::string key;     // relative to <serial>/: "events/<id>/road.mp4", "footage/20261120/..."
  uint64_t size = 0;
  std::string sha256;  // lower-case hex
  std::string camera;  // "road", "interior" or "" (sidecars)
  std::string source;  // the card file it is a copy of, or "clip" / "timelapse" when made
};

struct Manifest {
  ItemKind kind = ItemKind::Event;
  std::string id;
  std::string serial;
  std::string model;
  std::string created;    // UTC, ISO 8601 with 'Z' (when the item was backed up)
  bool starred = false;   // never rolled over
  // A drive still being recorded when this was written (--watch): its files
  // are backed up, but more will follow; rewritten without it at the end.
  bool open = false;
  std::string recipe;     // fingerprint of what the item was made from (see sync_plan.hpp)
  std::optional<LocalTime> from, to;  // the camera-local time span the item covers
  // The item's nexls records at backup time, by view: {"events": {...}},
  // {"events": {...}, "parking": {...}}, {"drives": {...}, "segments": [...]},
  // {"clips": {...}}.
  ojson records = ojson::object();
  std::vector<ManifestFile> files;

  ItemRef ref() const { return {serial, category(kind), id}; }
  uint64_t bytes() const;  // sum of the file sizes
  ojson to_json() const;
  std::string dump() const;  // pretty JSON + '\n'

  // Throws InputError on anything malformed, including unsafe file keys
  // (absolute, "..", ...) and keys outside the item's folder or footage/.
  static Manifest parse(std::string_view text);
};

}  // namespace nex::sync
