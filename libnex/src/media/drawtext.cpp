// Text on frames through libavfilter: buffer -> drawtext -> buffersink.
//
// The graph is built once; before each frame the drawtext instance's "text"
// option is set again (av_opt_set on the filter context, which drawtext reads
// every frame; expansion=none, so the text is drawn exactly as given: no '%'
// or '\' sequences). Frames are copied in first: drawtext draws in place,
// and a decoder's frames are its reference pictures.
#include "media/drawtext.hpp"

#include <cstdlib>

extern "C" {
#include <libavfilter/avfilter.h>
#include <libavfilter/buffersink.h>
#include <libavfilter/buffersrc.h>
#include <libavutil/opt.h>
}

#include "media/ffmpeg_util.hpp"
#include "nex/error.hpp"

namespace nex::media {

namespace fs = std::filesystem;

fs::path overlay_font() {
  if (const char* env = std::getenv("NEX_OVERLAY_FONT"); env && *env) {
    std::error_code ec;
    if (!fs::is_regular_file(env, ec))
      throw InputError(std::string("overlay font not found: ") + env, "NEX_OVERLAY_FONT names a .ttf file");
    return env;
  }
  const fs::path dejavu = "/usr/share/fonts/truetype/dejavu/DejaVuSansMono-Bold.ttf";
  std::error_code ec;
  if (!fs::is_regular_file(dejavu, ec))
    throw InputError("overlay font not found: " + dejavu.string(),
                     "install Debian's fonts-dejavu-core, or name a .ttf in NEX_OVERLAY_FONT");
  return dejavu;
}

struct TextDrawer::Graph {
  AVFilterGraph* graph = nullptr;
  AVFilterContext *src = nullptr, *text = nullptr, *sink = nullptr;
  FramePtr out{av_frame_alloc()};
  ~Graph() { avfilter_graph_free(&graph); }
};

namespace {
void check_filter(int ret, const std::string& what) {
  if (ret < 0) throw IoError("overlay: " + what + ": " + av_error_text(ret));
}
}  // namespace

TextDrawer::TextDrawer(int width, int height, AVPixelFormat fmt, const DrawTextStyle& style)
    : g_(std::make_unique<Graph>()) {
  if (!g_->out) throw IoError("out of memory");
  g_->graph = avfilter_graph_alloc();
  if (!g_->graph) throw IoError("out of memory");
  g_->graph->nb_threads = 1;
  const AVFilter* buffer = avfilter_get_by_name("buffer");
  const AVFilter* drawtext = avfilter_get_by_name("drawtext");
  const AVFilter* sink = avfilter_get_by_name("buffersink");
  if (!buffer || !sink) throw IoError("FFmpeg's libavfilter lacks buffer/buffersink");
  if (!drawtext) throw IoError("FFmpeg's libavfilter has no drawtext filter (built without FreeType)");
  const std::string args = "video_size=" + std::to_string(width) + "x" + std::to_string(height) +
                           ":pix_fmt=" + std::to_string(static_cast<int>(fmt)) + ":time_base=1/90000:pixel_aspect=1/1";
  check_filter(avfilter_graph_create_filter(&g_->src, buffer, "in", args.c_str(), nullptr, g_->graph), "buffer source");
  check_filter(avfilter_graph_create_filter(&g_->sink, sink, "out", nullptr, nullptr, g_->graph), "buffer sink");

  g_->text = avfilter_graph_alloc_filter(g_->graph, drawtext, "drawtext");
  if (!g_->text) throw IoError("out of memory");
  const int size = style.size > 0 ? style.size : std::max(12, height / 27);
  const int margin = std::max(4, size / 3);
  const int x = style.x >= 0 ? style.x : margin * 2;
  Dict opts;
  opts.set("fontfile", style.font.string());
  opts.set("text", " ");
  opts.set("expansion", "none");
  opts.set("fontsize", std::to_string(size));
  opts.set("fontcolor", "white");
  opts.set("box", "1");
  opts.set("boxcolor", "black");
  opts.set("boxborderw", std::to_string(margin));
  opts.set("line_spacing", std::to_string(size / 4));
  opts.set("x", std::to_string(x));
  // Bottom-left unless placed: the box grows upwards from a margin above the bottom edge.
  opts.set("y", style.y >= 0 ? std::to_string(style.y) : "h-text_h-" + std::to_string(margin * 2));
  check_filter(avfilter_init_dict(g_->text, opts.out()), "drawtext (font " + style.font.string() + ")");
  check_filter(avfilter_link(g_->src, 0, g_->text, 0), "link");
  check_filter(avfilter_link(g_->text, 0, g_->sink, 0), "link");
  check_filter(avfilter_graph_config(g_->graph, nullptr), "configure");
}

TextDrawer::~TextDrawer() = default;

AVFrame* TextDrawer::draw(const AVFrame* frame, const std::string& text) {
  FramePtr work(av_frame_alloc());
  if (!work) throw IoError("out of memory");
  work->format = frame->format;
  work->width = frame->width;
  work->height = frame->height;
  check_av_io(av_frame_get_buffer(work.get(), 0), "frame buffer");
  check_av_io(av_frame_copy(work.get(), frame), "frame copy");
  check_av_io(av_frame_copy_props(work.get(), frame), "frame copy");
  check_filter(av_opt_set(g_->text, "text", text.c_str(), AV_OPT_SEARCH_CHILDREN), "set text");
  check_filter(av_buffersrc_add_frame_flags(g_->src, work.get(), 0), "feed frame");
  av_frame_unref(g_->out.get());
  check_filter(av_buffersink_get_frame(g_->sink, g_->out.get()), "draw text");
  return g_->out.get();
}

}  // namespace nex::media
