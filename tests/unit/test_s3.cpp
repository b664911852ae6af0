// The S3 client: answer parsers offline; the protocol against a live server
// when AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and
// NEX_S3_BUCKET are set (scripts/radosgw start DIR; eval "$(scripts/radosgw env DIR)").
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <deque>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "nex/error.hpp"
#include "nex/s3.hpp"
#include "nex/sigv4.hpp"

namespace fs = std::filesystem;
using namespace nex::s3;

namespace {

// --- helpers ---------------------------------------------------------------

std::string random_bytes(std::size_t n, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::string s(n, '\0');
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    std::uint64_t v = rng();
    std::memcpy(&s[i], &v, 8);
  }
  for (; i < n; ++i) s[i] = static_cast<char>(rng());
  return s;
}

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void spit(const fs::path& p, std::string_view data) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(data.data(), static_cast<std::streamsize>(data.size()));
}

struct TempDir {
  fs::path path;
  TempDir() {
    std::random_device rd;
    path = fs::temp_directory_path() / ("nex-s3-test-" + std::to_string(rd()) + std::to_string(rd()));
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

struct Live {
  Config config;
  std::string bucket;
  std::string prefix;  // unique per test run
};

// The server from the environment, or else from the file that
// `scripts/radosgw start DIR` writes (DIR/env, named by NEX_S3_ENV_FILE: the
// ctest fixture cannot know the server's port when the tests are configured).
std::optional<Live> live() {
  std::map<std::string, std::string> vars;
  for (const char* name : {"AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
                           "AWS_REGION", "NEX_S3_BUCKET"})
    if (const char* v = std::getenv(name); v && *v) vars[name] = v;
  const char* file = std::getenv("NEX_S3_ENV_FILE");
  if (!vars.count("AWS_ENDPOINT_URL") && file && *file) {
    std::ifstream in(file);
    std::string word;
    while (in >> word) {  // "export A=1 B=2 ..."
      auto eq = word.find('=');
      if (eq != std::string::npos) vars[word.substr(0, eq)] = word.substr(eq + 1);
    }
  }
  for (const char* need :
       {"AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "NEX_S3_BUCKET"})
    if (!vars.count(need)) return std::nullopt;
  Live l;
  l.config.endpoint = vars["AWS_ENDPOINT_URL"];
  l.config.access_key = vars["AWS_ACCESS_KEY_ID"];
  l.config.secret_key = vars["AWS_SECRET_ACCESS_KEY"];
  if (vars.count("AWS_REGION")) l.config.region = vars["AWS_REGION"];
  l.config.max_attempts = 3;
  l.bucket = vars["NEX_S3_BUCKET"];
  std::random_device rd;
  l.prefix = "nex-unit/" + std::to_string(rd()) + "-" + std::to_string(rd()) + "/";
  return l;
}

#define NEX_NEED_S3(var)                                                                    \
  auto var##_opt = live();                                                                  \
  if (!var##_opt) {                                                                         \
    WARN("skipped: set AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and "     \
         "NEX_S3_BUCKET (or NEX_S3_ENV_FILE=DIR/env of scripts/radosgw) to run the live S3 tests"); \
    return;                                                                                 \
  }                                                                                         \
  Live& var = *var##_opt

// Removes every key under a prefix (and pending uploads) at scope exit.
struct Cleanup {
  Client& c;
  std::string bucket, prefix;
  ~Cleanup() {
    try {
      for (const auto& u : c.list_multipart_uploads(bucket, prefix))
        c.abort_multipart_upload(bucket, u.key, u.upload_id);
      for (const auto& o : c.list_all(bucket, prefix)) c.delete_object(bucket, o.key);
    } catch (const std::exception& e) {
      WARN("cleanup: " << e.what());
    }
  }
};


// A scripted HTTP/1.1 server on 127.0.0.1 for the retry paths a real server
// will not produce on demand (503 SlowDown, dropped connections, clock skew).
struct FakeResponse {
  int status = 200;
  std::vector<std::string> headers;  // "Name: value"
  std::string body;
  std::size_t drop_after = std::string::npos;  // close after this many body bytes
  bool head = false;                           // do not send the body (HEAD)
};

struct SeenRequest {
  std::string method, target, body;
  std::map<std::string, std::string> headers;  // lower-case names
};

class FakeS3 {
 public:
  explicit FakeS3(std::vector<FakeResponse> script) : script_(script.begin(), script.end()) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(fd_ >= 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    REQUIRE(::listen(fd_, 8) == 0);
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~FakeS3() {
    stop_ = true;
    thread_.join();
    ::close(fd_);
  }
  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(port_); }
  int connections() const { return connections_; }
  std::vector<SeenRequest> seen() {
    std::lock_guard<std::mutex> g(m_);
    return seen_;
  }

 private:
  void serve() {
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 20) <= 0) continue;
      int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) continue;
      ++connections_;
      while (!stop_ && handle(c)) {
      }
      ::close(c);
    }
  }

  // One request on a connection; false: close it.
  bool handle(int c) {
    std::string buf;
    char tmp[65536];
    std::size_t end;
    while ((end = buf.find("\r\n\r\n")) == std::string::npos) {
      pollfd p{c, POLLIN, 0};
      if (stop_ || ::poll(&p, 1, 20) < 0) return false;
      if (!(p.revents & (POLLIN | POLLHUP))) continue;
      ssize_t n = ::recv(c, tmp, sizeof tmp, 0);
      if (n <= 0) return false;
      buf.append(tmp, static_cast<std::size_t>(n));
    }
    SeenRequest r;
    std::istringstream head(buf.substr(0, end));
    std::string line;
    std::getline(head, line);
    std::istringstream first(line);
    first >> r.method >> r.target;
    while (std::getline(head, line)) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      auto colon = line.find(':');
      if (colon == std::string::npos) continue;
      std::string name = line.substr(0, colon);
      for (auto& ch : name) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      std::size_t v = colon + 1;
      while (v < line.size() && line[v] == ' ') ++v;
      r.headers[name] = line.substr(v);
    }
    std::size_t want = r.headers.count("content-length") ? std::stoul(r.headers["content-length"]) : 0;
    r.body = buf.substr(end + 4);
    while (r.body.size() < want) {
      ssize_t n = ::recv(c, tmp, sizeof tmp, 0);
      if (n <= 0) return false;
      r.body.append(tmp, static_cast<std::size_t>(n));
    }
    FakeResponse resp;
    {
      std::lock_guard<std::mutex> g(m_);
      seen_.push_back(r);
      if (!script_.empty()) {
        resp = script_.front();
        script_.pop_front();
      } else {
        resp.status = 500;
      }
    }
    std::string out = "HTTP/1.1 " + std::to_string(resp.status) + " X\r\n";
    bool has_length = false;
    for (const auto& h : resp.headers) {
      out += h + "\r\n";
      if (h.rfind("Content-Length:", 0) == 0) has_length = true;
    }
    if (!has_length) out += "Content-Length: " + std::to_string(resp.body.size()) + "\r\n";
    out += "\r\n";
    if (!resp.head) out += resp.body.substr(0, resp.drop_after);
    std::size_t sent = 0;
    while (sent < out.size()) {
      ssize_t n = ::send(c, out.data() + sent, out.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) return false;
      sent += static_cast<std::size_t>(n);
    }
    return resp.drop_after == std::string::npos;
  }

  std::deque<FakeResponse> script_;
  std::vector<SeenRequest> seen_;
  std::mutex m_;
  std::atomic<bool> stop_{false};
  std::atomic<int> connections_{0};
  int fd_ = -1;
  std::uint16_t port_ = 0;
  std::thread thread_;
};

Config fake_config(const FakeS3& server) {
  Config c;
  c.endpoint = server.endpoint();
  c.access_key = "AKFAKE";
  c.secret_key = "fake-secret-value-42";
  c.max_attempts = 4;
  c.retry_base = std::chrono::milliseconds(5);
  return c;
}

std::string error_xml(const std::string& code, const std::string& message = "m") {
  return "<?xml version=\"1.0\"?><Error><Code>" + code + "</Code><Message>" + message +
         "</Message></Error>";
}

}  // namespace

TEST_CASE("s3: 503 SlowDown and 500 are retried with the whole body again", "[s3]") {
  FakeS3 server({{503, {}, error_xml("SlowDown", "Please reduce your request rate.")},
                 {500, {}, error_xml("InternalError")},
                 {200, {"ETag: \"d41d8cd98f00b204e9800998ecf8427e\""}, ""}});
  Client c(fake_config(server));
  std::string body = random_bytes(300000, 9);
  CHECK(c.put_object("b", "dir/a b+c.mp4", std::string_view(body)) ==
        "d41d8cd98f00b204e9800998ecf8427e");
  auto seen = server.seen();
  REQUIRE(seen.size() == 3);
  for (const auto& r : seen) {
    CHECK(r.method == "PUT");
    CHECK(r.target == "/b/dir/a%20b%2Bc.mp4");
    CHECK(r.body == body);
    // Content-MD5 (signed) vouches for the body, which goes unsigned: one hash a byte.
    CHECK(r.headers.at("x-amz-content-sha256") == "UNSIGNED-PAYLOAD");
    CHECK(r.headers.at("content-md5") == digest_memory(body).md5_base64);
    CHECK(r.headers.at("authorization").find("SignedHeaders=content-md5;host;x-amz-content-sha256;x-amz-date,") !=
          std::string::npos);
    CHECK(r.headers.at("authorization").find("fake-secret") == std::string::npos);
  }
}

TEST_CASE("s3: a body damaged on the way is sent once more, a second mismatch is final", "[s3]") {
  FakeS3 server({{400, {}, error_xml("BadDigest", "The Content-MD5 you specified did not match what we received.")},
                 {200, {"ETag: \"d41d8cd98f00b204e9800998ecf8427e\""}, ""},
                 {400, {}, error_xml("BadDigest")},
                 {400, {}, error_xml("BadDigest")}});
  Client c(fake_config(server));
  std::string body = random_bytes(1000, 5);
  CHECK(c.put_object("b", "k", std::string_view(body)) == "d41d8cd98f00b204e9800998ecf8427e");
  CHECK(server.seen().size() == 2);
  try {
    c.put_object("b", "k2", std::string_view(body));
    FAIL("a second BadDigest must be final");
  } catch (const Error& e) {
    CHECK(e.kind() == ErrorKind::Integrity);
  }
  CHECK(server.seen().size() == 4);
}

TEST_CASE("s3: a stop asked for during a back-off ends it instead of retrying", "[s3]") {
  FakeS3 server({{503, {}, error_xml("SlowDown")}, {200, {}, ""}});
  auto cfg = fake_config(server);
  cfg.retry_base = std::chrono::hours(1);  // a back-off nobody would wait out
  cfg.retry_max = std::chrono::hours(1);
  std::atomic<bool> stop{false};
  std::atomic<int> calls{0};
  // The request itself runs; the stop comes while the client backs off.
  cfg.progress = [&](std::uint64_t) {
    ++calls;
    return !stop.load();
  };
  Client c(cfg);
  std::thread stopper([&] {
    while (server.seen().empty()) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    stop = true;
  });
  CHECK_THROWS_AS(c.put_object("b", "k", std::string_view("body")), nex::Interrupted);
  stopper.join();
  CHECK(server.seen().size() == 1);  // no second attempt
}

TEST_CASE("s3: without Content-MD5 the payload's SHA-256 is signed", "[s3]") {
  FakeS3 server({{200, {"ETag: \"d41d8cd98f00b204e9800998ecf8427e\""}, ""}});
  auto cfg = fake_config(server);
  cfg.content_md5 = false;
  Client c(cfg);
  std::string body = random_bytes(100000, 3);
  c.put_object("b", "k", std::string_view(body));
  auto seen = server.seen();
  REQUIRE(seen.size() == 1);
  CHECK(seen[0].headers.at("x-amz-content-sha256") == nex::sigv4::sha256_hex(body));
  CHECK(seen[0].headers.count("content-md5") == 0);
  CHECK(seen[0].headers.at("authorization").find("SignedHeaders=host;x-amz-content-sha256;x-amz-date,") !=
        std::string::npos);
}

TEST_CASE("s3: retries stop after max_attempts", "[s3]") {
  FakeS3 server({{500, {}, error_xml("InternalError")},
                 {502, {}, "<html>bad gateway</html>"},
                 {503, {}, ""},
                 {500, {}, error_xml("InternalError", "still broken")}});
  Client c(fake_config(server));
  try {
    c.delete_object("b", "k");
    FAIL("no throw");
  } catch (const Error& e) {
    CHECK(e.kind() == ErrorKind::Server);
    CHECK(e.http_status() == 500);
    CHECK(std::string(e.what()).find("still broken") != std::string::npos);
  }
  CHECK(server.seen().size() == 4);
}

TEST_CASE("s3: request forms: ?uploads=, sorted and escaped queries", "[s3]") {
  FakeS3 server(
      {{200, {}, "<InitiateMultipartUploadResult><UploadId>u/1+2</UploadId></InitiateMultipartUploadResult>"},
       {200, {"ETag: \"p1\""}, ""},
       {200, {}, "<CompleteMultipartUploadResult><ETag></ETag></CompleteMultipartUploadResult>"},
       {200, {}, "<ListBucketResult><IsTruncated>false</IsTruncated></ListBucketResult>"}});
  Client c(fake_config(server));
  TempDir tmp;
  spit(tmp.path / "p", "part one");
  std::string id = c.create_multipart_upload("b", "k~1", {{{"sha256", "abc"}}, "video/mp4", {}, {}});
  CHECK(id == "u/1+2");
  CHECK(c.upload_part("b", "k~1", id, 1, {tmp.path / "p"}) == "p1");
  CHECK(c.complete_multipart_upload("b", "k~1", id, {{1, "p1"}}) == "");
  c.list_objects_v2("b", "cam 1/2024:05", "tok/en=", 50);
  auto seen = server.seen();
  REQUIRE(seen.size() == 4);
  CHECK(seen[0].method == "POST");
  CHECK(seen[0].target == "/b/k~1?uploads=");
  CHECK(seen[0].headers.at("x-amz-meta-sha256") == "abc");
  CHECK(seen[0].headers.at("content-type") == "video/mp4");
  CHECK(seen[1].target == "/b/k~1?partNumber=1&uploadId=u%2F1%2B2");
  CHECK(seen[1].body == "part one");
  CHECK(seen[2].method == "POST");
  CHECK(seen[2].target == "/b/k~1?uploadId=u%2F1%2B2");
  CHECK(seen[2].body.find("<PartNumber>1</PartNumber><ETag>&quot;p1&quot;</ETag>") != std::string::npos);
  CHECK(seen[3].target ==
        "/b?continuation-token=tok%2Fen%3D&list-type=2&max-keys=50&prefix=cam%201%2F2024%3A05");
  CHECK(server.connections() == 1);  // one connection, reused
}

TEST_CASE("s3: a dropped download resumes with Range and If-Match", "[s3]") {
  std::string data = random_bytes(100000, 11);
  FakeResponse first{200, {"ETag: \"e1\"", "x-amz-meta-sha256: s"}, data};
  first.drop_after = 40000;
  FakeS3 server({first,
                 {206,
                  {"ETag: \"e1\"", "Content-Range: bytes 40000-99999/100000"},
                  data.substr(40000)}});
  Client c(fake_config(server));
  TempDir tmp;
  ObjectInfo info = c.get_object("b", "k", tmp.path / "out");
  CHECK(info.size == data.size());
  CHECK(slurp(tmp.path / "out") == data);
  auto seen = server.seen();
  REQUIRE(seen.size() == 2);
  CHECK(seen[0].headers.count("range") == 0);
  CHECK(seen[1].headers.at("range") == "bytes=40000-");
  CHECK(seen[1].headers.at("if-match") == "\"e1\"");
}

TEST_CASE("s3: a server that ignores Range restarts the download", "[s3]") {
  std::string data = random_bytes(5000, 12);
  FakeS3 server({{200, {"ETag: \"e\""}, data}, {200, {"ETag: \"e\""}, data}});
  Client c(fake_config(server));
  TempDir tmp;
  spit(tmp.path / "out", data.substr(0, 1000));
  c.get_object("b", "k", tmp.path / "out", 1000);
  CHECK(slurp(tmp.path / "out") == data);
  auto seen = server.seen();
  REQUIRE(seen.size() == 2);
  CHECK(seen[0].headers.at("range") == "bytes=1000-");
  CHECK(seen[1].headers.count("range") == 0);
}

TEST_CASE("s3: clock skew is explained", "[s3]") {
  // The server's clock is one hour behind ours.
  std::time_t t = std::time(nullptr) - 3600;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char date[64];
  std::strftime(date, sizeof date, "Date: %a, %d %b %Y %H:%M:%S GMT", &tm);
  FakeS3 server({{403, {date}, error_xml("RequestTimeTooSkewed",
                                         "The difference between the request time and the "
                                         "current time is too large.")}});
  Client c(fake_config(server));
  try {
    c.head_object("b", "k");
    FAIL("no throw");
  } catch (const Error& e) {
    CHECK(e.kind() == ErrorKind::ClockSkew);
    std::string what = e.what();
    INFO(what);
    CHECK(what.find("ahead of the server's") != std::string::npos);
    CHECK((what.find("3600 s") != std::string::npos || what.find("3599 s") != std::string::npos ||
           what.find("3601 s") != std::string::npos));
    CHECK(e.hint().find("NTP") != std::string::npos);
  }
  CHECK(server.seen().size() == 1);  // not retried
}

TEST_CASE("s3: complete answered 200 with an error document is retried", "[s3]") {
  FakeS3 server({{200, {}, error_xml("InternalError")},
                 {200, {}, "<CompleteMultipartUploadResult><ETag>\"x-2\"</ETag></CompleteMultipartUploadResult>"}});
  Client c(fake_config(server));
  CHECK(c.complete_multipart_upload("b", "k", "id", {{1, "a"}, {2, "b"}}) == "x-2");
  CHECK(server.seen().size() == 2);
}

TEST_CASE("s3: a lost complete answer is recognised by HEAD", "[s3]") {
  FakeResponse lost{200, {}, "<CompleteMultipartUploadResult><ETag>\"x-2\"</ETag></CompleteMultipartUploadResult>"};
  lost.drop_after = 10;
  FakeResponse head{200, {"ETag: \"x-2\"", "Content-Length: 12345"}, ""};
  head.head = true;
  FakeS3 server({lost, {404, {}, error_xml("NoSuchUpload")}, head});
  Client c(fake_config(server));
  CHECK(c.complete_multipart_upload("b", "k", "id", {{1, "a"}, {2, "b"}}) == "x-2");
  auto seen = server.seen();
  REQUIRE(seen.size() == 3);
  CHECK(seen[2].method == "HEAD");
}

// --- offline: answers ------------------------------------------------------------

TEST_CASE("s3: ListObjectsV2 answer", "[s3]") {
  const char* xml = R"(<?xml version="1.0" encoding="UTF-8"?>
<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Name>nex-test</Name><Prefix>cam/</Prefix><KeyCount>3</KeyCount><MaxKeys>2</MaxKeys>
  <IsTruncated>true</IsTruncated>
  <NextContinuationToken>1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=</NextContinuationToken>
  <Contents><Key>cam/a b&amp;c &lt;1&gt;.mp4</Key><LastModified>2024-05-01T10:00:00.000Z</LastModified>
    <ETag>&quot;9b2cf535f27731c974343645a3985328&quot;</ETag><Size>1234567890123</Size>
    <StorageClass>STANDARD</StorageClass></Contents>
  <Contents><Key><![CDATA[cam/ünï +:~.json]]></Key><ETag>"abc-3"</ETag><Size>0</Size></Contents>
  <Contents><Key>cam/&#x1F697;&#233;</Key><ETag>"x"</ETag><Size>7</Size></Contents>
  <CommonPrefixes><Prefix>cam/events/</Prefix></CommonPrefixes>
</ListBucketResult>)";
  ListPage p = parse_list_objects_v2(xml);
  REQUIRE(p.objects.size() == 3);
  CHECK(p.objects[0].key == "cam/a b&c <1>.mp4");
  CHECK(p.objects[0].size == 1234567890123ull);
  CHECK(p.objects[0].etag == "9b2cf535f27731c974343645a3985328");
  CHECK(p.objects[0].last_modified == "2024-05-01T10:00:00.000Z");
  CHECK(p.objects[1].key == "cam/\xC3\xBCn\xC3\xAF +:~.json");
  CHECK(p.objects[1].etag == "abc-3");
  CHECK(p.objects[2].key == "cam/\xF0\x9F\x9A\x97\xC3\xA9");
  CHECK(p.truncated);
  CHECK(p.next_token == "1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=");
  CHECK(p.common_prefixes == std::vector<std::string>{"cam/events/"});

  // A listing that ends.
  ListPage last = parse_list_objects_v2(
      "<ListBucketResult><IsTruncated>false</IsTruncated></ListBucketResult>");
  CHECK(last.objects.empty());
  CHECK_FALSE(last.truncated);
}

TEST_CASE("s3: multipart answers and request body", "[s3]") {
  CHECK(parse_initiate_multipart_upload(
            "<?xml version=\"1.0\"?>\n<InitiateMultipartUploadResult "
            "xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Bucket>b</Bucket><Key>k</Key>"
            "<UploadId>2~abc_DEF-123</UploadId></InitiateMultipartUploadResult>") ==
        "2~abc_DEF-123");
  CHECK_THROWS_AS(parse_initiate_multipart_upload(
                      "<InitiateMultipartUploadResult><UploadId/></InitiateMultipartUploadResult>"),
                  nex::InputError);

  MultipartPage m = parse_list_multipart_uploads(R"(<ListMultipartUploadsResult>
    <Bucket>b</Bucket><KeyMarker></KeyMarker><NextKeyMarker>k2</NextKeyMarker>
    <NextUploadIdMarker>id2</NextUploadIdMarker><IsTruncated>true</IsTruncated>
    <Upload><Key>k1</Key><UploadId>id1</UploadId><Initiated>2024-01-01T00:00:00Z</Initiated></Upload>
    <Upload><Key>k2</Key><UploadId>id2</UploadId></Upload>
  </ListMultipartUploadsResult>)");
  REQUIRE(m.uploads.size() == 2);
  CHECK(m.uploads[0].key == "k1");
  CHECK(m.uploads[0].upload_id == "id1");
  CHECK(m.uploads[0].initiated == "2024-01-01T00:00:00Z");
  CHECK(m.truncated);
  CHECK(m.next_key_marker == "k2");

  // radosgw: an empty ETag in CompleteMultipartUploadResult.
  CHECK(parse_complete_multipart_upload(
            "<CompleteMultipartUploadResult><Location>x</Location><Bucket>b</Bucket><Key>k</Key>"
            "<ETag></ETag></CompleteMultipartUploadResult>") == "");
  CHECK(parse_complete_multipart_upload(
            "\n\n  <CompleteMultipartUploadResult><ETag>\"3858f62230ac3c915f300c664312c11f-9\""
            "</ETag></CompleteMultipartUploadResult>") == "3858f62230ac3c915f300c664312c11f-9");
  // AWS: 200 OK whose body is an error.
  try {
    parse_complete_multipart_upload(
        "<Error><Code>InternalError</Code><Message>We encountered an internal error.</Message>"
        "</Error>");
    FAIL("no throw");
  } catch (const Error& e) {
    CHECK(e.kind() == ErrorKind::Server);
    CHECK(e.retryable());
    CHECK(e.code() == "InternalError");
  }

  CHECK(complete_multipart_body({{1, "\"a1\""}, {2, "b2"}}) ==
        "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
        "<Part><PartNumber>1</PartNumber><ETag>&quot;a1&quot;</ETag></Part>"
        "<Part><PartNumber>2</PartNumber><ETag>&quot;b2&quot;</ETag></Part>"
        "</CompleteMultipartUpload>");
}

TEST_CASE("s3: error documents", "[s3]") {
  ErrorDocument d = parse_error(R"(<?xml version="1.0" encoding="UTF-8"?><Error>
    <Code>SignatureDoesNotMatch</Code><Message>The request signature we calculated does not match</Message>
    <Resource>/b/k</Resource><RequestId>tx0001</RequestId><HostId>h</HostId></Error>)");
  CHECK(d.code == "SignatureDoesNotMatch");
  CHECK(d.message == "The request signature we calculated does not match");
  CHECK(d.resource == "/b/k");
  CHECK(d.request_id == "tx0001");
  // Not an error document, or not XML at all: empty, no exception.
  CHECK(parse_error("").code.empty());
  CHECK(parse_error("<html><body>502 Bad Gateway</body></html>").code.empty());
  CHECK(parse_error("<Error><Code>x").code.empty());
}

TEST_CASE("s3: malformed answers are errors, never crashes", "[s3]") {
  const char* bad[] = {
      "",
      "   ",
      "<",
      "<>",
      "</ListBucketResult>",
      "<ListBucketResult>",
      "<ListBucketResult></ListBucketResul>",
      "<ListBucketResult><Contents></ListBucketResult></Contents>",
      "<ListBucketResult a=1></ListBucketResult>",
      "<ListBucketResult a=\"1></ListBucketResult>",
      "<ListBucketResult>&bogus;</ListBucketResult>",
      "<ListBucketResult>&#0;</ListBucketResult>",
      "<ListBucketResult>&#xD800;</ListBucketResult>",
      "<ListBucketResult>&#x110000;</ListBucketResult>",
      "<ListBucketResult>&#;</ListBucketResult>",
      "<ListBucketResult>&amp</ListBucketResult>",
      "<ListBucketResult><![CDATA[x</ListBucketResult>",
      "<ListBucketResult><!-- x </ListBucketResult>",
      "<!DOCTYPE x [<!ENTITY a \"b\">]><ListBucketResult>&a;</ListBucketResult>",
      "<ListBucketResult></ListBucketResult><extra/>",
      "<ListBucketResult></ListBucketResult>trailing",
      "<ListBucketResult><Contents><Key>k</Key><Size>-1</Size></Contents></ListBucketResult>",
      "<ListBucketResult><Contents><Key>k</Key><Size>99999999999999999999</Size></Contents>"
      "</ListBucketResult>",
      "<ListBucketResult><Contents><Size>1</Size></Contents></ListBucketResult>",
      "<ListBucketResult><IsTruncated>true</IsTruncated></ListBucketResult>",
      "<Other></Other>",
  };
  for (const char* text : bad) {
    INFO(text);
    CHECK_THROWS_AS(parse_list_objects_v2(text), nex::InputError);
  }
  // Deep nesting hits the depth limit instead of the stack.
  std::string deep;
  for (int i = 0; i < 100000; ++i) deep += "<a>";
  CHECK_THROWS_AS(parse_list_objects_v2(deep), nex::InputError);
  // Truncations of a valid answer at every byte.
  std::string good =
      "<?xml version=\"1.0\"?><ListBucketResult><Contents><Key>a&amp;b</Key><Size>1</Size>"
      "<ETag>\"e\"</ETag></Contents><IsTruncated>false</IsTruncated></ListBucketResult>";
  CHECK(parse_list_objects_v2(good).objects.size() == 1);
  for (std::size_t n = 0; n + 1 < good.size(); ++n) {
    INFO(n);
    CHECK_THROWS_AS(parse_list_objects_v2(std::string_view(good).substr(0, n)), nex::InputError);
  }
}

TEST_CASE("s3: digests and config", "[s3]") {
  Digests d = digest_memory("Welcome to Amazon S3.");
  CHECK(d.sha256_hex == "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072");
  CHECK(digest_memory("").md5_base64 == "1B2M2Y8AsgTpgAmY7PhCfg==");

  TempDir tmp;
  std::string data = random_bytes(3 * 1024 * 1024 + 17, 7);
  spit(tmp.path / "f", data);
  Digests whole = digest_file({tmp.path / "f"});
  CHECK(whole.sha256_hex == nex::sigv4::sha256_hex(data));
  Digests part = digest_file({tmp.path / "f", 1000, 2 * 1024 * 1024});
  CHECK(part.sha256_hex == nex::sigv4::sha256_hex(std::string_view(data).substr(1000, 2 * 1024 * 1024)));
  CHECK_THROWS_AS(digest_file({tmp.path / "f", data.size() - 1, 2}), nex::IoError);
  CHECK_THROWS_AS(digest_file({tmp.path / "missing"}), nex::IoError);

  Config c;
  c.access_key = "AK";
  c.secret_key = "s3cr3t";
  c.endpoint = "ftp://example.com";
  CHECK_THROWS_AS(Client(c), nex::UsageError);
  c.endpoint = "http://user:hunter2@example.com";
  try {
    Client client(c);
    FAIL("no throw");
  } catch (const nex::UsageError& e) {
    CHECK(std::string(e.what()).find("hunter2") == std::string::npos);
  }
  c.endpoint = "http://127.0.0.1:9/";
  Client ok(c);
  CHECK(ok.endpoint() == "http://127.0.0.1:9");
}

TEST_CASE("s3: an unreachable server is a network error, retried, without secrets", "[s3]") {
  Config c;
  c.endpoint = "http://127.0.0.1:9";  // discard port: nothing listens
  c.access_key = "AKUNREACHABLE";
  c.secret_key = "very-secret-value-123";
  c.max_attempts = 2;
  c.retry_base = std::chrono::milliseconds(10);
  Client client(c);
  try {
    client.head_bucket("b");
    FAIL("no throw");
  } catch (const Error& e) {
    CHECK(e.kind() == ErrorKind::Network);
    CHECK(e.retryable());
    std::string all = std::string(e.what()) + e.hint();
    CHECK(all.find("very-secret-value-123") == std::string::npos);
  }
}

// --- live server ---------------------------------------------------------------

TEST_CASE("s3 live: put, head and get round trip", "[s3][s3-live]") {
  NEX_NEED_S3(s3);
  Client c(s3.config);
  Cleanup cleanup{c, s3.bucket, s3.prefix};
  c.head_bucket(s3.bucket);
  TempDir tmp;

  std::string data = random_bytes(1024 * 1024 + 333, 1);
  std::string sha = nex::sigv4::sha256_hex(data);
  spit(tmp.path / "src", data);
  PutOptions o;
  o.metadata["sha256"] = sha;
  o.metadata["camera"] = "front cam 1";
  o.content_type = "video/mp4";
  const std::string key = s3.prefix + "drives/20240501_101500/road.mp4";
  std::string etag = c.put_object(s3.bucket, key, FileSlice{tmp.path / "src"}, o);
  CHECK(etag.size() == 32);  // MD5 of a single PUT

  auto info = c.head_object(s3.bucket, key);
  REQUIRE(info);
  CHECK(info->size == data.size());
  CHECK(info->etag == etag);
  CHECK(info->metadata["sha256"] == sha);
  CHECK(info->metadata["camera"] == "front cam 1");
  CHECK(info->content_type == "video/mp4");

  ObjectInfo got = c.get_object(s3.bucket, key, tmp.path / "dst");
  CHECK(got.size == data.size());
  CHECK(got.metadata["sha256"] == sha);
  CHECK(nex::sigv4::sha256_hex(slurp(tmp.path / "dst")) == sha);

  // A slice of a file, and a body from memory (also empty).
  c.put_object(s3.bucket, s3.prefix + "slice.bin", FileSlice{tmp.path / "src", 100, 5000});
  c.get_object(s3.bucket, s3.prefix + "slice.bin", tmp.path / "slice");
  CHECK(slurp(tmp.path / "slice") == data.substr(100, 5000));
  c.put_object(s3.bucket, s3.prefix + "event.json", std::string_view("{\"kind\":\"parking\"}"));
  c.put_object(s3.bucket, s3.prefix + "empty", std::string_view());
  c.get_object(s3.bucket, s3.prefix + "empty", tmp.path / "empty");
  CHECK(fs::file_size(tmp.path / "empty") == 0);

  CHECK_FALSE(c.head_object(s3.bucket, s3.prefix + "no/such/key"));
  try {
    c.get_object(s3.bucket, s3.prefix + "no/such/key", tmp.path / "x");
    FAIL("no throw");
  } catch (const Error& e) {
    CHECK(e.kind() == ErrorKind::NotFound);
  }
  c.delete_object(s3.bucket, key);
  CHECK_FALSE(c.head_object(s3.bucket, key));
  c.delete_object(s3.bucket, key);  // deleting a missing key is fine
}

TEST_CASE("s3 live: multipart upload of three parts", "[s3][s3-live]") {
  NEX_NEED_S3(s3);
  Client c(s3.config);
  Cleanup cleanup{c, s3.bucket, s3.prefix};
  TempDir tmp;
  const std::size_t part = 5 * 1024 * 1024;
  std::string data = random_bytes(2 * part + 1234567, 2);
  std::string sha = nex::sigv4::sha256_hex(data);
  spit(tmp.path / "big", data);
  const std::string key = s3.prefix + "events/20240501_101500_parking/road.mp4";

  PutOptions o;
  o.metadata["sha256"] = sha;
  std::string id = c.create_multipart_upload(s3.bucket, key, o);
  REQUIRE_FALSE(id.empty());
  std::vector<Part> parts;
  for (int n = 1; n <= 3; ++n) {
    std::uint64_t off = (n - 1) * part;
    std::uint64_t len = n < 3 ? part : data.size() - off;
    Digests d = digest_file({tmp.path / "big", off, len});
    std::string etag = c.upload_part(s3.bucket, key, id, n, {tmp.path / "big", off, len},
                                     n == 2 ? std::optional<Digests>(d) : std::nullopt);
    CHECK(etag.size() == 32);
    parts.push_back({n, etag});
  }
  // The pending upload is listed.
  auto pending = c.list_multipart_uploads(s3.bucket, s3.prefix);
  REQUIRE(pending.size() == 1);
  CHECK(pending[0].upload_id == id);
  CHECK(pending[0].key == key);

  std::string etag = c.complete_multipart_upload(s3.bucket, key, id, parts);
  auto info = c.head_object(s3.bucket, key);
  REQUIRE(info);
  CHECK(info->size == data.size());
  CHECK(info->etag.size() > 2);
  CHECK(info->etag.substr(info->etag.size() - 2) == "-3");
  if (!etag.empty()) CHECK(etag == info->etag);  // radosgw answers an empty ETag
  CHECK(info->metadata["sha256"] == sha);
  CHECK(c.list_multipart_uploads(s3.bucket, s3.prefix).empty());

  c.get_object(s3.bucket, key, tmp.path / "back");
  CHECK(nex::sigv4::sha256_hex(slurp(tmp.path / "back")) == sha);

  // A part under 5 MiB that is not the last is refused at completion.
  std::string id2 = c.create_multipart_upload(s3.bucket, key + ".small", {});
  std::vector<Part> small;
  small.push_back({1, c.upload_part(s3.bucket, key + ".small", id2, 1, {tmp.path / "big", 0, 1000})});
  small.push_back({2, c.upload_part(s3.bucket, key + ".small", id2, 2, {tmp.path / "big", 0, 1000})});
  try {
    c.complete_multipart_upload(s3.bucket, key + ".small", id2, small);
    FAIL("no throw");
  } catch (const Error& e) {
    CHECK(e.kind() == ErrorKind::Rejected);
    CHECK(e.code() == "EntityTooSmall");
  }
  c.abort_multipart_upload(s3.bucket, key + ".small", id2);
  CHECK_THROWS_AS(c.upload_part(s3.bucket, key, "", 1, {tmp.path / "big", 0, 10}), nex::UsageError);
}

TEST_CASE("s3 live: listing keys that need escaping", "[s3][s3-live]") {
  NEX_NEED_S3(s3);
  Client c(s3.config);
  Cleanup cleanup{c, s3.bucket, s3.prefix};
  const std::vector<std::string> names = {
      "a b.mp4",          "a+b.mp4",       "c:d.mp4",        "tilde~x.mp4",
      "\xC3\xBCnic\xC3\xB6" "de/\xF0\x9F\x9A\x97.mp4",     "q?x=1&y=2#f.json",
      "pct%20lit.mp4",    "semi;comma,.json", "bang!at@dollar$.mp4", "paren(1)[2]{3}.mp4",
      "dir/sub dir/file name.mp4", "quote'\"<tag>.json", "eq=star*.mp4", "dots/../x/./y",
  };
  std::set<std::string> want;
  for (const auto& n : names) {
    std::string key = s3.prefix + "esc/" + n;
    c.put_object(s3.bucket, key, std::string_view(n));
    want.insert(key);
    auto info = c.head_object(s3.bucket, key);
    REQUIRE(info);
    CHECK(info->size == n.size());
  }
  std::set<std::string> got;
  for (const auto& o : c.list_all(s3.bucket, s3.prefix + "esc/")) got.insert(o.key);
  CHECK(got == want);

  // Page by page (continuation tokens), and prefixes that need escaping themselves.
  std::set<std::string> paged;
  std::string token;
  int pages = 0;
  do {
    ListPage p = c.list_objects_v2(s3.bucket, s3.prefix + "esc/", token, 3);
    for (const auto& o : p.objects) paged.insert(o.key);
    token = p.truncated ? p.next_token : "";
    ++pages;
  } while (!token.empty() && pages < 100);
  CHECK(paged == want);
  CHECK(pages >= 5);
  auto spaced = c.list_all(s3.bucket, s3.prefix + "esc/dir/sub dir/");
  REQUIRE(spaced.size() == 1);
  CHECK(spaced[0].key == s3.prefix + "esc/dir/sub dir/file name.mp4");
  CHECK(c.list_all(s3.bucket, s3.prefix + "esc/a+").size() == 1);
  CHECK(c.list_all(s3.bucket, s3.prefix + "esc/\xC3\xBC").size() == 1);
  ListPage top = c.list_objects_v2(s3.bucket, s3.prefix + "esc/", {}, 1000, "/");
  CHECK(std::count(top.common_prefixes.begin(), top.common_prefixes.end(),
                   s3.prefix + "esc/dir/") == 1);
}

TEST_CASE("s3 live: ranged get resumes a download", "[s3][s3-live]") {
  NEX_NEED_S3(s3);
  Client c(s3.config);
  Cleanup cleanup{c, s3.bucket, s3.prefix};
  TempDir tmp;
  std::string data = random_bytes(2 * 1024 * 1024 + 5, 3);
  const std::string key = s3.prefix + "resume.bin";
  c.put_object(s3.bucket, key, std::string_view(data));

  const std::size_t have = 777777;
  spit(tmp.path / "part", data.substr(0, have) + "garbage past the resume point");
  ObjectInfo info = c.get_object(s3.bucket, key, tmp.path / "part", have);
  CHECK(info.size == data.size());
  CHECK(slurp(tmp.path / "part") == data);

  // Resuming a complete file fetches nothing and succeeds.
  ObjectInfo again = c.get_object(s3.bucket, key, tmp.path / "part", data.size());
  CHECK(again.size == data.size());
  CHECK(slurp(tmp.path / "part") == data);
  CHECK_THROWS_AS(c.get_object(s3.bucket, key, tmp.path / "part", data.size() + 10),
                  nex::InputError);
}

TEST_CASE("s3 live: a wrong secret is access denied and never printed", "[s3][s3-live]") {
  NEX_NEED_S3(s3);
  Config bad = s3.config;
  bad.secret_key = "WRONG-secret-9f8e7d6c5b4a";
  Client c(bad);
  auto check = [&](const Error& e) {
    CHECK(e.kind() == ErrorKind::AccessDenied);
    CHECK_FALSE(e.retryable());
    std::string all = std::string(e.what()) + "\n" + e.hint();
    INFO(all);
    CHECK(all.find(bad.secret_key) == std::string::npos);
    CHECK(all.find(s3.config.secret_key) == std::string::npos);
    CHECK(all.find("access denied") != std::string::npos);
  };
  try {
    c.put_object(s3.bucket, s3.prefix + "denied", std::string_view("x"));
    FAIL("no throw");
  } catch (const Error& e) {
    check(e);
    CHECK(e.code() == "SignatureDoesNotMatch");
    CHECK(e.hint().find("AWS_SECRET_ACCESS_KEY") != std::string::npos);
  }
  try {
    c.head_bucket(s3.bucket);
    FAIL("no throw");
  } catch (const Error& e) {
    check(e);
  }
  Config unknown = s3.config;
  unknown.access_key = "NEXUNKNOWNKEY0000000";
  Client u(unknown);
  try {
    u.list_objects_v2(s3.bucket, "");
    FAIL("no throw");
  } catch (const Error& e) {
    check(e);
    CHECK(e.code() == "InvalidAccessKeyId");
  }
}

TEST_CASE("s3 live: a missing bucket is a clear error", "[s3][s3-live]") {
  NEX_NEED_S3(s3);
  Client c(s3.config);
  const std::string missing = "nex-no-such-bucket-" + std::to_string(std::random_device{}());
  auto check = [&](const Error& e) {
    CHECK(e.kind() == ErrorKind::NoSuchBucket);
    CHECK_FALSE(e.retryable());
    CHECK(std::string(e.what()).find("'" + missing + "' does not exist") != std::string::npos);
  };
  try {
    c.head_bucket(missing);
    FAIL("no throw");
  } catch (const Error& e) {
    check(e);
  }
  try {
    c.put_object(missing, "k", std::string_view("x"));
    FAIL("no throw");
  } catch (const Error& e) {
    check(e);
  }
  try {
    c.list_objects_v2(missing, "");
    FAIL("no throw");
  } catch (const Error& e) {
    check(e);
  }
}

TEST_CASE("s3 live: abort multipart uploads and list the pending ones", "[s3][s3-live]") {
  NEX_NEED_S3(s3);
  Client c(s3.config);
  Cleanup cleanup{c, s3.bucket, s3.prefix};
  TempDir tmp;
  spit(tmp.path / "p", random_bytes(100000, 4));
  const std::string k1 = s3.prefix + "pending/one two.mp4";
  const std::string k2 = s3.prefix + "pending/thr+ee.mp4";
  std::string id1 = c.create_multipart_upload(s3.bucket, k1);
  std::string id2 = c.create_multipart_upload(s3.bucket, k2);
  std::string id3 = c.create_multipart_upload(s3.bucket, k2);  // two uploads of one key
  c.upload_part(s3.bucket, k1, id1, 1, {tmp.path / "p"});

  auto ids = [&] {
    std::set<std::string> s;
    for (const auto& u : c.list_multipart_uploads(s3.bucket, s3.prefix + "pending/")) s.insert(u.upload_id);
    return s;
  };
  CHECK(ids() == std::set<std::string>{id1, id2, id3});
  CHECK(c.list_multipart_uploads(s3.bucket, s3.prefix + "pending/thr+").size() == 2);

  c.abort_multipart_upload(s3.bucket, k1, id1);
  CHECK(ids() == std::set<std::string>{id2, id3});
  c.abort_multipart_upload(s3.bucket, k1, id1);  // already gone: fine
  try {
    c.upload_part(s3.bucket, k1, id1, 2, {tmp.path / "p"});
    FAIL("no throw");
  } catch (const Error& e) {
    CHECK(e.kind() == ErrorKind::NoSuchUpload);
  }
  c.abort_multipart_upload(s3.bucket, k2, id2);
  c.abort_multipart_upload(s3.bucket, k2, id3);
  CHECK(ids().empty());
  CHECK_FALSE(c.head_object(s3.bucket, k1));
}

TEST_CASE("s3 live: clients in several threads", "[s3][s3-live]") {
  NEX_NEED_S3(s3);
  Client main(s3.config);
  Cleanup cleanup{main, s3.bucket, s3.prefix};
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      try {
        Client c(s3.config);
        TempDir tmp;
        for (int i = 0; i < 5; ++i) {
          std::string data = random_bytes(100000 + static_cast<std::size_t>(t * 1000 + i), t * 100 + i);
          std::string key = s3.prefix + "t" + std::to_string(t) + "/" + std::to_string(i);
          c.put_object(s3.bucket, key, std::string_view(data));
          c.get_object(s3.bucket, key, tmp.path / "x");
          if (slurp(tmp.path / "x") == data) ++ok;
        }
      } catch (const std::exception& e) {
        WARN(e.what());
      }
    });
  }
  for (auto& th : threads) th.join();
  CHECK(ok == 20);
}

// Not run by default: `nex_unit "[s3-bench]"`.
TEST_CASE("s3 live: 64 MiB multipart upload throughput", "[.][s3-bench]") {
  NEX_NEED_S3(s3);
  Client c(s3.config);
  Cleanup cleanup{c, s3.bucket, s3.prefix};
  TempDir tmp;
  const std::size_t total = 64u << 20, part = 8u << 20;
  spit(tmp.path / "big", random_bytes(total, 5));
  for (int threads : {1, 4}) {
    const std::string key = s3.prefix + "bench-" + std::to_string(threads);
    auto t0 = std::chrono::steady_clock::now();
    std::string id = c.create_multipart_upload(s3.bucket, key);
    std::vector<Part> parts(total / part);
    std::atomic<std::size_t> next{0};
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t) {
      pool.emplace_back([&] {
        Client w(s3.config);
        for (std::size_t i; (i = next++) < parts.size();) {
          parts[i] = {static_cast<int>(i + 1),
                      w.upload_part(s3.bucket, key, id, static_cast<int>(i + 1),
                                    {tmp.path / "big", i * part, part})};
        }
      });
    }
    for (auto& th : pool) th.join();
    c.complete_multipart_upload(s3.bucket, key, id, parts);
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    WARN(threads << " connection(s): 64 MiB in " << s << " s = " << (64.0 / s) << " MiB/s");
    auto info = c.head_object(s3.bucket, key);
    REQUIRE(info);
    CHECK(info->size == total);
  }
}

TEST_CASE("s3: a storage class goes as a signed x-amz-storage-class on PUT and CreateMultipartUpload", "[s3]") {
  FakeS3 server({{200, {"ETag: \"d41d8cd98f00b204e9800998ecf8427e\""}, ""},
                 {200, {}, "<InitiateMultipartUploadResult><UploadId>u1</UploadId></InitiateMultipartUploadResult>"},
                 {200, {"ETag: \"p1\""}, ""},
                 {200, {"ETag: \"d41d8cd98f00b204e9800998ecf8427e\"", "x-amz-storage-class: STANDARD_IA"}, ""}});
  Client c(fake_config(server));
  PutOptions po;
  po.storage_class = "STANDARD_IA";
  c.put_object("b", "k", std::string_view("abc"), po);
  CHECK(c.create_multipart_upload("b", "m", po) == "u1");
  CHECK(c.upload_part("b", "m", "u1", 1, std::string_view("part from memory")) == "p1");
  auto info = c.head_object("b", "k");
  REQUIRE(info);
  CHECK(info->storage_class == "STANDARD_IA");
  auto seen = server.seen();
  REQUIRE(seen.size() == 4);
  for (int i : {0, 1}) {
    CHECK(seen[static_cast<size_t>(i)].headers.at("x-amz-storage-class") == "STANDARD_IA");
    CHECK(seen[static_cast<size_t>(i)].headers.at("authorization").find("x-amz-storage-class") != std::string::npos);
  }
  CHECK(seen[2].headers.count("x-amz-storage-class") == 0);
  CHECK(seen[2].body == "part from memory");
  po.storage_class = "standard ia";
  CHECK_THROWS_AS(c.put_object("b", "k", std::string_view("abc"), po), nex::UsageError);
  CHECK(valid_storage_class("GLACIER_IR"));
  CHECK_FALSE(valid_storage_class(""));
  CHECK_FALSE(valid_storage_class("glacier"));
}
