// The S3 client: path-style requests over one curl easy handle, signed with
// our own SigV4 (never curl's), bodies streamed from disk with pread.
#include <curl/curl.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <mutex>
#include <random>
#include <thread>

#include "nex/fsutil.hpp"
#include "nex/s3.hpp"
#include "nex/sigv4.hpp"
#include "s3/internal.hpp"

namespace nex::s3 {
namespace {

constexpr std::size_t kIoBuffer = 1 << 20;
constexpr std::uint64_t kNoExpectBelow = 1 << 20;  // no "Expect: 100-continue" for small bodies
constexpr std::size_t kMaxAnswer = 32u << 20;       // largest XML answer we accept
constexpr std::size_t kMaxErrorBody = 64u << 10;

std::once_flag g_curl_once;

void curl_init() {
  std::call_once(g_curl_once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = lower(c);
  return out;
}

std::string trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n'))
    s.remove_suffix(1);
  return std::string(s);
}

// Server text in our messages: printable, short.
std::string sanitize(std::string_view s, std::size_t max = 300) {
  std::string out;
  for (char c : s) {
    if (out.size() >= max) {
      out += "...";
      break;
    }
    auto u = static_cast<unsigned char>(c);
    out.push_back(u < 0x20 || u == 0x7f ? ' ' : c);
  }
  return out;
}

// --- Endpoint ----------------------------------------------------------------

struct Endpoint {
  std::string scheme_host;  // "http://127.0.0.1:7480"
  std::string scheme;       // "http://"
  std::string authority;    // "127.0.0.1:7480"
  std::string host_header;  // "127.0.0.1:7480" (default ports dropped)
  std::string host;         // "127.0.0.1" (no port)
  std::string base_path;    // "" or "/prefix"
  bool https = false;
  bool ip_literal = false;  // an IPv4 or [IPv6] address: no virtual-hosted buckets
  bool aws = false;         // *.amazonaws.com
};

bool is_ipv4(std::string_view h) {
  int dots = 0, digits = 0;
  for (char c : h) {
    if (c == '.') {
      if (digits == 0) return false;
      ++dots;
      digits = 0;
    } else if (c >= '0' && c <= '9') {
      if (++digits > 3) return false;
    } else {
      return false;
    }
  }
  return dots == 3 && digits > 0;
}

bool ends_with(std::string_view s, std::string_view tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

Endpoint parse_endpoint(std::string_view url) {
  std::string l = lower(url.substr(0, 8));
  bool https = l.rfind("https://", 0) == 0;
  bool http = l.rfind("http://", 0) == 0;
  if (!https && !http)
    throw UsageError("the S3 endpoint must start with http:// or https://",
                     "set AWS_ENDPOINT_URL (or the endpoint in the config) to e.g. "
                     "https://s3.eu-west-1.amazonaws.com");
  std::string_view rest = url.substr(https ? 8 : 7);
  std::size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  std::string_view path = slash == std::string_view::npos ? std::string_view{} : rest.substr(slash);
  if (authority.find('@') != std::string_view::npos)
    // Do not echo the URL: it carries credentials.
    throw UsageError("the S3 endpoint URL must not contain credentials",
                     "give them in AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY");
  if (authority.empty()) throw UsageError("the S3 endpoint has no host");
  if (path.find_first_of("?#") != std::string_view::npos)
    throw UsageError("the S3 endpoint must not contain a query or fragment");
  while (!path.empty() && path.back() == '/') path.remove_suffix(1);
  Endpoint e;
  e.https = https;
  e.scheme = https ? "https://" : "http://";
  e.authority = std::string(authority);
  e.scheme_host = e.scheme + e.authority;
  if (authority.front() == '[') {
    e.ip_literal = true;
    e.host = std::string(authority.substr(0, authority.find(']') + 1));
  } else {
    e.host = lower(authority.substr(0, authority.find(':')));
    e.ip_literal = is_ipv4(e.host);
  }
  e.aws = ends_with(e.host, ".amazonaws.com") || ends_with(e.host, ".amazonaws.com.cn");
  std::string host(authority);
  std::string_view default_port = https ? ":443" : ":80";
  if (host.size() > default_port.size() &&
      host.compare(host.size() - default_port.size(), default_port.size(), default_port) == 0)
    host.resize(host.size() - default_port.size());
  e.host_header = host;
  e.base_path = std::string(path);
  return e;
}

// --- Bodies ------------------------------------------------------------------

struct OpenSlice {
  int fd = -1;
  std::uint64_t offset = 0;
  std::uint64_t length = 0;
  std::filesystem::path path;
  OpenSlice() = default;
  OpenSlice(const OpenSlice&) = delete;
  OpenSlice& operator=(const OpenSlice&) = delete;
  ~OpenSlice() {
    if (fd >= 0) ::close(fd);
  }
};

void open_slice(const FileSlice& slice, OpenSlice& out) {
  out.path = slice.path;
  out.fd = ::open(slice.path.c_str(), O_RDONLY | O_CLOEXEC);
  if (out.fd < 0)
    throw IoError("cannot open " + slice.path.string() + ": " + errno_text(errno));
  struct stat st {};
  if (::fstat(out.fd, &st) != 0)
    throw IoError("cannot stat " + slice.path.string() + ": " + errno_text(errno));
  auto size = static_cast<std::uint64_t>(st.st_size);
  out.offset = slice.offset;
  out.length = (slice.offset == 0 && slice.length == 0) ? size : slice.length;
  if (out.offset > size || out.length > size - out.offset)
    throw IoError(slice.path.string() + " is shorter than the part to send (" +
                  std::to_string(size) + " bytes, need " + std::to_string(out.offset) + "+" +
                  std::to_string(out.length) + ")");
#ifdef POSIX_FADV_SEQUENTIAL
  ::posix_fadvise(out.fd, static_cast<off_t>(out.offset), static_cast<off_t>(out.length),
                  POSIX_FADV_SEQUENTIAL);
#endif
}

struct Hashers {
  EVP_MD_CTX* sha = nullptr;
  EVP_MD_CTX* md5 = nullptr;
  Hashers(bool with_md5, bool with_sha) {
    if (with_sha) {
      sha = EVP_MD_CTX_new();
      if (!sha || EVP_DigestInit_ex(sha, EVP_sha256(), nullptr) != 1)
        throw std::runtime_error("SHA-256 unavailable");
    }
    if (with_md5) {
      md5 = EVP_MD_CTX_new();
      if (!md5 || EVP_DigestInit_ex(md5, EVP_md5(), nullptr) != 1)
        throw std::runtime_error("MD5 unavailable");
    }
  }
  ~Hashers() {
    EVP_MD_CTX_free(sha);
    EVP_MD_CTX_free(md5);
  }
  void update(const void* p, std::size_t n) {
    if (sha) EVP_DigestUpdate(sha, p, n);
    if (md5) EVP_DigestUpdate(md5, p, n);
  }
  Digests finish() {
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    Digests d;
    if (sha) {
      EVP_DigestFinal_ex(sha, out, &len);
      d.sha256_hex = sigv4::hex(out, len);
    }
    if (md5) {
      EVP_DigestFinal_ex(md5, out, &len);
      d.md5_base64 = detail::base64(out, len);
    }
    return d;
  }
};

Digests digest_open(const OpenSlice& f, bool with_md5, bool with_sha) {
  Hashers h(with_md5, with_sha);
  std::vector<char> buf(kIoBuffer);
  std::uint64_t done = 0;
  while (done < f.length) {
    std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), f.length - done));
    ssize_t r = ::pread(f.fd, buf.data(), want, static_cast<off_t>(f.offset + done));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) throw IoError("cannot read " + f.path.string() + ": " + errno_text(errno));
    if (r == 0) throw IoError(f.path.string() + " shrank while it was being read");
    h.update(buf.data(), static_cast<std::size_t>(r));
    done += static_cast<std::uint64_t>(r);
  }
  return h.finish();
}

// What curl reads the request body from.
struct Source {
  const char* mem = nullptr;
  int fd = -1;
  std::uint64_t offset = 0;
  std::uint64_t size = 0;
  std::uint64_t pos = 0;
  int read_errno = 0;
  bool shrank = false;
  std::filesystem::path path;
};

size_t read_cb(char* buf, size_t size, size_t n, void* ud) {
  auto* s = static_cast<Source*>(ud);
  std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(size * n, s->size - s->pos));
  if (want == 0) return 0;
  if (s->mem) {
    std::memcpy(buf, s->mem + s->pos, want);
  } else {
    ssize_t r;
    do {
      r = ::pread(s->fd, buf, want, static_cast<off_t>(s->offset + s->pos));
    } while (r < 0 && errno == EINTR);
    if (r < 0) {
      s->read_errno = errno;
      return CURL_READFUNC_ABORT;
    }
    if (r == 0) {
      s->shrank = true;
      return CURL_READFUNC_ABORT;
    }
    want = static_cast<std::size_t>(r);
  }
  s->pos += want;
  return want;
}

int seek_cb(void* ud, curl_off_t off, int origin) {
  auto* s = static_cast<Source*>(ud);
  if (origin != SEEK_SET || off < 0 || static_cast<std::uint64_t>(off) > s->size)
    return CURL_SEEKFUNC_CANTSEEK;
  s->pos = static_cast<std::uint64_t>(off);
  return CURL_SEEKFUNC_OK;
}

// --- Answers -----------------------------------------------------------------

struct Response {
  long status = 0;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // lower-case names
  std::uint64_t written = 0;  // body bytes written to the output file
  bool headers_done = false;  // the blank line that ends the headers arrived

  std::string header(std::string_view lname) const {
    for (const auto& [k, v] : headers)
      if (k == lname) return v;
    return {};
  }
};

struct Sink {
  CURL* curl = nullptr;
  Response* resp = nullptr;
  int fd = -1;  // 2xx bodies go here when set
  std::uint64_t file_offset = 0;
  std::size_t cap = kMaxAnswer;
  bool overflow = false;
  int write_errno = 0;
};

size_t write_cb(char* p, size_t size, size_t n, void* ud) {
  auto* s = static_cast<Sink*>(ud);
  std::size_t len = size * n;
  long code = 0;
  curl_easy_getinfo(s->curl, CURLINFO_RESPONSE_CODE, &code);
  if (s->fd >= 0 && code >= 200 && code < 300) {
    std::size_t done = 0;
    while (done < len) {
      ssize_t w = ::pwrite(s->fd, p + done, len - done,
                           static_cast<off_t>(s->file_offset + s->resp->written + done));
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) {
        s->write_errno = w < 0 ? errno : EIO;
        return 0;
      }
      done += static_cast<std::size_t>(w);
    }
    s->resp->written += len;
    return len;
  }
  std::size_t cap = (code >= 200 && code < 300) ? s->cap : kMaxErrorBody;
  if (s->resp->body.size() + len > cap) {
    if (code >= 300) return len;  // an error body: keep the start, drop the rest
    s->overflow = true;
    return 0;
  }
  s->resp->body.append(p, len);
  return len;
}

size_t header_cb(char* p, size_t size, size_t n, void* ud) {
  auto* r = static_cast<Response*>(ud);
  std::string_view line(p, size * n);
  if (line.rfind("HTTP/", 0) == 0) {
    r->headers.clear();  // a new answer (after "100 Continue" or a retry)
    r->headers_done = false;
    return size * n;
  }
  if (line == "\r\n" || line == "\n") r->headers_done = true;
  std::size_t colon = line.find(':');
  if (colon != std::string_view::npos && colon > 0)
    r->headers.emplace_back(lower(trim(line.substr(0, colon))), trim(line.substr(colon + 1)));
  return size * n;
}

struct Progress {
  const std::function<bool(std::uint64_t)>* fn = nullptr;
  bool stopped = false;
};

int xferinfo_cb(void* ud, curl_off_t, curl_off_t dlnow, curl_off_t, curl_off_t ulnow) {
  auto* pr = static_cast<Progress*>(ud);
  if (!(*pr->fn)(static_cast<std::uint64_t>(dlnow + ulnow))) {
    pr->stopped = true;
    return 1;
  }
  return 0;
}

bool transient_curl_error(CURLcode rc) {
  switch (rc) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_WEIRD_SERVER_REPLY:
      return true;
    default:
      return false;
  }
}

// Seconds the local clock is ahead of the server's (from its Date header).
std::optional<long long> clock_offset(const Response& r) {
  std::string date = r.header("date");
  if (date.empty()) return std::nullopt;
  std::tm tm{};
  const char* end = ::strptime(date.c_str(), "%a, %d %b %Y %H:%M:%S", &tm);
  if (!end) return std::nullopt;
  std::time_t server = ::timegm(&tm);
  return static_cast<long long>(std::time(nullptr) - server);
}

void check_storage_class(const std::string& sc) {
  if (!sc.empty() && !valid_storage_class(sc))
    throw UsageError("bad S3 storage class '" + sanitize(sc, 64) + "'", "upper-case letters, digits, '_' or '-' (STANDARD_IA)");
}

void check_metadata(const Metadata& meta) {
  for (const auto& [name, value] : meta) {
    bool ok = !name.empty();
    for (char c : name)
      ok = ok && ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_');
    if (!ok)
      throw InputError("S3 metadata name '" + sanitize(name, 64) +
                       "' must be lower-case letters, digits, '-' or '_'");
    for (char c : value)
      if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) > 0x7e)
        throw InputError("S3 metadata value of '" + name + "' must be printable ASCII");
  }
}

}  // namespace

// --- Public helpers ------------------------------------------------------------

namespace detail {
std::string base64(const unsigned char* data, std::size_t size) {
  std::string out(4 * ((size + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), data,
                          static_cast<int>(size));
  out.resize(static_cast<std::size_t>(n));
  return out;
}
}  // namespace detail

std::optional<Addressing> parse_addressing(std::string_view s) {
  std::string l = lower(s);
  if (l == "auto") return Addressing::Auto;
  if (l == "virtual") return Addressing::Virtual;
  if (l == "path") return Addressing::Path;
  return std::nullopt;
}

const char* to_string(Addressing a) noexcept {
  switch (a) {
    case Addressing::Auto: return "auto";
    case Addressing::Virtual: return "virtual";
    case Addressing::Path: return "path";
  }
  return "?";
}

bool valid_storage_class(std::string_view s) noexcept {
  if (s.empty() || s.size() > 64) return false;
  for (char c : s)
    if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-')) return false;
  return true;
}

bool dns_compatible_bucket(std::string_view b) noexcept {
  if (b.size() < 3 || b.size() > 63) return false;
  auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (!alnum(b.front()) || !alnum(b.back())) return false;
  for (std::size_t i = 0; i < b.size(); ++i) {
    char c = b[i];
    if (!alnum(c) && c != '-' && c != '.') return false;
    if (c == '.' && i + 1 < b.size() && (b[i + 1] == '.' || b[i + 1] == '-')) return false;
    if (c == '-' && i + 1 < b.size() && b[i + 1] == '.') return false;
  }
  return !is_ipv4(b);
}

bool is_aws_endpoint(std::string_view url) noexcept {
  try {
    return parse_endpoint(url).aws;
  } catch (...) {
    return false;
  }
}

bool Error::retryable() const noexcept {
  return kind_ == ErrorKind::Network || kind_ == ErrorKind::Throttled ||
         kind_ == ErrorKind::Server;
}

const char* to_string(ErrorKind kind) noexcept {
  switch (kind) {
    case ErrorKind::AccessDenied: return "access denied";
    case ErrorKind::ClockSkew: return "clock skew";
    case ErrorKind::NoSuchBucket: return "no such bucket";
    case ErrorKind::NotFound: return "not found";
    case ErrorKind::NoSuchUpload: return "no such upload";
    case ErrorKind::Integrity: return "integrity";
    case ErrorKind::InvalidRange: return "invalid range";
    case ErrorKind::Rejected: return "rejected";
    case ErrorKind::Throttled: return "throttled";
    case ErrorKind::Server: return "server error";
    case ErrorKind::Network: return "network";
    case ErrorKind::Protocol: return "protocol";
  }
  return "?";
}

Digests digest_file(const FileSlice& slice, bool with_md5, bool with_sha) {
  OpenSlice f;
  open_slice(slice, f);
  return digest_open(f, with_md5, with_sha);
}

Digests digest_memory(std::string_view data, bool with_md5, bool with_sha) {
  Hashers h(with_md5, with_sha);
  h.update(data.data(), data.size());
  return h.finish();
}

Config Config::from_env() {
  auto get = [](const char* name) {
    const char* v = std::getenv(name);
    return std::string(v ? v : "");
  };
  Config c;
  c.endpoint = get("AWS_ENDPOINT_URL");
  c.access_key = get("AWS_ACCESS_KEY_ID");
  c.secret_key = get("AWS_SECRET_ACCESS_KEY");
  c.session_token = get("AWS_SESSION_TOKEN");
  c.ca_bundle = get("AWS_CA_BUNDLE");
  std::string region = get("AWS_REGION");
  if (region.empty()) region = get("AWS_DEFAULT_REGION");
  if (!region.empty()) c.region = region;
  if (c.endpoint.empty()) throw UsageError("AWS_ENDPOINT_URL is not set");
  if (c.access_key.empty()) throw UsageError("AWS_ACCESS_KEY_ID is not set");
  if (c.secret_key.empty()) throw UsageError("AWS_SECRET_ACCESS_KEY is not set");
  return c;
}

// --- The client ------------------------------------------------------------------

struct Call {
  const char* op = "";
  std::string method = "GET";
  std::string_view bucket;
  std::string_view key;  // empty: a bucket-level request
  sigv4::Params query;
  sigv4::Params headers;  // signed and sent, besides host / x-amz-*
  Source* source = nullptr;
  std::string payload_hash{sigv4::kEmptySha256};
  bool head = false;
  int out_fd = -1;  // GET into a file
  std::uint64_t out_offset = 0;
};

struct Client::Impl {
  Config cfg;
  Endpoint ep;
  CURL* curl = nullptr;
  std::mt19937_64 rng{std::random_device{}()};
  char errbuf[CURL_ERROR_SIZE] = {};

  spdlog::logger* logger() const {
    return cfg.log ? cfg.log.get() : spdlog::default_logger_raw();
  }

  // Virtual-hosted for this bucket? Throws UsageError when virtual is asked
  // for and the bucket name or the endpoint cannot carry it.
  bool virtual_host(std::string_view bucket) const {
    if (bucket.empty() || cfg.addressing == Addressing::Path) return false;
    const bool dns = dns_compatible_bucket(bucket);
    const bool dotted = bucket.find('.') != std::string_view::npos;
    if (cfg.addressing == Addressing::Auto) return ep.aws && dns && !dotted;
    if (!dns || (dotted && ep.https))
      throw UsageError("bucket name '" + sanitize(bucket, 80) + "' cannot be used with virtual-hosted addressing" +
                           (dns ? " over https (its dots do not match the server's certificate)" : ""),
                       "use addressing_style = path (or auto) for this bucket");
    return true;
  }

  std::string target(const Call& c) const {
    std::string t = "s3://" + std::string(c.bucket);
    if (!c.key.empty()) t += "/" + std::string(c.key);
    return t;
  }

  // One HTTP exchange. Throws on transport failures only.
  Response exchange(const Call& c) {
    Response resp;
    exchange(c, resp);
    return resp;
  }

  // The same; resp keeps what arrived (headers, bytes written) even when it throws.
  void exchange(const Call& c, Response& resp) {
    curl_easy_reset(curl);
    resp = Response{};
    // Virtual-hosted: the bucket is the first label of the host name and the
    // path starts at the key; path-style: the bucket is the first segment.
    const bool vh = virtual_host(c.bucket);
    std::string path = ep.base_path + (vh ? "" : "/" + std::string(c.bucket));
    if (!c.key.empty() || vh) path += "/" + std::string(c.key);
    const std::string host_header = vh ? std::string(c.bucket) + "." + ep.host_header : ep.host_header;
    const std::string scheme_host = vh ? ep.scheme + std::string(c.bucket) + "." + ep.authority : ep.scheme_host;
    std::string query = sigv4::canonical_query(c.query);
    std::string url = scheme_host + sigv4::canonical_uri(path);
    if (!query.empty()) url += "?" + query;

    sigv4::Request req;
    req.method = c.method;
    req.path = path;
    req.query = c.query;
    req.payload_hash = c.payload_hash;
    std::string amz = sigv4::amz_date(std::chrono::system_clock::now());
    req.headers = {{"Host", host_header},
                   {"x-amz-date", amz},
                   {"x-amz-content-sha256", c.payload_hash}};
    if (!cfg.session_token.empty()) req.headers.emplace_back("x-amz-security-token", cfg.session_token);
    for (const auto& h : c.headers) req.headers.push_back(h);
    sigv4::Signed sig =
        sigv4::sign(req, cfg.access_key, cfg.secret_key, amz, cfg.region, "s3");

    curl_slist* list = nullptr;
    auto add = [&](const std::string& name, const std::string& value) {
      std::string line = value.empty() ? name + ";" : name + ": " + value;
      curl_slist* l = curl_slist_append(list, line.c_str());
      if (!l) throw std::bad_alloc();
      list = l;
    };
    struct ListGuard {
      curl_slist** l;
      ~ListGuard() { curl_slist_free_all(*l); }
    } guard{&list};
    for (const auto& [k, v] : req.headers) add(k, v);
    add("Authorization", sig.authorization);
    std::uint64_t body_size = c.source ? c.source->size : 0;
    if (body_size < kNoExpectBelow) {
      // "Expect:" (no value) stops curl from waiting for "100 Continue".
      curl_slist* l = curl_slist_append(list, "Expect:");
      if (!l) throw std::bad_alloc();
      list = l;
    }

    Sink sink;
    sink.curl = curl;
    sink.resp = &resp;
    sink.fd = c.out_fd;
    sink.file_offset = c.out_offset;
    Progress prog;

    errbuf[0] = '\0';
    curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
    curl_easy_setopt(curl, CURLOPT_PATH_AS_IS, 1L);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, list);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, write_cb);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &sink);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, header_cb);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, &resp);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(cfg.connect_timeout.count()));
    curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, static_cast<long>(cfg.stall_timeout.count()));
    curl_easy_setopt(curl, CURLOPT_BUFFERSIZE, 512L * 1024);
    curl_easy_setopt(curl, CURLOPT_UPLOAD_BUFFERSIZE, 1024L * 1024);
    curl_easy_setopt(curl, CURLOPT_TCP_KEEPALIVE, 1L);
    // TLS: the peer's certificate and name are always verified.
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 2L);
    if (!cfg.ca_bundle.empty()) curl_easy_setopt(curl, CURLOPT_CAINFO, cfg.ca_bundle.c_str());
    if (cfg.max_send_rate)
      curl_easy_setopt(curl, CURLOPT_MAX_SEND_SPEED_LARGE,
                       static_cast<curl_off_t>(cfg.max_send_rate));
    if (cfg.progress) {
      prog.fn = &cfg.progress;
      curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
      curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, xferinfo_cb);
      curl_easy_setopt(curl, CURLOPT_XFERINFODATA, &prog);
    }
    if (c.head) {
      curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
    } else if (c.source) {
      c.source->pos = 0;
      c.source->read_errno = 0;
      c.source->shrank = false;
      curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
      curl_easy_setopt(curl, CURLOPT_READFUNCTION, read_cb);
      curl_easy_setopt(curl, CURLOPT_READDATA, c.source);
      curl_easy_setopt(curl, CURLOPT_SEEKFUNCTION, seek_cb);
      curl_easy_setopt(curl, CURLOPT_SEEKDATA, c.source);
      curl_easy_setopt(curl, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(c.source->size));
      if (c.method != "PUT") curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, c.method.c_str());
    } else if (c.method != "GET") {
      curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, c.method.c_str());
    }

    CURLcode rc = curl_easy_perform(curl);
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &resp.status);
    if (rc == CURLE_OK && !resp.headers_done)
      // curl accepts an answer whose connection closed inside the headers
      // (a HEAD would then lack x-amz-meta-*): a transport failure, retried.
      throw Error(ErrorKind::Network, 0, "", std::string(c.op) + " " + target(c) + ": " +
                                                 ep.scheme_host + ": the answer ended inside its headers");
    if (rc == CURLE_OK) {
      logger()->debug("s3: {} {}{} -> {}", c.method, target(c), vh ? " (" + host_header + ")" : std::string(),
                      resp.status);
      return;
    }
    if (prog.stopped) throw Interrupted();
    if (c.source && (c.source->read_errno || c.source->shrank))
      throw IoError("cannot read " + c.source->path.string() + ": " +
                    (c.source->shrank ? std::string("the file shrank during the upload")
                                      : errno_text(c.source->read_errno)));
    if (sink.write_errno) throw IoError("cannot write the download: " + errno_text(sink.write_errno));
    if (sink.overflow)
      throw Error(ErrorKind::Protocol, resp.status, "",
                  std::string(c.op) + " " + target(c) + ": the answer is larger than " +
                      std::to_string(kMaxAnswer >> 20) + " MiB");
    std::string detail = errbuf[0] ? std::string(errbuf) : curl_easy_strerror(rc);
    throw Error(transient_curl_error(rc) ? ErrorKind::Network : ErrorKind::Protocol, 0,
                curl_easy_strerror(rc),
                std::string(c.op) + " " + target(c) + ": " + ep.scheme_host + ": " +
                    sanitize(detail),
                rc == CURLE_COULDNT_CONNECT ? "is the S3 server running and the endpoint right?"
                : rc == CURLE_PEER_FAILED_VERIFICATION
                    ? "the server's TLS certificate is not trusted; if it is signed by a private CA, "
                      "give that CA's PEM file in AWS_CA_BUNDLE"
                    : "");
  }

  Error error_from(const Response& r, const Call& c) const {
    ErrorDocument doc = parse_error(r.body);
    std::string code = doc.code.empty() ? r.header("x-amz-error-code") : doc.code;
    ErrorKind kind = detail::classify(r.status, code);
    if (kind == ErrorKind::NotFound && c.key.empty()) kind = ErrorKind::NoSuchBucket;
    // A HEAD carries no error document: a 403 with the server's clock more
    // than 15 minutes away from ours is most likely RequestTimeTooSkewed.
    if (kind == ErrorKind::AccessDenied && code.empty()) {
      auto off = clock_offset(r);
      if (off && std::llabs(*off) > 900) kind = ErrorKind::ClockSkew;
    }
    std::string where = std::string(c.op) + " " + target(c) + ": ";
    std::string tag = " (HTTP " + std::to_string(r.status) + (code.empty() ? "" : " " + code) + ")";
    std::string msg = doc.message.empty() ? "" : ": " + sanitize(doc.message);
    switch (kind) {
      case ErrorKind::AccessDenied:
        if (code == "SignatureDoesNotMatch")
          return Error(kind, r.status, code,
                       where + "access denied: the server computed a different signature" + tag,
                       "check AWS_SECRET_ACCESS_KEY (the secret of AWS_ACCESS_KEY_ID)");
        if (code == "InvalidAccessKeyId")
          return Error(kind, r.status, code,
                       where + "access denied: the server does not know this access key" + tag,
                       "check AWS_ACCESS_KEY_ID");
        if (code.empty())
          return Error(kind, r.status, code, where + "access denied" + tag,
                       "check AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY and the permissions "
                       "on the bucket");
        return Error(kind, r.status, code, where + "access denied" + msg + tag,
                     "the credentials were accepted but may not do this; check the user's "
                     "permissions and the bucket policy");
      case ErrorKind::ClockSkew: {
        std::string skew;
        if (auto off = clock_offset(r))
          skew = ": this computer's clock is " + std::to_string(std::llabs(*off)) + " s " +
                 (*off >= 0 ? "ahead of" : "behind") + " the server's";
        return Error(kind, r.status, code,
                     where + "the server refused the request time" + skew + tag,
                     "set the system clock (e.g. enable NTP: timedatectl set-ntp true); S3 "
                     "allows 15 minutes of difference");
      }
      case ErrorKind::NoSuchBucket:
        return Error(kind, r.status, code,
                     std::string(c.op) + ": bucket '" + std::string(c.bucket) +
                         "' does not exist at " + ep.scheme_host + tag,
                     "create the bucket first, or check its name (NEX_S3_BUCKET / the config)");
      case ErrorKind::NotFound:
        return Error(kind, r.status, code, where + "no such key" + tag);
      case ErrorKind::NoSuchUpload:
        return Error(kind, r.status, code,
                     where + "the multipart upload no longer exists" + tag,
                     "it was completed or aborted; start a new upload");
      case ErrorKind::Integrity:
        return Error(kind, r.status, code,
                     where + "the server received other bytes than were hashed" + msg + tag,
                     "did the file change while it was being uploaded?");
      default:
        return Error(kind, r.status, code,
                     where + (code.empty() ? "request failed" : code) + msg + tag);
    }
  }

  std::chrono::milliseconds backoff(int attempt) {
    double cap = static_cast<double>(cfg.retry_base.count()) * std::ldexp(1.0, attempt - 1);
    cap = std::min(cap, static_cast<double>(cfg.retry_max.count()));
    // "Equal jitter": half fixed, half random.
    std::uniform_real_distribution<double> d(cap / 2, cap);
    return std::chrono::milliseconds(static_cast<long long>(d(rng)));
  }

  void wait_before_retry(const Call& c, const Error& e, int attempt) {
    auto delay = backoff(attempt);
    (void)c;  // e.what() already names the operation and the object
    logger()->warn("s3: {}; retrying in {:.1f} s (attempt {} of {})", e.what(),
                   static_cast<double>(delay.count()) / 1000.0, attempt + 1, cfg.max_attempts);
    // Sleep in slices, asking the progress callback whether to go on, so that
    // Ctrl-C ends a back-off at once rather than after up to retry_max.
    const auto until = std::chrono::steady_clock::now() + delay;
    for (auto now = std::chrono::steady_clock::now(); now < until; now = std::chrono::steady_clock::now()) {
      if (cfg.progress && !cfg.progress(0)) throw Interrupted();
      std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(until - now, std::chrono::milliseconds(50)));
    }
  }

  // Retries transient failures; returns a 2xx answer or throws.
  Response perform(const Call& c, int* attempts_used = nullptr) {
    int max = std::max(1, cfg.max_attempts);
    for (int attempt = 1;; ++attempt) {
      if (attempts_used) *attempts_used = attempt;
      std::optional<Error> err;
      try {
        Response r = exchange(c);
        if (r.status >= 200 && r.status < 300) return r;
        err.emplace(error_from(r, c));
      } catch (const Error& e) {
        err.emplace(e);
      }
      // A body the server got damaged (BadDigest, XAmzContentSHA256Mismatch)
      // is sent once more; a second mismatch means the file itself changes.
      const bool resend = err->kind() == ErrorKind::Integrity && err->http_status() > 0 && attempt == 1;
      if ((!err->retryable() && !resend) || attempt >= max) throw *err;
      wait_before_retry(c, *err, attempt);
    }
  }

  ObjectInfo info_from_headers(const Response& r, std::string_view key) const {
    ObjectInfo o;
    o.key = std::string(key);
    o.etag = detail::unquote(r.header("etag"));
    o.last_modified = r.header("last-modified");
    o.content_type = r.header("content-type");
    std::string range = r.header("content-range");  // "bytes 5-9/10"
    std::size_t slash = range.rfind('/');
    if (slash != std::string::npos) {
      if (auto total = detail::parse_u64(range.substr(slash + 1))) o.size = *total;
    } else if (auto len = detail::parse_u64(r.header("content-length"))) {
      o.size = *len;
    }
    for (const auto& [k, v] : r.headers)
      if (k.rfind("x-amz-meta-", 0) == 0) o.metadata[k.substr(11)] = v;
    o.storage_class = r.header("x-amz-storage-class");
    return o;
  }

  void check_names(std::string_view bucket, std::string_view key, bool need_key) const {
    if (bucket.empty() || bucket.find('/') != std::string_view::npos)
      throw UsageError("bad S3 bucket name '" + sanitize(bucket, 80) + "'");
    if (need_key && key.empty()) throw UsageError("empty S3 object key");
    if (key.size() > 1024) throw UsageError("S3 object key longer than 1024 bytes");
  }

  // What vouches for an upload's body. With Content-MD5 the server checks
  // the MD5 (signed as a header) and the payload goes as UNSIGNED-PAYLOAD:
  // each byte is hashed once for the request, not twice. Without it the
  // payload's SHA-256 is signed and the server checks that.
  void body_digests(Call& c, const Digests& d) const {
    if (cfg.content_md5 && !d.md5_base64.empty()) {
      c.headers.emplace_back("Content-MD5", d.md5_base64);
      c.payload_hash = "UNSIGNED-PAYLOAD";
    } else if (!d.sha256_hex.empty()) {
      c.payload_hash = d.sha256_hex;
    } else {
      throw std::logic_error("an upload without a digest of its body");
    }
  }

  std::string part(std::string_view bucket, std::string_view key, std::string_view upload_id, int part_number,
                   Source& src, const Digests& d) {
    std::string op = "UPLOAD part " + std::to_string(part_number);
    Call c;
    c.op = op.c_str();
    c.method = "PUT";
    c.bucket = bucket;
    c.key = key;
    c.query = {{"partNumber", std::to_string(part_number)}, {"uploadId", std::string(upload_id)}};
    c.source = &src;
    body_digests(c, d);
    Response r = perform(c);
    std::string etag = detail::unquote(r.header("etag"));
    if (etag.empty())
      throw Error(ErrorKind::Protocol, r.status, "",
                  op + " " + target(c) + ": the answer carries no ETag");
    return etag;
  }

  std::string put(std::string_view bucket, std::string_view key, Source& src,
                  const Digests& d, const PutOptions& o) {
    check_names(bucket, key, true);
    check_metadata(o.metadata);
    check_storage_class(o.storage_class);
    Call c;
    c.op = "PUT object";
    c.method = "PUT";
    c.bucket = bucket;
    c.key = key;
    c.source = &src;
    body_digests(c, d);
    if (!o.content_type.empty()) c.headers.emplace_back("Content-Type", o.content_type);
    if (!o.storage_class.empty()) c.headers.emplace_back("x-amz-storage-class", o.storage_class);
    for (const auto& [k, v] : o.metadata) c.headers.emplace_back("x-amz-meta-" + k, v);
    Response r = perform(c);
    return detail::unquote(r.header("etag"));
  }
};

Client::Client(Config config) : impl_(std::make_unique<Impl>()) {
  curl_init();
  impl_->ep = parse_endpoint(config.endpoint);
  if (config.addressing == Addressing::Virtual && impl_->ep.ip_literal)
    throw UsageError("virtual-hosted addressing needs a host name in the endpoint, not an IP address",
                     "use addressing_style = path, or a name (e.g. http://localhost:7480)");
  impl_->cfg = std::move(config);
  impl_->curl = curl_easy_init();
  if (!impl_->curl) throw IoError("cannot initialise libcurl");
}

Client::~Client() {
  if (impl_ && impl_->curl) curl_easy_cleanup(impl_->curl);
}

Client::Client(Client&&) noexcept = default;
Client& Client::operator=(Client&& other) noexcept {
  if (this != &other) {
    if (impl_ && impl_->curl) curl_easy_cleanup(impl_->curl);
    impl_ = std::move(other.impl_);
  }
  return *this;
}

const std::string& Client::endpoint() const noexcept { return impl_->ep.scheme_host; }

std::string Client::presign_get(std::string_view bucket, std::string_view key, std::chrono::seconds expires,
                                std::chrono::system_clock::time_point now) const {
  impl_->check_names(bucket, key, true);
  if (expires.count() < 1 || expires.count() > sigv4::kMaxPresignSeconds)
    throw UsageError("a link expires after 1 second to 7 days (S3's limit)");
  // The addressing every other request of this client uses (exchange()).
  const Endpoint& ep = impl_->ep;
  const bool vh = impl_->virtual_host(bucket);
  const std::string path = ep.base_path + (vh ? "" : "/" + std::string(bucket)) + "/" + std::string(key);
  sigv4::Request req;
  req.method = "GET";
  req.path = path;
  req.headers = {{"Host", vh ? std::string(bucket) + "." + ep.host_header : ep.host_header}};
  req.payload_hash = std::string(sigv4::kUnsignedPayload);
  const sigv4::Presigned p = sigv4::presign(req, impl_->cfg.access_key, impl_->cfg.secret_key, sigv4::amz_date(now),
                                            impl_->cfg.region, "s3", expires.count(), impl_->cfg.session_token);
  return (vh ? ep.scheme + std::string(bucket) + "." + ep.authority : ep.scheme_host) + sigv4::canonical_uri(path) +
         "?" + p.query;
}

void Client::head_bucket(std::string_view bucket) {
  impl_->check_names(bucket, {}, false);
  Call c;
  c.op = "HEAD bucket";
  c.method = "HEAD";
  c.head = true;
  c.bucket = bucket;
  impl_->perform(c);
}

std::string Client::put_object(std::string_view bucket, std::string_view key,
                               const FileSlice& body, const PutOptions& options) {
  OpenSlice f;
  open_slice(body, f);
  Digests d = options.digests ? *options.digests : digest_open(f, impl_->cfg.content_md5, !impl_->cfg.content_md5);
  Source src;
  src.fd = f.fd;
  src.offset = f.offset;
  src.size = f.length;
  src.path = f.path;
  return impl_->put(bucket, key, src, d, options);
}

std::string Client::put_object(std::string_view bucket, std::string_view key,
                               std::string_view data, const PutOptions& options) {
  Digests d = options.digests ? *options.digests : digest_memory(data, impl_->cfg.content_md5);
  Source src;
  src.mem = data.data();
  src.size = data.size();
  return impl_->put(bucket, key, src, d, options);
}

std::optional<ObjectInfo> Client::head_object(std::string_view bucket, std::string_view key) {
  impl_->check_names(bucket, key, true);
  Call c;
  c.op = "HEAD object";
  c.method = "HEAD";
  c.head = true;
  c.bucket = bucket;
  c.key = key;
  try {
    return impl_->info_from_headers(impl_->perform(c), key);
  } catch (const Error& e) {
    if (e.kind() == ErrorKind::NotFound) return std::nullopt;
    throw;
  }
}

ObjectInfo Client::get_object(std::string_view bucket, std::string_view key,
                              const std::filesystem::path& dest, std::uint64_t start) {
  impl_->check_names(bucket, key, true);
  int fd = ::open(dest.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) throw IoError("cannot open " + dest.string() + ": " + errno_text(errno));
  struct FdGuard {
    int fd;
    ~FdGuard() { ::close(fd); }
  } guard{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0) throw IoError("cannot stat " + dest.string() + ": " + errno_text(errno));
  if (start > static_cast<std::uint64_t>(st.st_size))
    throw InputError("cannot resume " + dest.string() + " at byte " + std::to_string(start) +
                     ": the file has only " + std::to_string(st.st_size));
  if (::ftruncate(fd, static_cast<off_t>(start)) != 0)
    throw IoError("cannot truncate " + dest.string() + ": " + errno_text(errno));

  std::uint64_t pos = start;  // bytes of the object already in dest
  std::string etag;           // pins a resumed transfer to one version
  bool restarted = false;
  int max = std::max(1, impl_->cfg.max_attempts);
  for (int attempt = 1;; ++attempt) {
    Call c;
    c.op = "GET object";
    c.bucket = bucket;
    c.key = key;
    c.out_fd = fd;
    c.out_offset = pos;
    if (pos > 0) c.headers.emplace_back("Range", "bytes=" + std::to_string(pos) + "-");
    if (!etag.empty()) c.headers.emplace_back("If-Match", "\"" + etag + "\"");
    std::optional<Error> err;
    Response r;
    try {
      impl_->exchange(c, r);
    } catch (const Error& e) {
      err.emplace(e);
    }
    if (!err) {
      if (r.status == 200 && pos > 0) {
        // The server ignored the Range and sent the whole object, which now
        // sits at the wrong offset. Start over from byte 0 (once).
        if (::ftruncate(fd, 0) != 0)
          throw IoError("cannot truncate " + dest.string() + ": " + errno_text(errno));
        if (restarted)
          throw Error(ErrorKind::Protocol, r.status, "",
                      "GET object " + impl_->target(c) + ": the server ignores Range requests");
        restarted = true;
        pos = 0;
        etag.clear();
        --attempt;
        continue;
      }
      if (r.status == 200 || r.status == 206) {
        ObjectInfo info = impl_->info_from_headers(r, key);
        std::uint64_t end = pos + r.written;
        if (end != info.size)
          throw Error(ErrorKind::Protocol, r.status, "",
                      "GET object s3://" + std::string(bucket) + "/" + std::string(key) +
                          ": got " + std::to_string(end) + " bytes of " +
                          std::to_string(info.size));
        if (::ftruncate(fd, static_cast<off_t>(end)) != 0)
          throw IoError("cannot truncate " + dest.string() + ": " + errno_text(errno));
        return info;
      }
      if (r.status == 416 && pos > 0) {
        // Nothing left to fetch? Then dest is already complete.
        auto info = head_object(bucket, key);
        if (info && info->size == pos) return *info;
      }
      err.emplace(impl_->error_from(r, c));
    }
    // Keep what arrived: the next attempt continues after it, same version.
    if (r.written > 0) {
      pos += r.written;
      std::string e = detail::unquote(r.header("etag"));
      if (!e.empty()) etag = e;
    }
    if (!err->retryable() || attempt >= max) throw *err;
    impl_->wait_before_retry(c, *err, attempt);
  }
}

void Client::delete_object(std::string_view bucket, std::string_view key) {
  impl_->check_names(bucket, key, true);
  Call c;
  c.op = "DELETE object";
  c.method = "DELETE";
  c.bucket = bucket;
  c.key = key;
  impl_->perform(c);
}

ListPage Client::list_objects_v2(std::string_view bucket, std::string_view prefix,
                                 std::string_view continuation_token, int max_keys,
                                 std::string_view delimiter) {
  impl_->check_names(bucket, {}, false);
  Call c;
  c.op = "LIST objects";
  c.bucket = bucket;
  c.query = {{"list-type", "2"}, {"max-keys", std::to_string(std::clamp(max_keys, 1, 1000))}};
  if (!prefix.empty()) c.query.emplace_back("prefix", std::string(prefix));
  if (!continuation_token.empty())
    c.query.emplace_back("continuation-token", std::string(continuation_token));
  if (!delimiter.empty()) c.query.emplace_back("delimiter", std::string(delimiter));
  return parse_list_objects_v2(impl_->perform(c).body);
}

std::vector<ObjectInfo> Client::list_all(std::string_view bucket, std::string_view prefix) {
  std::vector<ObjectInfo> all;
  std::string token;
  for (;;) {
    ListPage page = list_objects_v2(bucket, prefix, token);
    for (auto& o : page.objects) all.push_back(std::move(o));
    if (!page.truncated) return all;
    if (page.next_token == token)
      throw InputError("the S3 listing does not advance (same continuation token twice)");
    token = page.next_token;
  }
}

std::string Client::create_multipart_upload(std::string_view bucket, std::string_view key,
                                            const PutOptions& options) {
  impl_->check_names(bucket, key, true);
  check_metadata(options.metadata);
  check_storage_class(options.storage_class);
  Call c;
  c.op = "CREATE multipart upload";
  c.method = "POST";
  c.bucket = bucket;
  c.key = key;
  c.query = {{"uploads", ""}};
  if (!options.content_type.empty()) c.headers.emplace_back("Content-Type", options.content_type);
  if (!options.storage_class.empty()) c.headers.emplace_back("x-amz-storage-class", options.storage_class);
  for (const auto& [k, v] : options.metadata) c.headers.emplace_back("x-amz-meta-" + k, v);
  Source empty;
  c.source = &empty;
  return parse_initiate_multipart_upload(impl_->perform(c).body);
}

namespace {
void check_part(std::string_view upload_id, int part_number) {
  // An empty uploadId turns the request into a plain PUT of the whole key.
  if (upload_id.empty()) throw UsageError("upload_part: empty multipart upload id");
  if (part_number < 1 || part_number > 10000)
    throw UsageError("upload_part: part number " + std::to_string(part_number) +
                     " is outside 1..10000");
}
}  // namespace

std::string Client::upload_part(std::string_view bucket, std::string_view key,
                                std::string_view upload_id, int part_number,
                                const FileSlice& body, const std::optional<Digests>& digests) {
  impl_->check_names(bucket, key, true);
  check_part(upload_id, part_number);
  OpenSlice f;
  open_slice(body, f);
  Digests d = digests ? *digests : digest_open(f, impl_->cfg.content_md5, !impl_->cfg.content_md5);
  Source src;
  src.fd = f.fd;
  src.offset = f.offset;
  src.size = f.length;
  src.path = f.path;
  return impl_->part(bucket, key, upload_id, part_number, src, d);
}

std::string Client::upload_part(std::string_view bucket, std::string_view key,
                                std::string_view upload_id, int part_number, std::string_view data,
                                const std::optional<Digests>& digests) {
  impl_->check_names(bucket, key, true);
  check_part(upload_id, part_number);
  Digests d = digests ? *digests : digest_memory(data, impl_->cfg.content_md5, !impl_->cfg.content_md5);
  Source src;
  src.mem = data.data();
  src.size = data.size();
  return impl_->part(bucket, key, upload_id, part_number, src, d);
}

std::string Client::complete_multipart_upload(std::string_view bucket, std::string_view key,
                                              std::string_view upload_id,
                                              const std::vector<Part>& parts) {
  impl_->check_names(bucket, key, true);
  if (upload_id.empty()) throw UsageError("complete_multipart_upload: empty upload id");
  if (parts.empty()) throw UsageError("complete_multipart_upload: no parts");
  std::string body = complete_multipart_body(parts);
  Source src;
  src.mem = body.data();
  src.size = body.size();
  Call c;
  c.op = "COMPLETE multipart upload";
  c.method = "POST";
  c.bucket = bucket;
  c.key = key;
  c.query = {{"uploadId", std::string(upload_id)}};
  c.source = &src;
  c.payload_hash = sigv4::sha256_hex(body);
  c.headers.emplace_back("Content-Type", "application/xml");
  int max = std::max(1, impl_->cfg.max_attempts);
  bool sent_before = false;
  for (int attempt = 1;; ++attempt) {
    int used = 0;
    try {
      Response r = impl_->perform(c, &used);
      // S3 may answer 200 and put an <Error> in the body.
      try {
        return parse_complete_multipart_upload(r.body);
      } catch (const Error& e) {
        throw Error(e.kind(), e.http_status(), e.code(),
                    std::string(c.op) + " " + impl_->target(c) + ": " + e.what(), e.hint());
      }
    } catch (const Error& e) {
      sent_before = sent_before || used > 1 || attempt > 1;
      if (e.kind() == ErrorKind::NoSuchUpload && sent_before) {
        // An earlier attempt may have completed it, its answer lost on the way.
        auto info = head_object(bucket, key);
        std::string suffix = "-" + std::to_string(parts.size());
        if (info && info->etag.size() > suffix.size() &&
            info->etag.compare(info->etag.size() - suffix.size(), suffix.size(), suffix) == 0)
          return info->etag;
      }
      if (!e.retryable() || attempt >= max || e.http_status() != 200) throw;
      impl_->wait_before_retry(c, e, attempt);
    }
  }
}

void Client::abort_multipart_upload(std::string_view bucket, std::string_view key,
                                    std::string_view upload_id) {
  impl_->check_names(bucket, key, true);
  if (upload_id.empty()) throw UsageError("abort_multipart_upload: empty upload id");
  Call c;
  c.op = "ABORT multipart upload";
  c.method = "DELETE";
  c.bucket = bucket;
  c.key = key;
  c.query = {{"uploadId", std::string(upload_id)}};
  try {
    impl_->perform(c);
  } catch (const Error& e) {
    if (e.kind() != ErrorKind::NoSuchUpload) throw;  // already gone: that is what we wanted
  }
}

std::vector<MultipartUpload> Client::list_multipart_uploads(std::string_view bucket,
                                                            std::string_view prefix) {
  impl_->check_names(bucket, {}, false);
  std::vector<MultipartUpload> all;
  std::string key_marker, id_marker;
  for (;;) {
    Call c;
    c.op = "LIST multipart uploads";
    c.bucket = bucket;
    c.query = {{"uploads", ""}};
    if (!prefix.empty()) c.query.emplace_back("prefix", std::string(prefix));
    if (!key_marker.empty()) c.query.emplace_back("key-marker", key_marker);
    if (!id_marker.empty()) c.query.emplace_back("upload-id-marker", id_marker);
    MultipartPage page = parse_list_multipart_uploads(impl_->perform(c).body);
    for (auto& u : page.uploads) all.push_back(std::move(u));
    if (!page.truncated) return all;
    if (page.next_key_marker == key_marker && page.next_upload_id_marker == id_marker)
      throw InputError("the S3 upload listing does not advance");
    key_marker = page.next_key_marker;
    id_marker = page.next_upload_id_marker;
  }
}

}  // namespace nex::s3
