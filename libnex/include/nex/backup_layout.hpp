#pragma once
// The key layout of a backup (DESIGN.md §3), the same for S3 and a local
// folder. Every key is relative to the destination's root (the S3 prefix or
// the folder):
//
//   <serial>/events/<YYYYMMDD_HHMMSS>_<kind>/{road.mp4, interior.mp4, event.json}
//   <serial>/clips/<YYYYMMDD_HHMMSS>_<name>/{road.mp4, interior.mp4, clip.json}
//   <serial>/drives/<YYYYMMDD_HHMMSS>/{road-timelapse.mp4, drive.json}
//     (a drive backed up while it was recorded: one part per segment,
//      road-timelapse_<YYYYMMDD_HHMMSS>.mp4, instead of road-timelapse.mp4)
//   <serial>/footage/<YYYYMMDD>/<original segment files>
//
// Keys that come back from a server or a manifest are untrusted: safe_key()
// is the one gate every key passes before it becomes a local path.
#include <optional>
#include <string>
#include <string_view>

#include "nex/timeutil.hpp"

namespace nex::sync {

enum class ItemKind { Event, Parking, Clip, Drive };
const char* to_string(ItemKind k);  // "event", "parking", "clip", "drive"
std::optional<ItemKind> parse_item_kind(std::string_view s);

// The folder of a kind under <serial>/: "events" (events and parking
// incidents), "clips", "drives".
const char* category(ItemKind k);
// The manifest's file name: "event.json", "clip.json", "drive.json".
const char* manifest_name(ItemKind k);
// Continuous footage rolls over under a quota; events and clips stay.
inline bool is_continuous(ItemKind k) { return k == ItemKind::Drive; }

// One item of a backup: "<serial>/<category>/<id>".
struct ItemRef {
  std::string serial;
  std::string category;  // events | clips | drives
  std::string id;        // "20261120_081810_hard-brake", "20261120_081200"

  std::string folder() const;          // "<serial>/<category>/<id>"
  std::string rel_folder() const;      // "<category>/<id>" (relative to the serial)
  std::string manifest_key() const;    // "<serial>/<category>/<id>/<manifest>"
  // The instant the id starts with; nullopt when it has none.
  std::optional<LocalTime> time() const;
  auto operator<=>(const ItemRef&) const = default;
};

// Parse "<serial>/<category>/<id>" (optionally followed by "/<manifest>" or a
// trailing '/'). nullopt when it is not one.
std::optional<ItemRef> parse_item_ref(std::string_view rel);
// The item a key belongs to ("<serial>/events/<id>/road.mp4" -> that item).
// Footage keys belong to no item: nullopt.
std::optional<ItemRef> item_of_key(std::string_view key);

// The timelapse part of one segment of a drive backed up while it was
// recorded: "road-timelapse_20261120_081200.mp4" for segment key
// "20261120_081200".
std::string timelapse_part_name(std::string_view segment_key);
// Whether a file name is one ("road-timelapse_<YYYYMMDD_HHMMSS>.mp4").
bool is_timelapse_part_name(std::string_view name);

// "footage/<YYYYMMDD>/<file name>" for a card file of a recording that starts at t.
std::string footage_rel(LocalTime t, std::string_view file_name);

// A clip name for the layout: lower-case letters, digits and '-', at most 40
// characters ("Near miss!" -> "near-miss"); "clip" when nothing is left.
std::string clip_slug(std::string_view name);

// Serial numbers become key components: letters, digits, '-', '_' and '.',
// not "." or "..". Throws InputError otherwise.
void check_serial(std::string_view serial);

// A key from an untrusted source is usable as a relative path: not empty, no
// leading '/', no "." / ".." / empty components, no backslash, no control
// characters, at most 1024 bytes. Returns false otherwise.
bool safe_key(std::string_view key);

// Joins a destination prefix and a relative key ("" + "a/b" = "a/b",
// "backup" + "a/b" = "backup/a/b").
std::string join_key(std::string_view prefix, std::string_view rel);

}  // namespace nex::sync
