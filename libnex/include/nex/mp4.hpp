#pragma once
// A minimal, bounds-checked MP4 box reader for listing: reads only the box
// headers and the moov (never the media data), so a 4,000-segment card lists
// in well under a second.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace nex {

struct Mp4Track {
  std::string handler;   // "vide", "soun"
  std::string codec;     // "avc1", "mp4a", ...
  int width = 0, height = 0;
  int64_t duration_ms = 0;
  uint32_t sample_count = 0;
  double fps = 0;        // video: samples per second of media time (average for VFR)
  bool reordered = false;  // video: a ctts box (B-frames: decode order differs from display)
  int sample_rate = 0;   // audio
  int channels = 0;      // audio
  // In the movie's timescale: the track's duration (tkhd: its edit list's
  // length, or the media's without one; 0 unknown) and the empty edits at
  // its start (the track starting after the movie does).
  uint64_t tkhd_ticks = 0;
  uint64_t empty_edit_ticks = 0;
};

enum class Mp4State { Ok, Empty, NoMoov, Malformed };

struct Mp4Info {
  Mp4State state = Mp4State::Malformed;
  std::string problem;   // why, when not Ok
  // The recording's length: its video's, from the first frame shown to the
  // end of the last (the movie's, mvhd, when there is no video track): an
  // audio track may be longer (without an edit list, the AAC priming and
  // the B-frame delay are in it) or start later.
  int64_t duration_ms = 0;
  int64_t creation_time = 0;  // seconds since 1970 (UTC), 0 when absent
  std::vector<Mp4Track> tracks;
  uint64_t mdat_bytes = 0;
  // Where the media data lies: each mdat box's payload (offset, length),
  // as far as the file holds it (read_mp4_info only).
  std::vector<std::pair<uint64_t, uint64_t>> mdat_payloads;

  const Mp4Track* video() const;
  const Mp4Track* audio() const;
};

// Parse from a file (reads headers and moov only). Never throws on bad data;
// throws IoError only when the file cannot be opened or read.
Mp4Info read_mp4_info(const std::filesystem::path& file);
// The same from any random-access reader (a camera's ranged reads): reader
// returns the bytes it put at buf, fewer only at the end of the file.
using Mp4Reader = std::function<size_t(void* buf, size_t n, uint64_t offset)>;
Mp4Info read_mp4_info(const Mp4Reader& reader, uint64_t size);
// Parse from an in-memory moov-containing prefix (fuzzers, tests).
Mp4Info parse_mp4_moov(std::string_view moov_payload, uint64_t file_size);

const char* to_string(Mp4State s);

}  // namespace nex
