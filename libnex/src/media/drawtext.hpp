#pragma once
// Internal: text drawn onto video frames with FFmpeg's own drawtext filter
// (libavfilter, FreeType): one filter graph for a run of frames, its text set
// again before each frame. Used by nexcut --overlay.
#include <filesystem>
#include <memory>
#include <string>

extern "C" {
#include <libavutil/frame.h>
#include <libavutil/pixfmt.h>
}

namespace nex::media {

// The overlay's font: $NEX_OVERLAY_FONT when set, else DejaVu Sans Mono
// (Debian package fonts-dejavu-core) at its known path. InputError naming the
// package when it is missing.
std::filesystem::path overlay_font();

struct DrawTextStyle {
  std::filesystem::path font;
  int size = 0;        // pixels; 0: a 27th of the frame's height
  int x = -1, y = -1;  // top-left of the text; -1: bottom-left, a margin in
};

class TextDrawer {
 public:
  // Frames of this size and pixel format (any drawtext accepts: yuv420p...).
  TextDrawer(int width, int height, AVPixelFormat fmt, const DrawTextStyle& style);
  ~TextDrawer();
  TextDrawer(const TextDrawer&) = delete;
  TextDrawer& operator=(const TextDrawer&) = delete;
  // Draws `text` (lines split by '\n', drawn as given: no expansion) on a copy
  // of `frame` in a black box; the result stays valid until the next call.
  AVFrame* draw(const AVFrame* frame, const std::string& text);

 private:
  struct Graph;
  std::unique_ptr<Graph> g_;
};

}  // namespace nex::media
