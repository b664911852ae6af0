#pragma once
// Internal: still pictures of the synthetic scene as baseline JPEG (FFmpeg's
// mjpeg encoder, bitexact): the thumbnails nexsim writes and the frames of
// the camera server's live view.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "nex/naming.hpp"

namespace nex::media {

struct StillOptions {
  Camera camera = Camera::Road;
  bool night = false;
  int width = 320, height = 180;
  int64_t frame_index = 0;               // the scene's motion, at 30 fps
  std::optional<uint32_t> timecode_ms;   // burnt in (nex/timecode.hpp) when set
  int qscale = 3;                        // mjpeg quantiser: 2 (best) .. 31
};

// Renders the scene and encodes it. Throws IoError. Each call builds the
// scene anew; a caller producing many frames keeps a StillRenderer.
std::string render_still_jpeg(const StillOptions& o);

// The scene built once for a camera and size; render() is const and may be
// called from several threads at once.
class StillRenderer {
 public:
  StillRenderer(Camera camera, bool night, int width, int height);
  ~StillRenderer();
  StillRenderer(const StillRenderer&) = delete;
  StillRenderer& operator=(const StillRenderer&) = delete;
  std::string render(int64_t frame_index, std::optional<uint32_t> timecode_ms, int qscale = 3) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace nex::media
