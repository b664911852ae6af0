// The live view: the camera's picture now, as one JPEG (/live.jpg) or as
// MJPEG (/live.mjpg, multipart/x-mixed-replace), each frame with the camera
// clock burnt in as nexsim's pixel timecode: milliseconds since the camera's
// local midnight. The scene moves with that clock.
#include <chrono>
#include <string>

#include "media/jpeg.hpp"
#include "nex/error.hpp"
#include "serve/internal.hpp"

namespace nex::serve::detail {
namespace {

constexpr int kLiveW = 640;
constexpr int kLiveH = 360;
constexpr int kLiveQ = 4;
constexpr const char* kBoundary = "nexframe";
constexpr int64_t kDayMs = 86'400'000;

}  // namespace

LiveView::LiveView(State& s) : s_(s) {}
LiveView::~LiveView() = default;

std::optional<Camera> LiveView::camera_of(const httplib::Request& req, httplib::Response& res) const {
  const std::string cam = req.has_param("camera") ? req.get_param_value("camera") : "road";
  if (cam == "road") return Camera::Road;
  if (cam == "interior") {
    if (s_.card.model().interior_camera) return Camera::Interior;
    send_error(res, 404, "no-camera", "the " + s_.card.model().name + " has no interior camera");
    return std::nullopt;
  }
  send_error(res, 400, "bad-camera", "camera is road or interior, not '" + cam + "'");
  return std::nullopt;
}

const media::StillRenderer& LiveView::renderer(Camera c) {
  const int i = c == Camera::Road ? 0 : 1;
  std::call_once(once_[i], [&] { renderers_[i] = std::make_unique<media::StillRenderer>(c, false, kLiveW, kLiveH); });
  return *renderers_[i];
}

std::string LiveView::frame(Camera c) {
  const int64_t local = s_.card.clock().ms;
  const int64_t of_day = ((local % kDayMs) + kDayMs) % kDayMs;
  return renderer(c).render(of_day * 30 / 1000, static_cast<uint32_t>(of_day), kLiveQ);
}

void LiveView::add_routes(httplib::Server& srv) {
  srv.Get("/live.jpg", [this](const httplib::Request& req, httplib::Response& res) {
    const auto cam = camera_of(req, res);
    if (!cam) return;
    res.set_header("Cache-Control", "no-store");
    res.set_content(frame(*cam), "image/jpeg");
  });

  srv.Get("/live.mjpg", [this](const httplib::Request& req, httplib::Response& res) {
    const auto cam = camera_of(req, res);
    if (!cam) return;
    res.set_header("Cache-Control", "no-store");
    const auto period = std::chrono::microseconds(1'000'000 / s_.opts.live_fps);
    auto next = std::make_shared<std::chrono::steady_clock::time_point>(std::chrono::steady_clock::now());
    res.set_content_provider(
        std::string("multipart/x-mixed-replace; boundary=") + kBoundary,
        [this, c = *cam, period, next](size_t, httplib::DataSink& sink) {
          const auto now = std::chrono::steady_clock::now();
          if (*next > now &&
              !s_.pause(std::chrono::duration_cast<std::chrono::milliseconds>(*next - now).count()))
            return false;
          // A client that fell behind gets the picture of now, not a backlog.
          *next = std::max(*next + period, std::chrono::steady_clock::now());
          std::string jpeg;
          try {
            jpeg = frame(c);
          } catch (const std::exception& e) {
            s_.ctx.log->error("live view: {}", e.what());
            return false;
          }
          std::string part = std::string("--") + kBoundary + "\r\nContent-Type: image/jpeg\r\nContent-Length: " +
                             std::to_string(jpeg.size()) + "\r\n\r\n";
          part += jpeg;
          part += "\r\n";
          return !s_.stopping.load() && sink.write(part.data(), part.size());
        },
        [](bool) {});
  });
}

}  // namespace nex::serve::detail
