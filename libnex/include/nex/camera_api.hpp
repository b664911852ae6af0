#pragma once
// The camera's Wi-Fi API documents (docs/camera-api.md): the info document
// and the file listing, as the server (nexsim serve) writes them and as a
// client reads them. Parsing is strict about shape and tolerant of extra
// keys; anything a camera could send that is not a usable answer is an
// InputError with a one-line reason, never a crash.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "nex/json_number.hpp"

namespace nex {

inline constexpr int kCameraApiVersion = 1;
inline constexpr const char* kCameraApiKind = "nex-camera";

struct CameraInfo {
  int api = kCameraApiVersion;
  std::string model;        // model id ("pro")
  std::string model_name;   // "Nexar Pro"
  std::string serial;
  std::string firmware;
  std::string clock;        // camera-local ISO 8601 with offset
  int utc_offset_min = 0;
  bool recording = false;
  std::optional<std::string> active;  // card path of the file being recorded
  uint64_t capacity = 0, used = 0;
  uint64_t generation = 0;
};

struct CameraFile {
  std::string path;         // card-relative: "drive/20261120_081200_1.mp4"
  uint64_t size = 0;
  std::string mtime;        // ISO 8601 UTC ("2026-11-20T06:13:00Z")
  bool complete = true;     // false: the file being recorded
  std::string etag;         // strong, quoted
};

struct CameraListing {
  uint64_t generation = 0;
  std::vector<CameraFile> files;  // sorted by path
};

ojson camera_info_to_json(const CameraInfo& info);
ojson camera_listing_to_json(const CameraListing& listing);

// Throw InputError ("not a nex camera: …", "malformed listing: …").
CameraInfo parse_camera_info(std::string_view body);
// An empty `files` array is an error too: every card has camera.yaml, so an
// empty answer is a camera fault, never a wiped card.
CameraListing parse_camera_listing(std::string_view body);

// How far the camera's clock (`clock`, camera-local with its UTC offset) is
// ahead of this computer's (negative: behind), in ms; nullopt when the
// camera gave no clock or one that does not parse. Footage is named by the
// camera's clock, so a clock far off names new footage wrongly.
std::optional<int64_t> camera_clock_ahead_ms(const CameraInfo& info);
// What counts as far off: more than network delay and a second's rounding.
inline constexpr int64_t kCameraClockToleranceMs = 30'000;

// A card path a camera may serve: root, drive/ or sos/, no "..", no
// absolute path, no empty component. Used by the server to refuse and by
// the client to distrust a listing.
bool is_safe_card_path(std::string_view path);

// "bytes 100-199/1000" -> {100, 199, 1000}; "bytes */1000" -> {0, 0, 1000}
// with unsatisfied set. nullopt for anything else (a camera's answer).
struct ContentRange {
  uint64_t first = 0, last = 0, total = 0;
  bool unsatisfied = false;
};
std::optional<ContentRange> parse_content_range(std::string_view value);

}  // namespace nex
