#pragma once
// Internal to the camera server (libnex/src/serve/): the card as the API
// shows it, the shared state of a running server, the live view. The only
// place besides server.cpp and live.cpp that may include httplib.h.
#include <httplib.h>

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <chrono>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "nex/camera.hpp"
#include "nex/camera_api.hpp"
#include "nex/camera_server.hpp"
#include "nex/random.hpp"
#include "nex/timeutil.hpp"

namespace nex::media {
class StillRenderer;
}

namespace nex::serve::detail {

// drop-after cuts this many responses of each file (docs/camera-api.md).
inline constexpr int kDropsPerFile = 3;

struct FileEntry {
  std::string path;  // card-relative
  uint64_t size = 0;
  int64_t mtime_ns = 0;
  uint64_t ino = 0;
  bool complete = true;
};

// Strong ETag of a file's content identity: size, mtime (ns), inode.
std::string make_etag(uint64_t size, int64_t mtime_ns, uint64_t ino);
std::string http_date(int64_t mtime_ns);  // "Fri, 20 Nov 2026 06:13:00 GMT"
std::string iso_utc(int64_t mtime_ns);    // "2026-11-20T06:13:00Z"
std::string content_type_for(std::string_view path);
// nexsim's temporary names (".<name>.tmp-<pid>"): a file being written.
bool is_being_written(std::string_view path);

// The card folder as the camera API presents it. Thread-safe.
class CardView {
 public:
  CardView(std::filesystem::path card, const Faults& faults);
  const std::filesystem::path& root() const { return root_; }
  const CameraIdentity& identity() const { return id_; }
  const ModelProfile& model() const { return *model_; }

  // The camera's clock now: the host's UTC time, the card's offset, any skew.
  LocalTime clock() const;
  CameraInfo info();
  CameraListing listing();  // with the listing faults applied
  ojson events() const;

 private:
  struct Scan {
    uint64_t generation = 0;
    std::vector<FileEntry> files;
  };
  Scan scan();

  std::filesystem::path root_;
  CameraIdentity id_;
  const ModelProfile* model_ = nullptr;
  Faults faults_;
  std::mutex mu_;
  uint64_t generation_ = 0;
  uint64_t signature_ = 0;
  bool empty_listing_done_ = false;
  std::map<std::string, uint64_t> first_size_;  // stale-size: "<ino>:<path>" -> size first listed
};

class LiveView;

// What every handler of one running server shares.
struct State {
  ServeOptions opts;
  Context ctx;
  CardView card;
  std::atomic<bool> stopping{false};
  std::atomic<uint64_t> body_bytes{0};  // file-body bytes served (power-off)
  std::atomic<bool> dark{false};        // power-off reached: no more answers
  std::atomic<int> in_flight{0};
  // --rate: when the link is next free (file bodies share one link).
  std::mutex link_mu;
  std::chrono::steady_clock::time_point link_free{};
  // Waits until `n` more body bytes fit the link; false if the server stops.
  bool take_link(uint64_t n);
  std::mutex fault_mu;
  Rng rng;                          // the chance faults, in request order
  std::map<std::string, int> dropped;  // responses cut so far, per file (drop-after)
  std::set<std::string> stalled;    // files whose body has stalled once
  std::unique_ptr<LiveView> live;

  State(ServeOptions o, Context c);
  ~State();
  // Sleeps `ms`, waking early when the server stops; false if it did.
  bool pause(int64_t ms) const;
  // Draws for a chance fault; false without a draw when p is 0.
  bool chance(double p);
};

// A JSON error answer: {"error": code, "message": message}.
void send_error(httplib::Response& res, int status, const char* code, const std::string& message);

// GET /live.jpg and /live.mjpg (live.cpp).
class LiveView {
 public:
  explicit LiveView(State& s);
  ~LiveView();
  void add_routes(httplib::Server& srv);

 private:
  // nullopt (and an error answer in res) for an unknown or absent camera.
  std::optional<Camera> camera_of(const httplib::Request& req, httplib::Response& res) const;
  const media::StillRenderer& renderer(Camera c);
  std::string frame(Camera c);

  State& s_;
  std::once_flag once_[2];
  std::unique_ptr<media::StillRenderer> renderers_[2];
};

}  // namespace nex::serve::detail
