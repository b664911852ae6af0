// A camera over Wi-Fi as a Source (docs/camera-api.md): libcurl behind this
// file, one connection reused (cameras reset above two or three), retries
// with backoff on what a weak link does (drops, stalls, 5xx, 503 at the
// connection limit), never on what the camera means (404, 400).
#include <curl/curl.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <list>
#include <map>
#include <mutex>
#include <thread>

#include "nex/error.hpp"
#include "nex/fsutil.hpp"
#include "nex/random.hpp"
#include "nex/source.hpp"

namespace fs = std::filesystem;

namespace nex {

bool is_camera_url(std::string_view s) {
  if (s.rfind("http://", 0) != 0) return false;
  s.remove_prefix(7);
  if (!s.empty() && s.back() == '/') s.remove_suffix(1);
  if (s.empty()) return false;
  for (char c : s)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == ':' || c == '[' || c == ']'))
      return false;
  return true;
}

namespace {

std::once_flag g_curl_once;

struct Response {
  long status = 0;
  std::map<std::string, std::string> headers;  // lower-case names, last value wins
  std::string body;                            // when no sink
  uint64_t body_bytes = 0;
  CURLcode code = CURLE_OK;
  std::string error;
  bool transport_failed() const { return code != CURLE_OK; }
  std::string header(const std::string& n) const {
    auto it = headers.find(n);
    return it == headers.end() ? std::string() : it->second;
  }
};

// Where a body goes: into Response::body, or to a callback that may stop the
// transfer early by returning false (a 200 to a Range request we only need
// a piece of).
using BodySink = std::function<bool(const Response&, const char*, size_t)>;

class Http {
 public:
  Http(std::string base, const CameraClientOptions& o) : base_(std::move(base)), opts_(o) {
    std::call_once(g_curl_once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
    curl_ = curl_easy_init();
    if (!curl_) throw std::bad_alloc();
  }
  ~Http() { curl_easy_cleanup(curl_); }
  Http(const Http&) = delete;
  Http& operator=(const Http&) = delete;

  // One exchange, no retry. headers: "Name: value" lines.
  Response exchange(const std::string& method, const std::string& path, const std::vector<std::string>& headers,
                    const BodySink& sink = {}) {
    struct State {
      Response* r;
      const BodySink* sink;
      CURL* curl;
      bool stopped = false;
    };
    Response r;
    State st{&r, &sink, curl_};
    curl_easy_reset(curl_);
    const std::string url = base_ + path;
    char errbuf[CURL_ERROR_SIZE] = {0};
    curl_slist* list = nullptr;
    for (const auto& h : headers) list = curl_slist_append(list, h.c_str());
    struct Guard {
      curl_slist* l;
      ~Guard() { curl_slist_free_all(l); }
    } guard{list};
    auto write_cb = +[](char* p, size_t sz, size_t n, void* ud) -> size_t {
      auto* s = static_cast<State*>(ud);
      const size_t len = sz * n;
      s->r->body_bytes += len;
      if (*s->sink) {
        if (s->r->status == 0) curl_easy_getinfo(s->curl, CURLINFO_RESPONSE_CODE, &s->r->status);
        if (!(*s->sink)(*s->r, p, len)) {
          s->stopped = true;
          return 0;
        }
      } else {
        if (s->r->body.size() + len > (64u << 20)) return 0;  // API documents are small
        s->r->body.append(p, len);
      }
      return len;
    };
    auto header_cb = +[](char* p, size_t sz, size_t n, void* ud) -> size_t {
      auto* s = static_cast<State*>(ud);
      std::string line(p, sz * n);
      if (line.rfind("HTTP/", 0) == 0) s->r->headers.clear();  // a new response (after 100 Continue)
      const size_t colon = line.find(':');
      if (colon != std::string::npos) {
        std::string name = line.substr(0, colon), value = line.substr(colon + 1);
        std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
        while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.erase(0, 1);
        while (!value.empty() && (value.back() == '\r' || value.back() == '\n' || value.back() == ' '))
          value.pop_back();
        s->r->headers[name] = value;
      }
      return sz * n;
    };
    curl_easy_setopt(curl_, CURLOPT_URL, url.c_str());
    curl_easy_setopt(curl_, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl_, CURLOPT_PROTOCOLS_STR, "http");
    curl_easy_setopt(curl_, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(curl_, CURLOPT_HTTPHEADER, list);
    curl_easy_setopt(curl_, CURLOPT_WRITEFUNCTION, write_cb);
    curl_easy_setopt(curl_, CURLOPT_WRITEDATA, &st);
    curl_easy_setopt(curl_, CURLOPT_HEADERFUNCTION, header_cb);
    curl_easy_setopt(curl_, CURLOPT_HEADERDATA, &st);
    curl_easy_setopt(curl_, CURLOPT_CONNECTTIMEOUT_MS, opts_.connect_timeout_ms);
    curl_easy_setopt(curl_, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(curl_, CURLOPT_LOW_SPEED_TIME, opts_.stall_timeout_s);
    curl_easy_setopt(curl_, CURLOPT_BUFFERSIZE, 256L * 1024);
    curl_easy_setopt(curl_, CURLOPT_TCP_KEEPALIVE, 1L);
    if (opts_.rate) curl_easy_setopt(curl_, CURLOPT_MAX_RECV_SPEED_LARGE, static_cast<curl_off_t>(opts_.rate));
    if (method == "HEAD") curl_easy_setopt(curl_, CURLOPT_NOBODY, 1L);
    r.code = curl_easy_perform(curl_);
    if (st.stopped && r.code == CURLE_WRITE_ERROR) r.code = CURLE_OK;  // we had what we needed
    if (r.code != CURLE_OK) r.error = errbuf[0] ? errbuf : curl_easy_strerror(r.code);
    curl_easy_getinfo(curl_, CURLINFO_RESPONSE_CODE, &r.status);
    if (st.stopped) {
      // The connection holds the rest of a body we refused: do not reuse it.
      curl_easy_cleanup(curl_);
      curl_ = curl_easy_init();
      if (!curl_) throw std::bad_alloc();
    }
    return r;
  }

  const std::string& base() const { return base_; }

 private:
  std::string base_;
  CameraClientOptions opts_;
  CURL* curl_ = nullptr;
};

bool transient_status(long s) { return s == 408 || s == 429 || s == 500 || s == 502 || s == 503 || s == 504; }

// Percent-encode a card path for a URL (names are plain, but a listing is
// untrusted: keep the request line clean whatever it says).
std::string url_path(const std::string& rel) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : rel) {
    if (std::isalnum(c) || c == '/' || c == '_' || c == '-' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

class CameraClient final : public CameraSource {
 public:
  CameraClient(std::string url, const Context& ctx, const CameraClientOptions& o)
      : http_(trim(url), o), ctx_(ctx), opts_(o), rng_(0x6e6578u) {
    info_ = fetch_info();
  }

  std::string describe() const override { return http_.base(); }
  bool remote() const override { return true; }
  std::optional<fs::path> local_path(const std::string&) const override { return std::nullopt; }
  uint64_t bytes_read() const override { return read_; }

  const CameraInfo& info() const override { return info_; }
  CameraInfo refresh_info() override {
    std::lock_guard lk(mu_);
    info_ = fetch_info();
    return info_;
  }

  const CameraListing& listing() override {
    std::lock_guard lk(mu_);
    if (!listing_) listing_ = fetch_listing();
    return *listing_;
  }
  const CameraListing& refresh_listing() override {
    std::lock_guard lk(mu_);
    listing_ = fetch_listing();
    cache_.clear();
    cache_bytes_ = 0;
    return *listing_;
  }

  std::vector<SourceEntry> list(const std::string& dir) override {
    const CameraListing& l = listing();
    std::vector<SourceEntry> out;
    bool drive = false, sos = false;
    for (const auto& f : l.files) {
      const size_t slash = f.path.find('/');
      const std::string folder = slash == std::string::npos ? "" : f.path.substr(0, slash);
      drive |= folder == "drive";
      sos |= folder == "sos";
      if (folder != dir) continue;
      SourceEntry e;
      e.name = slash == std::string::npos ? f.path : f.path.substr(slash + 1);
      e.rel = f.path;
      e.size = f.size;
      e.complete = f.complete;
      e.etag = f.etag;
      out.push_back(std::move(e));
    }
    if (dir.empty()) {
      for (auto [name, present] : {std::pair{"drive", drive}, std::pair{"sos", sos}})
        if (present) out.push_back(SourceEntry{name, name, false, 0, true, {}});
    }
    return out;
  }

  std::optional<std::string> read_file(const std::string& rel) override {
    std::lock_guard lk(mu_);
    Response r = with_retries("GET " + rel, [&] { return http_.exchange("GET", "/files/" + url_path(rel), {}); });
    if (r.status == 404) return std::nullopt;
    if (r.status != 200) throw IoError(rel + ": the camera answered " + status_text(r));
    read_ += r.body.size();
    return std::move(r.body);
  }

  size_t read_at(const std::string& rel, uint64_t off, void* buf, size_t n) override {
    std::lock_guard lk(mu_);
    auto* out = static_cast<char*>(buf);
    size_t done = 0;
    while (done < n) {
      const uint64_t pos = off + done;
      const Extent* e = cached(rel, pos);
      if (!e) e = &fetch_extent(rel, pos, n - done);
      if (pos < e->off || pos >= e->off + e->data.size()) break;  // end of file
      const uint64_t in = pos - e->off;
      const size_t take = static_cast<size_t>(std::min<uint64_t>(n - done, e->data.size() - in));
      std::memcpy(out + done, e->data.data() + in, take);
      done += take;
    }
    return done;
  }

  FetchResult fetch(const std::string& rel, const fs::path& part, const std::string& etag,
                    const std::function<void(uint64_t)>& progress) override {
    std::lock_guard lk(mu_);
    FetchResult res;
    int failures = 0;
    for (;;) {
      ctx_.check_interrupt();
      std::error_code ec;
      uint64_t have = fs::exists(part, ec) ? fs::file_size(part, ec) : 0;
      if (ec) have = 0;
      if (etag.empty()) have = 0;  // nothing to check a resume against
      if (res.resumed_from == 0) res.resumed_from = have;
      std::vector<std::string> hdr;
      if (have > 0) {
        hdr.push_back("Range: bytes=" + std::to_string(have) + "-");
        hdr.push_back("If-Range: " + etag);
      }
      // The body goes to the part file; where it starts is decided by the
      // answer's status and Content-Range, read before the first byte.
      int fd = -1;
      uint64_t skip = 0, got = 0, flushed = 0, written0 = 0;
      bool decided = false, refused = false, local_error = false;
      std::string why;
      auto decide = [&](const Response& in) -> bool {
        decided = true;
        if (in.status == 206) {
          auto cr = parse_content_range(in.header("content-range"));
          if (!cr || cr->unsatisfied || cr->first > have) {
            refused = true;
            why = "a partial answer that does not start where the download stopped";
            return false;
          }
          skip = have - cr->first;  // a camera that starts early (short-range): drop the overlap
          written0 = have;
          fd = ::open(part.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        } else if (in.status == 200) {
          fd = ::open(part.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);  // a 200 restarts
          have = 0;
        } else {
          return false;  // an error page: not ours to keep
        }
        if (fd < 0) {
          local_error = true;
          why = part.string() + ": " + errno_text(errno);
          return false;
        }
        return true;
      };
      BodySink sink = [&](const Response& in, const char* p, size_t len) -> bool {
        if (!decided && !decide(in)) return false;
        if (fd < 0) return false;
        if (skip) {
          const size_t sk = static_cast<size_t>(std::min<uint64_t>(skip, len));
          p += sk, len -= sk, skip -= sk;
        }
        while (len) {
          const ssize_t w = ::write(fd, p, len);
          if (w < 0 && errno == EINTR) continue;
          if (w < 0) {
            local_error = true;
            why = part.string() + ": write: " + errno_text(errno);
            return false;
          }
          p += w, len -= static_cast<size_t>(w), got += static_cast<uint64_t>(w);
        }
        // Start writing back what came in while the rest arrives: the
        // fsync at the end (a pulled file is durable before it counts)
        // then has little left to wait for.
        if (got - flushed >= kWriteBehind) {
          ::sync_file_range(fd, static_cast<off64_t>(written0 + flushed), static_cast<off64_t>(got - flushed),
                            SYNC_FILE_RANGE_WRITE);
          flushed = got;
        }
        if (progress) progress(have + got);
        return !(ctx_.interrupted && ctx_.interrupted->load());
      };
      Response r = http_.exchange("GET", "/files/" + url_path(rel), hdr, sink);
      if (fd >= 0) {
        if (::fsync(fd) != 0 && !local_error) local_error = true, why = part.string() + ": fsync: " + errno_text(errno);
        ::close(fd);
      }
      res.received += got;
      read_ += got;
      ctx_.check_interrupt();
      if (local_error) return fail(res, why);
      if (r.status == 404) {
        res.status = Fetch::Gone;
        return res;
      }
      if (r.status == 416) {
        auto cr = parse_content_range(r.header("content-range"));
        if (cr && cr->unsatisfied && cr->total == have && have > 0) {
          res.status = Fetch::Done, res.size = have, res.etag = unquote_keep(r.header("etag"), etag);
          return res;
        }
        fs::remove(part, ec);  // our part is longer than the file: start again
        if (++failures > opts_.retries) return fail(res, "the camera refused every range");
        continue;
      }
      if (refused) {
        fs::remove(part, ec);
        ctx_.log->debug("{}: {}; starting again", rel, why);
        if (++failures > opts_.retries) return fail(res, why);
        continue;
      }
      const bool ok_status = r.status == 200 || r.status == 206;
      if (ok_status && r.transport_failed() && got > 0) {
        // Cut off after some progress (a drop): resume at once from there.
        failures = 0;
        ctx_.log->debug("{}: {} after {} bytes; resuming", rel, r.error, got);
        continue;
      }
      if (!ok_status || r.transport_failed()) {
        if (!r.transport_failed() && !transient_status(r.status))
          return fail(res, "the camera answered " + status_text(r));
        if (++failures > opts_.retries) return fail(res, r.transport_failed() ? r.error : status_text(r));
        ctx_.log->debug("{}: {}; retrying", rel, r.transport_failed() ? r.error : status_text(r));
        backoff(failures, r);
        continue;
      }
      // A whole answer: how long the file is, as the camera says.
      uint64_t total = 0;
      if (r.status == 206) {
        auto cr = parse_content_range(r.header("content-range"));
        total = cr ? cr->total : 0;
      } else {
        total = parse_u64(r.header("content-length")).value_or(0);
      }
      const uint64_t now = fs::exists(part, ec) ? fs::file_size(part, ec) : 0;
      res.etag = unquote_keep(r.header("etag"), etag);
      res.size = total;
      if (now == total && total > 0) {
        res.status = Fetch::Done;
        return res;
      }
      if (now > total) {
        fs::remove(part, ec);
        if (++failures > opts_.retries) return fail(res, "the camera sent more than the file's size");
        continue;
      }
      // Short: the connection closed early (a drop); resume from here.
      if (got == 0 && ++failures > opts_.retries) return fail(res, "the transfer stops short of the file's end");
      if (got > 0) failures = 0;
    }
  }

 private:
  // Ranged reads (read_at) go through a cache of extents. A read that does
  // not continue an earlier one (an MP4 box header, a moov at the end, a
  // keyframe the cut asks about) fetches only kFirstRead; a read that starts
  // where a fetched extent ends is a stream (a demuxer copying packets in
  // file order) and fetches twice that extent, up to kMaxRead. Cameras
  // answer every request after a round trip over Wi-Fi: few requests for a
  // stream, few bytes for a probe (a card scan reads each segment's headers).
  static constexpr uint64_t kWriteBehind = 8 * 1024 * 1024;
  static constexpr uint64_t kFirstRead = 16 * 1024;
  static constexpr uint64_t kMaxRead = 2 * 1024 * 1024;
  static constexpr uint64_t kCacheBytes = 24 * 1024 * 1024;
  struct Extent {
    std::string rel;
    uint64_t off = 0;
    std::string data;
    bool eof = false;  // the file ends with it
  };

  static std::string trim(std::string u) {
    while (!u.empty() && u.back() == '/') u.pop_back();
    return u;
  }
  static std::optional<uint64_t> parse_u64(const std::string& s) {
    if (s.empty() || s.size() > 19) return std::nullopt;
    uint64_t v = 0;
    for (char c : s) {
      if (c < '0' || c > '9') return std::nullopt;
      v = v * 10 + static_cast<uint64_t>(c - '0');
    }
    return v;
  }
  static std::string unquote_keep(const std::string& got, const std::string& dflt) { return got.empty() ? dflt : got; }
  static std::string status_text(const Response& r) {
    if (r.transport_failed()) return r.error;
    return "HTTP " + std::to_string(r.status);
  }
  FetchResult& fail(FetchResult& res, const std::string& why) {
    res.status = Fetch::Failed;
    res.error = why;
    return res;
  }


  void backoff(int attempt, const Response& r) {
    int64_t ms = std::min<int64_t>(2000, 100LL << std::min(attempt, 5));
    if (auto ra = parse_u64(r.header("retry-after")); ra && *ra <= 5) ms = std::max<int64_t>(ms, *ra * 1000);
    ms = static_cast<int64_t>(static_cast<double>(ms) * rng_.uniform(0.5, 1.0));
    std::this_thread::sleep_for(std::chrono::milliseconds(ms));
  }

  template <class F>
  Response with_retries(const std::string& what, F&& f) {
    for (int attempt = 1;; ++attempt) {
      ctx_.check_interrupt();
      Response r = f();
      const bool again = r.transport_failed() ? r.code != CURLE_COULDNT_RESOLVE_HOST : transient_status(r.status);
      if (!again || attempt > opts_.retries) return r;
      ctx_.log->debug("{}: {}; retrying", what, status_text(r));
      backoff(attempt, r);
    }
  }

  CameraInfo fetch_info() {
    Response r = with_retries("info", [&] { return http_.exchange("GET", "/api/info", {}); });
    if (r.transport_failed())
      throw InputError(http_.base() + ": no camera answers: " + r.error, "is the phone on the camera's Wi-Fi?");
    if (r.status != 200)
      throw InputError(http_.base() + ": not a nex camera (GET /api/info answered HTTP " + std::to_string(r.status) +
                       ")");
    try {
      return parse_camera_info(r.body);
    } catch (const InputError& e) {
      throw InputError(http_.base() + ": " + e.what(), e.hint());
    }
  }

  CameraListing fetch_listing() {
    for (int attempt = 1;; ++attempt) {
      Response r = with_retries("listing", [&] { return http_.exchange("GET", "/api/files", {}); });
      if (r.transport_failed()) throw InputError(http_.base() + ": listing: " + r.error);
      if (r.status != 200) throw InputError(http_.base() + ": listing: HTTP " + std::to_string(r.status));
      try {
        return parse_camera_listing(r.body);
      } catch (const InputError& e) {
        // An empty or torn listing is a camera fault: ask again, then give up
        // loudly. Never a reason to think the card is empty.
        if (attempt > opts_.retries) throw InputError(http_.base() + ": " + e.what(), e.hint());
        ctx_.log->debug("listing: {}; asking again", e.what());
        backoff(attempt, r);
      }
    }
  }

  const Extent* cached(const std::string& rel, uint64_t pos) {
    for (auto it = cache_.begin(); it != cache_.end(); ++it)
      if (it->rel == rel && pos >= it->off && (pos < it->off + it->data.size() || (it->eof && pos == it->off + it->data.size()))) {
        cache_.splice(cache_.begin(), cache_, it);
        return &cache_.front();
      }
    return nullptr;
  }

  // Fetches [first, first + max(want, readahead)) with one Range request.
  const Extent& fetch_extent(const std::string& rel, uint64_t first, size_t want) {
    uint64_t len = kFirstRead;
    for (const auto& e : cache_)
      if (e.rel == rel && e.off + e.data.size() == first && !e.eof) {
        len = std::min<uint64_t>(std::max<uint64_t>(e.data.size() * 2, kFirstRead), kMaxRead);
        break;
      }
    // A stream reads ahead at most a sixteenth of its file (a few seconds of
    // footage): what a cut's last read fetches past what it needs stays
    // small beside the clip, whatever the footage's bit rate.
    if (listing_) {
      const auto& files = listing_->files;  // sorted by path
      auto it = std::lower_bound(files.begin(), files.end(), rel,
                                 [](const CameraFile& f, const std::string& r) { return f.path < r; });
      if (it != files.end() && it->path == rel && it->size > 0)
        len = std::min<uint64_t>(len, std::max<uint64_t>(it->size / 16, kFirstRead));
    }
    len = std::max<uint64_t>(len, want);
    const uint64_t last = first + len - 1;
    std::string data;
    bool eof = false;
    Response r;
    for (int attempt = 1;; ++attempt) {
      ctx_.check_interrupt();
      data.clear();
      uint64_t pos = 0;  // file offset of the next body byte
      bool known = false;
      BodySink sink = [&](const Response& in, const char* p, size_t n) -> bool {
        if (!known) {
          known = true;
          if (in.status == 206) {
            auto cr = parse_content_range(in.header("content-range"));
            if (!cr || cr->unsatisfied || cr->first > first) return false;
            pos = cr->first;
          } else if (in.status == 200) {
            pos = 0;  // the camera ignored Range: take our piece of the whole
          } else {
            return false;
          }
        }
        const uint64_t end = pos + n;
        if (end > first && pos <= last) {
          const uint64_t a0 = std::max(pos, first), a1 = std::min(end, last + 1);
          data.append(p + (a0 - pos), static_cast<size_t>(a1 - a0));
        }
        pos = end;
        return pos <= last;  // stop an answer longer than the range
      };
      r = http_.exchange("GET", "/files/" + url_path(rel),
                         {"Range: bytes=" + std::to_string(first) + "-" + std::to_string(last)}, sink);
      if (r.status == 416) {  // past the end
        data.clear();
        eof = true;
        break;
      }
      if (r.status == 404) throw IoError(rel + ": no longer on the camera (overwritten by the loop?)");
      const bool ok = !r.transport_failed() && (r.status == 206 || r.status == 200);
      if (ok && data.size() == len) break;
      if (ok && body_complete(r, first, data.size())) {
        eof = true;
        break;
      }
      if (attempt > opts_.retries) throw IoError(rel + ": range read failed: " + status_text(r));
      backoff(attempt, r);
    }
    ctx_.log->trace("{}: bytes {}-{} ({} wanted)", rel, first, first + data.size(), want);
    read_ += data.size();
    cache_bytes_ += data.size();
    cache_.push_front(Extent{rel, first, std::move(data), eof});
    while (cache_bytes_ > kCacheBytes && cache_.size() > 1) {
      cache_bytes_ -= cache_.back().data.size();
      cache_.pop_back();
    }
    return cache_.front();
  }

  // A short answer is complete when the file ends inside it.
  bool body_complete(const Response& r, uint64_t first, size_t have) const {
    uint64_t total = 0;
    if (r.status == 206) {
      auto cr = parse_content_range(r.header("content-range"));
      if (!cr) return false;
      total = cr->total;
    } else {
      total = parse_u64(r.header("content-length")).value_or(0);
    }
    return first + have >= total;
  }

  Http http_;
  Context ctx_;
  CameraClientOptions opts_;
  Rng rng_;
  CameraInfo info_;
  std::optional<CameraListing> listing_;
  std::list<Extent> cache_;  // most recently used first
  uint64_t cache_bytes_ = 0;
  std::recursive_mutex mu_;
  std::atomic<uint64_t> read_{0};
};

}  // namespace

std::unique_ptr<Source> open_camera_source(const std::string& url, const Context& ctx, const CameraClientOptions& o) {
  return std::make_unique<CameraClient>(url, ctx, o);
}

}  // namespace nex
