// SigV4 against the published AWS vectors (tests/data/sigv4, see its README).
#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "nex/sigv4.hpp"

namespace fs = std::filesystem;
using namespace nex::sigv4;

namespace {

const fs::path kData = fs::path(NEX_TEST_DATA) / "sigv4";

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  REQUIRE(in);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string percent_decode(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hexval(s[i + 1]) * 16 + hexval(s[i + 2])));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

struct ParsedReq {
  Request request;
  std::string body;
  std::string amz_date;
};

// The .req format: "METHOD URI HTTP/1.1", header lines "Name:value" (a line
// starting with blanks continues the previous header: another value of it),
// an empty line, the body. The URI may contain blanks ("/example space/").
ParsedReq parse_req(const std::string& text) {
  ParsedReq out;
  std::string head = text, body;
  if (auto blank = text.find("\n\n"); blank != std::string::npos) {
    head = text.substr(0, blank);
    body = text.substr(blank + 2);
  }
  out.body = body;
  std::vector<std::string> lines;
  std::stringstream ss(head);
  for (std::string line; std::getline(ss, line);) lines.push_back(line);
  REQUIRE(!lines.empty());
  const std::string& first = lines[0];
  auto sp1 = first.find(' ');
  auto sp2 = first.rfind(' ');
  REQUIRE(sp1 != std::string::npos);
  REQUIRE(sp2 > sp1);
  out.request.method = first.substr(0, sp1);
  std::string uri = first.substr(sp1 + 1, sp2 - sp1 - 1);
  std::string query;
  if (auto q = uri.find('?'); q != std::string::npos) {
    query = uri.substr(q + 1);
    uri = uri.substr(0, q);
  }
  out.request.path = uri;
  std::size_t i = 0;
  while (!query.empty() && i <= query.size()) {
    auto amp = query.find('&', i);
    if (amp == std::string::npos) amp = query.size();
    std::string item = query.substr(i, amp - i);
    auto eq = item.find('=');
    if (eq == std::string::npos)
      out.request.query.emplace_back(percent_decode(item), "");
    else
      out.request.query.emplace_back(percent_decode(item.substr(0, eq)),
                                     percent_decode(item.substr(eq + 1)));
    i = amp + 1;
  }
  for (std::size_t l = 1; l < lines.size(); ++l) {
    const std::string& line = lines[l];
    if (!line.empty() && (line[0] == ' ' || line[0] == '\t')) {
      REQUIRE(!out.request.headers.empty());
      out.request.headers.emplace_back(out.request.headers.back().first, line);
      continue;
    }
    auto colon = line.find(':');
    REQUIRE(colon != std::string::npos);
    std::string name = line.substr(0, colon);
    std::string value = line.substr(colon + 1);
    std::string lname = name;
    std::transform(lname.begin(), lname.end(), lname.begin(), ::tolower);
    if (lname == "x-amz-date") out.amz_date = value;
    out.request.headers.emplace_back(name, value);
  }
  return out;
}

std::string header_value(const Request& r, std::string_view lname) {
  for (const auto& [k, v] : r.headers) {
    std::string l = k;
    std::transform(l.begin(), l.end(), l.begin(), ::tolower);
    if (l == lname) return v;
  }
  return {};
}

std::string squeeze_commas(std::string s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == ',' && i + 1 < s.size() && s[i + 1] == ' ') {
      out.push_back(',');
      ++i;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

struct Group {
  const char* dir;
  const char* access;
  const char* secret;
  const char* region;
  const char* service;
  bool normalize;
  bool payload_from_header;  // S3 examples: x-amz-content-sha256
};

void run_group(const Group& g, std::size_t min_cases) {
  std::vector<fs::path> cases;
  for (const auto& e : fs::directory_iterator(kData / g.dir))
    if (e.is_directory()) cases.push_back(e.path());
  std::sort(cases.begin(), cases.end());
  REQUIRE(cases.size() >= min_cases);
  for (const auto& dir : cases) {
    const std::string name = dir.filename().string();
    DYNAMIC_SECTION(g.dir << "/" << name) {
      ParsedReq p = parse_req(slurp(dir / (name + ".req")));
      const std::string creq = slurp(dir / (name + ".creq"));
      const std::string sts = slurp(dir / (name + ".sts"));
      const std::string authz = slurp(dir / (name + ".authz"));
      p.request.payload_hash = g.payload_from_header ? header_value(p.request, "x-amz-content-sha256")
                                                     : sha256_hex(p.body);
      REQUIRE(p.amz_date.size() == 16);
      Options opt;
      opt.normalize_path = g.normalize;

      // Step by step, each against its published file.
      CHECK(canonical_request(p.request, opt) == creq);
      Scope scope{p.amz_date.substr(0, 8), g.region, g.service};
      CHECK(string_to_sign(p.amz_date, scope, creq) == sts);
      std::string sig = signature(signing_key(g.secret, scope), sts);
      std::string got = authorization(g.access, scope,
                                      canonical_headers(p.request.headers).signed_headers, sig);
      CHECK(squeeze_commas(got) == squeeze_commas(authz));

      // And all at once.
      Signed s = sign(p.request, g.access, g.secret, p.amz_date, g.region, g.service, opt);
      CHECK(s.canonical_request == creq);
      CHECK(s.string_to_sign == sts);
      CHECK(squeeze_commas(s.authorization) == squeeze_commas(authz));
    }
  }
}

}  // namespace

TEST_CASE("sigv4: AWS test suite vectors", "[sigv4]") {
  run_group({"suite", "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "us-east-1",
             "service", false, false},
            24);
}

TEST_CASE("sigv4: AWS test suite path normalisation (non-S3 services)", "[sigv4]") {
  run_group({"normalize-path", "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
             "us-east-1", "service", true, false},
            7);
}

TEST_CASE("sigv4: Amazon S3 documentation examples", "[sigv4]") {
  run_group({"s3", "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
             "us-east-1", "s3", false, true},
            4);
}

TEST_CASE("sigv4: derived signing keys from the AWS documentation", "[sigv4]") {
  std::ifstream in(kData / "signing-keys.txt");
  REQUIRE(in);
  int n = 0;
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream ls(line);
    std::string secret, date, region, service, want;
    ls >> secret >> date >> region >> service >> want;
    Key k = signing_key(secret, {date, region, service});
    CHECK(hex(k.data(), k.size()) == want);
    ++n;
  }
  CHECK(n >= 2);
}

TEST_CASE("sigv4: URI escaping follows the S3 rules", "[sigv4]") {
  CHECK(uri_encode("-._~AZaz09", false) == "-._~AZaz09");
  CHECK(uri_encode("a b+c:d@e!f", true) == "a%20b%2Bc%3Ad%40e%21f");
  CHECK(uri_encode("dir/sub/file.mp4", true) == "dir/sub/file.mp4");
  CHECK(uri_encode("dir/sub", false) == "dir%2Fsub");
  CHECK(uri_encode("100%", false) == "100%25");
  CHECK(uri_encode("\xc3\xa9\xff", false) == "%C3%A9%FF");  // upper-case hex, every byte
  CHECK(uri_encode("$&'()*,;=?#[]", true) == "%24%26%27%28%29%2A%2C%3B%3D%3F%23%5B%5D");

  // S3 keeps the key exactly: no double escaping, no dot-segment removal.
  CHECK(canonical_uri("/bucket/a%20b") == "/bucket/a%2520b");
  CHECK(canonical_uri("/bucket/./x/../y//z") == "/bucket/./x/../y//z");
  CHECK(canonical_uri("") == "/");
}

TEST_CASE("sigv4: canonical query rules", "[sigv4]") {
  // ?uploads -> "uploads=", and sub-resources sort among the rest.
  CHECK(canonical_query({{"uploads", ""}}) == "uploads=");
  CHECK(canonical_query({{"uploadId", "a/b+c"}, {"partNumber", "3"}}) ==
        "partNumber=3&uploadId=a%2Fb%2Bc");
  // Sorted by *escaped* name, then value, byte order (upper case first).
  CHECK(canonical_query({{"b", "2"}, {"a", "1"}, {"A", "0"}}) == "A=0&a=1&b=2");
  CHECK(canonical_query({{"k", "b"}, {"k", "a"}}) == "k=a&k=b");
  CHECK(canonical_query({{"prefix", "nex/cam 1/~x:y"}, {"list-type", "2"}}) ==
        "list-type=2&prefix=nex%2Fcam%201%2F~x%3Ay");
  CHECK(canonical_query({}) == "");
}

TEST_CASE("sigv4: canonical headers trim, squeeze, merge and sort", "[sigv4]") {
  auto h = canonical_headers({{"X-Amz-Meta-B", "  two   words  "},
                              {"Host", "127.0.0.1:7480"},
                              {"x-amz-meta-a", "1"},
                              {"X-AMZ-META-A", "2"}});
  CHECK(h.block == "host:127.0.0.1:7480\nx-amz-meta-a:1,2\nx-amz-meta-b:two words\n");
  CHECK(h.signed_headers == "host;x-amz-meta-a;x-amz-meta-b");
}

TEST_CASE("sigv4: amz_date and hashing helpers", "[sigv4]") {
  using namespace std::chrono;
  // 2015-08-30T12:36:00Z
  system_clock::time_point t{seconds{1440938160}};
  CHECK(amz_date(t) == "20150830T123600Z");
  CHECK(sha256_hex("") == kEmptySha256);
  CHECK(sha256_hex("Welcome to Amazon S3.") ==
        "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072");
}

// AWS S3 API reference, "Authenticating Requests: Using Query Parameters
// (AWS Signature Version 4)": the example presigned GET of test.txt.
TEST_CASE("sigv4: presigned GET, the AWS documentation example", "[sigv4]") {
  Request r;
  r.method = "GET";
  r.path = "/test.txt";
  r.headers = {{"Host", "examplebucket.s3.amazonaws.com"}};
  r.payload_hash = std::string(kUnsignedPayload);
  const std::string secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
  Presigned p = presign(r, "AKIAIOSFODNN7EXAMPLE", secret, "20130524T000000Z", "us-east-1", "s3", 86400);
  CHECK(p.canonical_request ==
        "GET\n/test.txt\n"
        "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2F"
        "aws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host\n"
        "host:examplebucket.s3.amazonaws.com\n\nhost\nUNSIGNED-PAYLOAD");
  CHECK(p.string_to_sign ==
        "AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n"
        "3bfa292879f6447bbcda7001decf97f4a54dc650c8942174ae0a9121cf58ad04");
  CHECK(p.signature == "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404");
  CHECK(p.query ==
        "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2F"
        "aws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host"
        "&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404");
  CHECK(p.query.find(secret) == std::string::npos);
  // AWS's limit: 7 days; nothing below 1 s.
  CHECK_NOTHROW(presign(r, "AK", "SK", "20130524T000000Z", "us-east-1", "s3", kMaxPresignSeconds));
  CHECK_THROWS_AS(presign(r, "AK", "SK", "20130524T000000Z", "us-east-1", "s3", kMaxPresignSeconds + 1),
                  std::invalid_argument);
  CHECK_THROWS_AS(presign(r, "AK", "SK", "20130524T000000Z", "us-east-1", "s3", 0), std::invalid_argument);
  // A session token is signed too.
  Presigned t = presign(r, "AK", "SK", "20130524T000000Z", "us-east-1", "s3", 60, "TOKEN/x");
  CHECK(t.query.find("X-Amz-Security-Token=TOKEN%2Fx&X-Amz-SignedHeaders=host&X-Amz-Signature=") !=
        std::string::npos);
}
