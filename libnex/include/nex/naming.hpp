#pragma once
// The card's file-name grammar: YYYYMMDD_HHMMSS[_T].ext, camera-local time of
// the first frame. Tags: 1/A road, 2/B interior (drive recordings), U road and
// X interior (parking clips). Which tags a model uses is model data.
#include <optional>
#include <string>
#include <string_view>

#include "nex/timeutil.hpp"

namespace nex {

enum class Camera { Road, Interior };
enum class FileKind { Video, Thumbnail, Gps, Accel };

const char* to_string(Camera c);
std::optional<Camera> parse_camera(std::string_view s);

struct FileName {
  LocalTime time;
  char tag = 0;          // 0 for sidecars without a tag (.gps, .acc)
  FileKind kind = FileKind::Video;
  std::string ext;       // the extension as found ("mp4", "MOV"); "" = the kind's default

  bool parking() const { return tag == 'U' || tag == 'X'; }
  // Camera of a tagged file; sidecars (.gps/.acc) have none.
  std::optional<Camera> camera() const;
};

// Parse a bare file name ("20261120_081200_1.mp4"). Returns nullopt when the
// name does not follow the grammar (including impossible dates).
std::optional<FileName> parse_file_name(std::string_view name);
std::string format_file_name(const FileName& f);

// The instant key shared by every file of one recording: "20261120_081200".
std::string instant_key(LocalTime t);

bool is_known_tag(char tag);
const char* extension(FileKind k);

}  // namespace nex
