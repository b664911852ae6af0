#pragma once
// Internal: nexcut --overlay. The window's sidecar telemetry placed on the
// camera clock and interpolated to any capture time, and the painter that
// burns the facts of a capture time into a frame (media/drawtext).
#include <memory>
#include <optional>
#include <string>
#include <vector>

extern "C" {
#include <libavutil/frame.h>
#include <libavutil/pixfmt.h>
}

#include "nex/card.hpp"
#include "nex/cut.hpp"
#include "nex/telemetry.hpp"

namespace nex::media {
class TextDrawer;
}

namespace nex::cut::detail {

// The .gps fixes and .acc samples of the recordings around [from, to), on
// the camera clock: a segment's fixes by their offset from its first fix
// (robust to a reset receiver date), its samples by their ms.
struct Telemetry {
  struct Fix {
    LocalTime t;
    GpsFix g;
  };
  struct Acc {
    LocalTime t;
    AccSample s;
  };
  std::vector<Fix> fixes;  // valid fixes only, by time
  std::vector<Acc> acc;    // by time

  static Telemetry load(const CardScan& scan, LocalTime from, LocalTime to);
  // The same from the sidecars of these recordings only (a backed-up item's
  // .gps and .acc, each placed at the instant of its card name).
  static Telemetry load(const CardScan& scan, const std::vector<const Recording*>& recs, LocalTime from,
                        LocalTime to);
  // Interpolated between the fixes around t (at most 2 s apart), or the
  // nearest one within 1 s; nullopt otherwise (no GPS there).
  std::optional<GpsFix> gps_at(LocalTime t) const;
  // Interpolated between the samples around t (at most 100 ms apart), or the
  // nearest within 40 ms; nullopt otherwise.
  std::optional<AccSample> acc_at(LocalTime t) const;
};

class OverlayPainter {
 public:
  // Frames of width x height in `fmt`; `strip_width` is the width of the
  // camera picture at the top-left (the text goes below where nexsim's
  // timecode strip would be, a 16th of that width down).
  OverlayPainter(const CardScan& scan, LocalTime from, LocalTime to, const Overlay& what, int width, int height,
                 AVPixelFormat fmt, int strip_width, int text_height);
  ~OverlayPainter();
  OverlayPainter(const OverlayPainter&) = delete;
  OverlayPainter& operator=(const OverlayPainter&) = delete;
  std::string text_at(LocalTime t) const;
  // A copy of `frame` with the facts of capture time t; valid until the next call.
  AVFrame* draw(const AVFrame* frame, LocalTime t);

 private:
  Overlay what_;
  int utc_offset_min_ = 0;
  Telemetry tel_;
  std::vector<Event> events_;
  std::unique_ptr<media::TextDrawer> drawer_;
};

}  // namespace nex::cut::detail
