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
#include "nex/recording_format.hpp"
#include "nex/timeutil.hpp"

namespace nex {

struct StreamProfile {
  Camera camera = Camera::Road;
  bool night = false;
  int width = 1920;
  int height = 1080;
  int fps = 30;                    // frame rate fps / fps_den (30000/1001: 29.97)
  int fps_den = 1;
  int gop = 30;                    // frames between IDR frames
  int64_t video_bitrate = 8'000'000;
  bool audio = false;              // mp4: AAC-LC 48 kHz mono; mov: PCM s16le ('sowt')
  int64_t audio_bitrate = 64'000;
  int64_t length_ms = 60'000;      // template length = one segment
  VideoCodec codec = VideoCodec::H264;  // H.264 High (x264) or HEVC Main (x265, 'hvc1')
  int bframes = 0;                 // consecutive B-frames (0: I and P only)
  Container container = Container::Mp4;

  FrameRate frame_rate() const { return {fps, fps_den}; }
  // Frames in the template: those whose time k*fps_den/fps is below length_ms.
  int64_t frame_count() const;
  // Offset of frame k in ms, rounded down: what its burnt-in timecode says.
  int64_t frame_ms(int64_t k) const;
  // Stable file-name-safe key; the defaults' fields keep today's key.
  std::string cache_key() const;
  // The template's file name in the cache: key + ".mp4" or ".mov".
  std::string template_name() const;
};

StreamProfile road_profile();
StreamProfile interior_profile(bool night);
// A camera's profile recorded in another format (camera.yaml's overrides):
// codec, frame rate (the keyframe interval stays 1 s unless `gop_ms` is
// given), B-frames, container.
StreamProfile with_format(StreamProfile p, const RecordingFormat& f);

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
// as a complete MP4 (a QuickTime MOV when the template is a .mov) with the
// segment's metadata. With B-frames, video stops at the first frame in decode
// order that lies past the end, so the segment stays decodable (it may lose
// up to `bframes` frames before its end). Deterministic: the same template
// and meta give the same bytes. Returns the file size. Throws IoError.
uint64_t write_segment(const std::filesystem::path& tmpl, const std::filesystem::path& out,
                       int64_t duration_ms, const SegmentMeta& meta);

// Emulate a power cut during recording (MP4 or MOV): the file keeps `keep_fraction` of
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
