#pragma once
// Synthesized camera footage. Encoding every frame is the expensive part, so
// one segment's worth of frames per camera variant is encoded once into a
// cached template MP4 (frames carry their offset-in-segment timecode); every
// segment on a card is then a remux of the template's packets with its own
// metadata. FFmpeg stays behind this header.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "nex/naming.hpp"
#include "nex/timeutil.hpp"

namespace nex {

struct StreamProfile {
  Camera camera = Camera::Road;
  bool night = false;
  int width = 1920;
  int height = 1080;
  int fps = 30;
  int gop = 30;                    // frames between IDR frames
  int64_t video_bitrate = 8'000'000;
  bool audio = false;              // AAC-LC 48 kHz mono
  int64_t audio_bitrate = 64'000;
  int64_t length_ms = 60'000;      // template length = one segment

  std::string cache_key() const;   // stable file-name-safe key
};

StreamProfile road_profile();
StreamProfile interior_profile(bool night);

// Where templates are kept: $NEX_CACHE_DIR, else $XDG_CACHE_HOME/nex, else
// ~/.cache/nex.
std::filesystem::path default_cache_dir();

// Returns the cached template for `p`, encoding it first when missing
// (atomically, so concurrent callers are safe). `progress` gets 0..1.
std::filesystem::path ensure_template(const StreamProfile& p, const std::filesystem::path& cache_dir,
                                      const std::function<void(double)>& progress = {});

struct SegmentMeta {
  LocalTime start;                 // camera-local time of the first frame
  int utc_offset_min = 0;          // for creation_time (UTC)
  std::optional<double> lat, lon;  // ISO 6709 location metadata
  std::string make = "Nexar";
  std::string model;
};

// Write the first `duration_ms` of the template (all of it when <= 0) to `out`
// as a complete MP4 with the segment's metadata. Deterministic: the same
// template and meta give the same bytes. Returns the file size. Throws IoError.
uint64_t write_segment(const std::filesystem::path& tmpl, const std::filesystem::path& out,
                       int64_t duration_ms, const SegmentMeta& meta);

// Emulate a power cut during recording: the file keeps `keep_fraction` of
// its media data and loses its moov atom, with the mdat size left as 0 as a
// camera leaves it before finalizing. Throws IoError.
void cut_power(const std::filesystem::path& file, double keep_fraction);

struct ThumbnailMeta {
  LocalTime time;
  std::optional<double> lat, lon;
  std::string make = "Nexar";
  std::string model;
};
// A small JPEG of the road view (320x180) with EXIF DateTimeOriginal, GPS
// position and Make/Model (libexif). Deterministic.
std::string make_thumbnail_jpeg(const ThumbnailMeta& meta, bool night = false);

// Decoded-frame facts, for tests and verification: every video frame of a
// file with its presentation time and the timecode read from its pixels.
// pts_ms is the timestamp as FFmpeg's demuxer presents it (edit lists
// applied, start_time not subtracted), rounded down to milliseconds.
struct FrameStamp {
  int64_t pts_ms = 0;
  std::optional<uint32_t> timecode_ms;
  bool key = false;
};
std::vector<FrameStamp> read_frame_stamps(const std::filesystem::path& file);

}  // namespace nex
