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

// How a cut clip was made from the card (nex::cut::ClipResult), recorded when
// it was backed up: which card files, and which frames are the camera's own
// bytes (stream-copied) and which were re-encoded. `nexsync pull --evidence`
// turns it into an evidence bundle's derivation (docs/evidence.md). An
// optional addition to version 1: older nex ignores it.
struct DerivationSource {
  std::string file;    // card path: "drive/20261120_081700_1.mp4"
  uint64_t size = 0;
  std::string sha256;  // lower-case hex of the card file at backup time, "" when unknown
};
struct DerivationRun {
  std::string source;  // one of the sources' file
  bool copied = false;
  // as nex::cut::ClipRun: the clip's video packets [clip_first, +frames)
  // (decode order); copied: the source's packets source_first..source_last
  // (decode order), re-encoded: its frames (display order)
  int64_t clip_first = 0, frames = 0, source_first = 0, source_last = 0;
};
struct Derivation {
  std::string mode;  // "exact", "copy", "reencode", "timelapse"
  int64_t frames = 0, reencoded_frames = 0;
  bool audio = false;  // sound re-encoded from the source's
  std::optional<LocalTime> start, end;  // camera-local: first frame's capture time, end of the last
  std::vector<DerivationSource> sources;
  std::vector<DerivationRun> runs;  // in clip order, following each other
};

ojson derivation_json(const Derivation& d);
// Untrusted like the rest of a manifest: card paths are safe keys, the runs
// follow each other and name one of the sources. Throws InputError.
Derivation parse_derivation(const ojson& j, const std::string& file);

struct ManifestFile {
  std::string name;    // "road.mp4", "20261120_081200_1.mp4"
  std::string key;     // relative to <serial>/: "events/<id>/road.mp4", "footage/20261120/..."
  uint64_t size = 0;
  std::string sha256;  // lower-case hex
  std::string camera;  // "road", "interior" or "" (sidecars)
  std::string source;  // the card file it is a copy of, or "clip" / "timelapse" when made
  std::optional<Derivation> derivation = std::nullopt;  // a cut clip: how it was made (absent in older manifests)
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
  // The camera's camera.yaml at backup time, beyond model and serial (absent
  // in older manifests): what an evidence bundle needs for UTC times.
  std::string firmware;
  std::optional<int> utc_offset_min;
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
