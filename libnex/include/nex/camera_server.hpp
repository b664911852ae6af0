#pragma once
// nexsim serve: the camera's Wi-Fi API (docs/camera-api.md) over HTTP/1.1,
// serving a card folder. The HTTP library stays behind this header.
#include <cstdint>
#include <filesystem>
#include <iosfwd>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "nex/context.hpp"
#include "nex/sim.hpp"

namespace nex::serve {

// --fault SPEC: what a misbehaving camera does (docs/camera-api.md, "Limits
// and faults"). Every field off by default.
struct Faults {
  std::optional<uint64_t> drop_after;  // bytes of each file body before the connection is cut
  std::optional<uint64_t> power_off;   // file-body bytes served in all before the camera goes dark
  int64_t stall_ms = 0;                // once per file, the body pauses this long halfway
  double reset_p = 0;                  // a request's connection is closed before any answer
  double http500_p = 0;                // a request answers 500
  bool ignore_range = false;           // Range ignored: 200 with the whole file
  bool short_range = false;            // a 206 starts one byte before the asked range
  bool stale_size = false;             // the listing keeps a growing file's first size
  bool empty_listing_once = false;     // the first /api/files lists nothing
  int64_t clock_skew_ms = 0;           // the camera clock is off by this much

  bool any() const;
};

// "drop-after=1M,reset=0.1,ignore-range". Throws UsageError with a one-line
// reason (no hint): an unknown fault, a bad value, a fault given twice.
Faults parse_faults(std::string_view spec);
// The spec back, in the table's order ("" when none): for logs.
std::string format_faults(const Faults& f);

struct ListenAddress {
  std::string host = "127.0.0.1";  // IPv6 without brackets
  int port = 8080;                 // 0: a free port
  bool loopback() const;
};
// "127.0.0.1:8080", "localhost:0", "[::1]:9000", "0.0.0.0:80". Throws UsageError.
ListenAddress parse_listen(std::string_view s);

// One "Range: bytes=..." against a file of `size` bytes (RFC 9110 §14).
struct RangeRequest {
  enum Kind { Whole, Partial, Unsatisfiable } kind = Whole;
  uint64_t first = 0, last = 0;  // inclusive, for Partial
};
// No header, another unit, several ranges or bad syntax: Whole (a server may
// ignore Range). A first byte at or past the end, or a zero suffix:
// Unsatisfiable.
RangeRequest resolve_range(std::string_view header, uint64_t size);

struct ServeOptions {
  std::filesystem::path card;
  ListenAddress listen;
  std::filesystem::path ready_file;  // empty: none
  int max_clients = 3;               // concurrent requests
  Faults faults;
  uint64_t seed = 1;                 // for the faults that fire by chance
  int live_fps = 5;
  uint64_t rate = 0;                 // --rate: the link's bytes a second, all file bodies together; 0: unlimited
  // --record: a drive recorded onto the card while it is served (paced;
  // the interior camera when the model has one; start: after the card's
  // newest footage, or the camera clock's now on an empty card).
  std::optional<sim::DriveOptions> record;
};

// The server as an object, for the tool and for tests: start() binds and
// serves in background threads, stop() (or the destructor) ends it.
class CameraServer {
 public:
  // Validates the options and reads the card's camera.yaml; throws
  // UsageError/InputError. Binds nothing yet.
  CameraServer(ServeOptions opts, Context ctx);
  ~CameraServer();
  CameraServer(const CameraServer&) = delete;
  CameraServer& operator=(const CameraServer&) = delete;

  // Binds and starts serving; throws IoError when the address is taken.
  // Returns the base URL ("http://127.0.0.1:PORT").
  std::string start();
  // Ends every response in progress (stalls, live streams) and joins.
  void stop();
  int port() const;
  const std::string& base_url() const;
  // Whether the server thread still runs (false after stop() or a failure).
  bool running() const;

 private:
  struct Impl;
  static void start_recording(Impl& m);
  std::unique_ptr<Impl> impl_;
};

// nexsim serve: start, print the base URL as the first line of `out`
// (flushed), write it to the ready file (atomically), serve until
// ctx.interrupted, stop, remove the ready file. Returns 0.
int serve_camera(const ServeOptions& opts, const Context& ctx, std::ostream& out);

}  // namespace nex::serve
