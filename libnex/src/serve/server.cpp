// nexsim serve: the camera's HTTP API (docs/camera-api.md) on cpp-httplib.
//
// httplib parses requests and runs one connection per pool thread; this file
// does the rest itself: the client limit, the faults, and ranges (httplib's
// own range handling is switched off per request, since If-Range, the
// range faults and 416's Content-Range need control over it). File bodies
// are streamed from an open descriptor with pread, never read whole.
#include <dirent.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <ostream>
#include <thread>

#include "nex/error.hpp"
#include "nex/fsutil.hpp"
#include "serve/internal.hpp"

namespace nex::serve {

namespace fs = std::filesystem;
namespace detail {

State::State(ServeOptions o, Context c)
    : opts(std::move(o)), ctx(std::move(c)), card(opts.card, opts.faults), rng(opts.seed) {}

State::~State() = default;

bool State::pause(int64_t ms) const {
  const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
  while (!stopping.load()) {
    const auto now = std::chrono::steady_clock::now();
    if (now >= until) return true;
    std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(until - now, std::chrono::milliseconds(20)));
  }
  return false;
}

bool State::take_link(uint64_t n) {
  if (opts.rate == 0) return true;
  std::chrono::steady_clock::time_point at;
  {
    std::lock_guard lock(link_mu);
    const auto now = std::chrono::steady_clock::now();
    // An idle link does not bank credit beyond 100 ms (no burst after a pause).
    if (link_free < now - std::chrono::milliseconds(100)) link_free = now - std::chrono::milliseconds(100);
    at = link_free;
    link_free += std::chrono::nanoseconds(static_cast<int64_t>(static_cast<double>(n) * 1e9 / static_cast<double>(opts.rate)));
  }
  const auto now = std::chrono::steady_clock::now();
  if (at <= now) return true;
  return pause(std::chrono::duration_cast<std::chrono::milliseconds>(at - now).count() + 1);
}

bool State::chance(double p) {
  if (p <= 0) return false;
  std::lock_guard lock(fault_mu);
  return rng.uniform() < p;
}

void send_error(httplib::Response& res, int status, const char* code, const std::string& message) {
  ojson j;
  j["error"] = code;
  j["message"] = message;
  res.status = status;
  res.set_content(j.dump(), "application/json");
}

}  // namespace detail

namespace {

using detail::State;
using httplib::Request;
using httplib::Response;

// One request counts against --max-clients from routing until its response
// is written (httplib's logger runs then). A pool thread serves one request
// at a time, so a thread-local flag pairs the two.
thread_local bool tl_counted = false;

// httplib gives a handler no way to drop or close its connection; the
// socket is found by its addresses among the process's descriptors. The
// descriptor stays httplib's: it is shut down, never closed here.
int find_socket(const Request& req) {
  DIR* d = ::opendir("/proc/self/fd");
  if (!d) return -1;
  int found = -1;
  auto numeric = [](const sockaddr_storage& ss, socklen_t len, std::string& host) -> int {
    char buf[NI_MAXHOST];
    if (::getnameinfo(reinterpret_cast<const sockaddr*>(&ss), len, buf, sizeof buf, nullptr, 0, NI_NUMERICHOST) != 0)
      return -1;
    host = buf;
    return ss.ss_family == AF_INET ? ntohs(reinterpret_cast<const sockaddr_in&>(ss).sin_port)
                                   : ntohs(reinterpret_cast<const sockaddr_in6&>(ss).sin6_port);
  };
  while (dirent* e = ::readdir(d)) {
    char* end = nullptr;
    const long fd = std::strtol(e->d_name, &end, 10);
    if (end == e->d_name || *end) continue;
    struct stat st {};
    if (::fstat(static_cast<int>(fd), &st) != 0 || !S_ISSOCK(st.st_mode)) continue;
    sockaddr_storage peer{}, self{};
    socklen_t pl = sizeof peer, sl = sizeof self;
    if (::getpeername(static_cast<int>(fd), reinterpret_cast<sockaddr*>(&peer), &pl) != 0) continue;
    if (::getsockname(static_cast<int>(fd), reinterpret_cast<sockaddr*>(&self), &sl) != 0) continue;
    std::string ph, sh;
    if (numeric(peer, pl, ph) == req.remote_port && ph == req.remote_addr && numeric(self, sl, sh) == req.local_port &&
        sh == req.local_addr) {
      found = static_cast<int>(fd);
      break;
    }
  }
  ::closedir(d);
  return found;
}

// The answer still goes out; the connection ends after it. httplib checks
// that the socket is alive before it writes, so the read side is shut down
// only once the answer is written (in the logger, which runs then): the
// keep-alive loop then reads the end and closes.
thread_local bool tl_close_after = false;
void close_after_answer(const Request&) { tl_close_after = true; }
void end_after_answer(const Request& req) {
  if (!tl_close_after) return;
  tl_close_after = false;
  const int fd = find_socket(req);
  if (fd >= 0) ::shutdown(fd, SHUT_RD);
}

// No answer at all: the client sees the connection drop (RST where it can).
void drop_connection(const Request& req) {
  const int fd = find_socket(req);
  if (fd < 0) return;
  linger l{1, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
  ::shutdown(fd, SHUT_RDWR);
}

bool if_range_matches(const std::string& value, const std::string& etag, const std::string& last_modified) {
  if (value.empty()) return true;
  if (value.front() == '"') return value == etag;
  if (value.rfind("W/", 0) == 0) return false;  // weak tags never match for ranges
  return value == last_modified;
}

// A file body read from its descriptor, with the body faults.
struct Body {
  int fd = -1;
  std::string path;
  uint64_t start = 0, length = 0;
  std::optional<uint64_t> drop_after;
  std::optional<uint64_t> stall_at;
  ~Body() {
    if (fd >= 0) ::close(fd);
  }
};

void serve_file(State& s, const Request& req, Response& res) {
  const std::string path = req.matches[1];
  if (!is_safe_card_path(path))
    return detail::send_error(res, 400, "bad-path", "not a card path: files are in the root, drive/ or sos/");
  const std::filesystem::path full = s.card.root() / path;
  auto body = std::make_shared<Body>();
  body->path = path;
  body->fd = ::open(full.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  struct stat st {};
  if (body->fd < 0 || ::fstat(body->fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    if (body->fd < 0 && errno != ENOENT && errno != ELOOP && errno != ENOTDIR)
      s.ctx.log->warn("cannot open {}: {}", full.string(), errno_text(errno));
    return detail::send_error(res, 404, "not-found", path + " is not on the card");
  }
  const uint64_t size = static_cast<uint64_t>(st.st_size);
  const int64_t mtime_ns = int64_t{st.st_mtim.tv_sec} * 1'000'000'000 + st.st_mtim.tv_nsec;
  const std::string etag = detail::make_etag(size, mtime_ns, static_cast<uint64_t>(st.st_ino));
  const std::string modified = detail::http_date(mtime_ns);
  res.set_header("ETag", etag);
  res.set_header("Last-Modified", modified);
  res.set_header("Accept-Ranges", "bytes");
  if (detail::is_being_written(path)) res.set_header("X-Nex-Complete", "false");
  const std::string type = detail::content_type_for(path);

  RangeRequest r;
  if (req.has_header("Range") && !s.opts.faults.ignore_range) {
    r = resolve_range(req.get_header_value("Range"), size);
    if (r.kind != RangeRequest::Whole && !if_range_matches(req.get_header_value("If-Range"), etag, modified))
      r = {};  // the client's copy is stale: the whole file
  }
  if (r.kind == RangeRequest::Unsatisfiable) {
    res.set_header("Content-Range", "bytes */" + std::to_string(size));
    return detail::send_error(res, 416, "range-not-satisfiable",
                              "the range starts past the end of " + path + " (" + std::to_string(size) + " bytes)");
  }
  if (r.kind == RangeRequest::Partial) {
    if (s.opts.faults.short_range && r.first > 0) --r.first;
    body->start = r.first;
    body->length = r.last - r.first + 1;
    res.status = 206;
    res.set_header("Content-Range",
                   "bytes " + std::to_string(r.first) + "-" + std::to_string(r.last) + "/" + std::to_string(size));
  } else {
    body->length = size;
    res.status = 200;
  }
  res.set_header("Content-Type", type);
  if (req.method == "HEAD" || body->length == 0) {
    res.set_header("Content-Length", std::to_string(body->length));
    return;
  }
  const auto& f = s.opts.faults;
  if (f.drop_after && *f.drop_after < body->length) {
    // A flaky link, not a dead one: each file's first kDropsPerFile responses
    // are cut, so a client that resumes (or restarts, when ranges are
    // ignored) gets the file in the end.
    std::lock_guard lock(s.fault_mu);
    if (s.dropped[path]++ < detail::kDropsPerFile) body->drop_after = f.drop_after;
  }
  if (f.stall_ms > 0 && body->length >= 2) {
    std::lock_guard lock(s.fault_mu);
    if (s.stalled.insert(path).second) body->stall_at = body->length / 2;
  }
  res.set_content_provider(
      static_cast<size_t>(body->length), type,
      [&s, body](size_t offset, size_t length, httplib::DataSink& sink) {
        if (s.stopping.load() || s.dark.load()) return false;
        if (body->drop_after && offset >= *body->drop_after) {
          s.ctx.log->info("fault drop-after: {} cut after {} bytes", body->path, offset);
          return false;
        }
        if (body->stall_at && offset >= *body->stall_at) {
          body->stall_at.reset();
          s.ctx.log->info("fault stall: {} paused at byte {} for {} ms ({} of {} clients busy)", body->path, offset,
                          s.opts.faults.stall_ms, s.in_flight.load(), s.opts.max_clients);
          if (!s.pause(s.opts.faults.stall_ms)) return false;
        }
        uint64_t n = std::min<uint64_t>(length, 64 * 1024);
        if (body->drop_after) n = std::min<uint64_t>(n, *body->drop_after - offset);
        if (body->stall_at) n = std::min<uint64_t>(n, *body->stall_at - offset);
        if (const auto& off = s.opts.faults.power_off) {
          // This chunk takes what is left before the power goes.
          const uint64_t before = s.body_bytes.fetch_add(n);
          n = before >= *off ? 0 : std::min<uint64_t>(n, *off - before);
          if (n == 0) {
            if (!s.dark.exchange(true))
              s.ctx.log->info("fault power-off: the camera goes dark after {} body bytes ({} at byte {})", *off,
                              body->path, offset);
            return false;
          }
        }
        if (!s.take_link(n)) return false;
        char buf[64 * 1024];
        const ssize_t got = ::pread(body->fd, buf, n, static_cast<off_t>(body->start + offset));
        if (got <= 0) {
          // Truncated under us (a power cut, a rewrite): end the connection,
          // the Content-Length promised more.
          s.ctx.log->warn("{} ended at byte {} while being served", body->path, body->start + offset);
          return false;
        }
        return sink.write(buf, static_cast<size_t>(got));
      },
      [body](bool) {});
}

}  // namespace

struct CameraServer::Impl {
  State state;
  httplib::Server http;
  std::thread thread;
  std::thread recorder;                // --record
  std::atomic<bool> recorder_stop{false};
  std::atomic<bool> running{false};
  int port = 0;
  std::string url;

  Impl(ServeOptions o, Context c) : state(std::move(o), std::move(c)) {}
  void setup();
};

void CameraServer::Impl::setup() {
  State& s = state;
  s.live = std::make_unique<detail::LiveView>(s);
  const size_t threads = static_cast<size_t>(std::max(8, s.opts.max_clients + 4));
  http.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  http.set_keep_alive_timeout(2);  // an idle connection holds a pool thread
  http.set_payload_max_length(64 * 1024);
  // httplib's default sets SO_REUSEPORT, which lets a second server bind the
  // same port and take half its connections. A camera owns its port:
  // SO_REUSEADDR only (a restart may rebind over TIME_WAIT).
  // TCP_NODELAY (inherited by every accepted connection): httplib writes a
  // response's headers and body in separate sends, and with Nagle the body
  // waits for the client's delayed ACK of the headers: 40 ms on every small
  // answer (a ranged read of an MP4 header) of a kept-alive connection.
  http.set_socket_options([](int sock) {
    int yes = 1;
    ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
    ::setsockopt(sock, IPPROTO_TCP, TCP_NODELAY, &yes, sizeof(yes));
  });

  http.set_pre_routing_handler([&s](const Request& req, Response& res) {
    // Ranges are this server's business (see the top of the file); the
    // request object is httplib's non-const local, handed over as const.
    const_cast<Request&>(req).ranges.clear();
    if (tl_counted) --s.in_flight;  // a response that was never logged
    const int n = ++s.in_flight;
    tl_counted = true;
    if (n > s.opts.max_clients) {
      s.ctx.log->info("busy: {} {} refused ({} clients at most)", req.method, req.path, s.opts.max_clients);
      res.set_header("Retry-After", "1");
      res.set_header("Connection", "close");
      detail::send_error(res, 503, "busy", "the camera serves " + std::to_string(s.opts.max_clients) +
                                               " clients at a time: retry in a second");
      close_after_answer(req);
      return httplib::Server::HandlerResponse::Handled;
    }
    if (req.method != "GET" && req.method != "HEAD") {
      res.set_header("Allow", "GET, HEAD");
      detail::send_error(res, 405, "method-not-allowed", "the camera API is read-only: GET and HEAD");
      return httplib::Server::HandlerResponse::Handled;
    }
    if (s.dark.load()) {  // power-off: nothing answers any more
      drop_connection(req);
      detail::send_error(res, 500, "fault", "dark");  // never reaches the client
      return httplib::Server::HandlerResponse::Handled;
    }
    if (s.chance(s.opts.faults.reset_p)) {
      s.ctx.log->info("fault reset: {} {} dropped", req.method, req.path);
      drop_connection(req);
      detail::send_error(res, 500, "fault", "reset");  // never reaches the client
      return httplib::Server::HandlerResponse::Handled;
    }
    if (s.chance(s.opts.faults.http500_p)) {
      s.ctx.log->info("fault http500: {} {}", req.method, req.path);
      detail::send_error(res, 500, "internal", "the camera failed to answer (injected fault)");
      return httplib::Server::HandlerResponse::Handled;
    }
    return httplib::Server::HandlerResponse::Unhandled;
  });

  http.set_logger([&s](const Request& req, const Response& res) {
    if (tl_counted) {
      --s.in_flight;
      tl_counted = false;
    }
    end_after_answer(req);
    s.ctx.log->debug("{} {} {} {}", req.remote_addr, req.method, req.target, res.status);
  });

  // Answers httplib makes itself (404 for no route, 400 for a bad request
  // line, 416 for a Range it cannot parse) get the API's JSON error body.
  http.set_error_handler(httplib::Server::HandlerWithResponse([&s](const Request& req, Response& res) {
    const_cast<Request&>(req).ranges.clear();
    if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
    if (res.status == 416 && req.path.rfind("/files/", 0) == 0 && !res.has_header("Content-Range")) {
      struct stat st {};
      const std::string p = req.path.substr(7);
      if (is_safe_card_path(p) && ::lstat((s.card.root() / p).c_str(), &st) == 0)
        res.set_header("Content-Range", "bytes */" + std::to_string(st.st_size));
    }
    const char* code = res.status == 404 ? "not-found" : res.status == 416 ? "range-not-satisfiable" : "bad-request";
    detail::send_error(res, res.status, code, res.status == 404 ? "no such endpoint: " + req.path : "bad request");
    return httplib::Server::HandlerResponse::Handled;
  }));

  http.set_exception_handler([&s](const Request& req, Response& res, std::exception_ptr ep) {
    std::string what = "unknown error";
    try {
      std::rethrow_exception(ep);
    } catch (const std::exception& e) {
      what = e.what();
    } catch (...) {
    }
    s.ctx.log->error("{} {}: {}", req.method, req.path, what);
    detail::send_error(res, 500, "internal", what);
  });

  auto json = [](Response& res, const ojson& j) {
    res.set_header("Cache-Control", "no-store");
    res.set_content(j.dump(), "application/json");
  };
  http.Get("/api/info", [&s, json](const Request&, Response& res) { json(res, camera_info_to_json(s.card.info())); });
  http.Get("/api/files",
           [&s, json](const Request&, Response& res) { json(res, camera_listing_to_json(s.card.listing())); });
  http.Get("/api/events", [&s, json](const Request&, Response& res) { json(res, s.card.events()); });
  http.Get(R"(/files/(.+))", [&s](const Request& req, Response& res) { serve_file(s, req, res); });
  s.live->add_routes(http);
}

CameraServer::CameraServer(ServeOptions opts, Context ctx) {
  if (opts.max_clients < 1) throw UsageError("bad --max-clients " + std::to_string(opts.max_clients), "at least 1");
  if (opts.live_fps < 1 || opts.live_fps > 30)
    throw UsageError("bad --live-fps " + std::to_string(opts.live_fps), "1 to 30 frames a second");
  if (!ctx.log) ctx = Context::quiet();
  impl_ = std::make_unique<Impl>(std::move(opts), std::move(ctx));
  impl_->setup();
}

CameraServer::~CameraServer() { stop(); }

// --record: the camera keeps driving while it serves, on nexsim's own
// emulator (paced), so clients meet a moving card: segments open (listed
// incomplete) and close, the loop deletes the oldest, events are logged.
void CameraServer::start_recording(Impl& m) {
  sim::DriveOptions d = *m.state.opts.record;
  d.card = m.state.opts.card;
  d.interior = m.state.card.model().interior_camera;
  if (!d.start) {
    // After the card's newest footage (the emulator's default), or now by
    // the camera's clock on a card without any.
    bool any = false;
    std::error_code ec;
    for (fs::directory_iterator it(d.card / "drive", ec), end; !ec && it != end && !any; it.increment(ec))
      any = it->path().extension() == ".mp4" || it->path().extension() == ".MOV";
    if (!any) d.start = LocalTime{m.state.card.clock().ms / 1000 * 1000};
  }
  Context ctx = m.state.ctx;
  ctx.interrupted = &m.recorder_stop;
  ctx.progress = false;
  m.recorder = std::thread([&m, d, ctx] {
    try {
      const sim::RunReport r = sim::simulate_drive(d, ctx);
      ctx.log->info("recording ended: {} segments, {} events, {} overwritten by the loop", r.recordings_written,
                    r.events.size(), r.recordings_deleted);
    } catch (const Interrupted&) {
      ctx.log->info("recording stopped with the server");
    } catch (const std::exception& e) {
      ctx.log->error("recording failed: {}", e.what());
    }
  });
}

std::string CameraServer::start() {
  Impl& m = *impl_;
  if (m.thread.joinable()) return m.url;
  const ListenAddress& a = m.state.opts.listen;
  errno = 0;
  int port = a.port;
  bool ok;
  if (a.port == 0) {
    port = m.http.bind_to_any_port(a.host);
    ok = port > 0;
  } else {
    ok = m.http.bind_to_port(a.host, a.port);
  }
  if (!ok) {
    const int err = errno;
    throw IoError("cannot listen on " + a.host + ":" + std::to_string(a.port) + (err ? ": " + errno_text(err) : ""),
                  "pick another port with --listen HOST:PORT (port 0: any free port)");
  }
  m.port = port;
  std::string host = a.host;
  if (host == "0.0.0.0") host = "127.0.0.1";
  if (host == "::") host = "::1";
  if (host.find(':') != std::string::npos) host = "[" + host + "]";
  m.url = "http://" + host + ":" + std::to_string(port);
  m.running = true;
  m.thread = std::thread([&m] {
    m.http.listen_after_bind();
    m.running = false;
  });
  if (m.state.opts.record) start_recording(m);
  return m.url;
}

void CameraServer::stop() {
  if (!impl_) return;
  Impl& m = *impl_;
  m.recorder_stop = true;
  if (m.recorder.joinable()) m.recorder.join();
  m.state.stopping = true;
  if (m.thread.joinable()) {
    // httplib's stop() does nothing until its accept loop has begun.
    while (m.running.load() && !m.http.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    m.http.stop();
    m.thread.join();
  }
  m.running = false;
}

int CameraServer::port() const { return impl_->port; }
const std::string& CameraServer::base_url() const { return impl_->url; }
bool CameraServer::running() const { return impl_->running.load(); }

int serve_camera(const ServeOptions& opts, const Context& ctx, std::ostream& out) {
  if (!opts.listen.loopback())
    ctx.log->warn("listening on {} (not loopback): the camera API has no authentication; anyone who can reach it "
                  "can read the card",
                  opts.listen.host);
  CameraServer server(opts, ctx);
  const std::string url = server.start();
  out << url << '\n' << std::flush;
  if (!opts.ready_file.empty()) write_file_atomic(opts.ready_file, url + "\n");
  ctx.log->info("serving {} at {} ({} clients at most{}{})", opts.card.string(), url, opts.max_clients,
                opts.faults.any() ? ", faults: " : "", format_faults(opts.faults));
  while (server.running() && !(ctx.interrupted && ctx.interrupted->load()))
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  const bool failed = !server.running();
  server.stop();
  if (!opts.ready_file.empty()) {
    std::error_code ec;
    std::filesystem::remove(opts.ready_file, ec);
  }
  if (failed) throw IoError("the server stopped accepting connections on " + url);
  ctx.log->info("stopped");
  return 0;
}

}  // namespace nex::serve
