#pragma once
// AWS Signature Version 4 (header form), as pure functions.
//
// The library builds canonical requests itself rather than relying on
// curl's CURLOPT_AWS_SIGV4 (Debian 12's curl 7.88 signs the path and query
// exactly as typed, which S3 servers reject; see NOTES.md "S3"). Every step
// is exposed so that it can be checked against the published AWS vectors
// (tests/data/sigv4).
//
// Inputs are *decoded* text: an object key goes in as "a b/c+d", never
// pre-escaped. The functions here escape it the one way SigV4 wants, and the
// S3 client sends the very same escaped form on the wire.
#include <array>
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace nex::sigv4 {

using Params = std::vector<std::pair<std::string, std::string>>;

inline constexpr std::string_view kAlgorithm = "AWS4-HMAC-SHA256";
inline constexpr std::string_view kUnsignedPayload = "UNSIGNED-PAYLOAD";
// SHA-256 of the empty string.
inline constexpr std::string_view kEmptySha256 =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

struct Request {
  std::string method;        // "GET", "PUT", ...
  std::string path = "/";    // decoded path, e.g. "/bucket/dir/a b.mp4"
  Params query;              // decoded name/value pairs; {"uploads", ""} -> "uploads="
  Params headers;            // every header to sign, as sent (any case, repeats allowed)
  std::string payload_hash;  // lower-case hex SHA-256 of the body, or kUnsignedPayload
};

struct Options {
  // Remove "." / ".." segments and repeated '/' (generic AWS services).
  // Never for S3: there they are part of the object key.
  bool normalize_path = false;
};

struct Scope {
  std::string date;     // YYYYMMDD (the first 8 characters of the x-amz-date)
  std::string region;   // "us-east-1"
  std::string service;  // "s3"
};

// RFC 3986 escaping as SigV4 wants it: A-Z a-z 0-9 - . _ ~ stay, every other
// byte becomes %XX with upper-case hex; '/' stays only if keep_slash.
std::string uri_encode(std::string_view text, bool keep_slash);

// The canonical URI: the path escaped with '/' kept (and normalised if asked).
// An empty path is "/".
std::string canonical_uri(std::string_view path, const Options& options = {});

// Names and values escaped, sorted by escaped name then escaped value, joined
// as "a=1&b=&c=3". This is also the query string the client sends.
std::string canonical_query(const Params& query);

struct CanonicalHeaders {
  std::string block;   // "name:value\n" per header, lower-case names, sorted
  std::string signed_headers;  // "host;x-amz-date"
};
// Lower-cases names, trims values and squeezes runs of blanks to one,
// joins repeated headers with ',' (in the order given), sorts by name.
CanonicalHeaders canonical_headers(const Params& headers);

std::string canonical_request(const Request& request, const Options& options = {});

std::string credential_scope(const Scope& scope);  // "20150830/us-east-1/service/aws4_request"

std::string string_to_sign(std::string_view amz_date, const Scope& scope,
                           std::string_view canonical_request);

using Key = std::array<unsigned char, 32>;
// HMAC chain "AWS4"+secret -> date -> region -> service -> "aws4_request".
Key signing_key(std::string_view secret, const Scope& scope);

// Lower-case hex HMAC-SHA256(key, string_to_sign).
std::string signature(const Key& key, std::string_view string_to_sign);

// "AWS4-HMAC-SHA256 Credential=AK/scope, SignedHeaders=..., Signature=..."
std::string authorization(std::string_view access_key, const Scope& scope,
                          std::string_view signed_headers, std::string_view signature);

struct Signed {
  std::string canonical_request;
  std::string string_to_sign;
  std::string signature;
  std::string authorization;  // the value of the Authorization header
};

// Everything at once. amz_date is the request's x-amz-date (YYYYMMDDTHHMMSSZ);
// the caller must also send it as a header (and list it in request.headers).
Signed sign(const Request& request, std::string_view access_key, std::string_view secret,
            std::string_view amz_date, std::string_view region, std::string_view service,
            const Options& options = {});

// Query signing ("presigned URL", AWS S3 API "Authenticating Requests: Using
// Query Parameters"): the credential, date, lifetime and signed headers go into
// the query instead of an Authorization header, so that anyone holding the URL
// can make that one request until it expires. request.headers must hold at
// least the Host header; request.payload_hash is kUnsignedPayload for S3.
// Only the access key id and the signature appear in the result, never the
// secret.
inline constexpr int64_t kMaxPresignSeconds = 7 * 24 * 3600;  // AWS's limit: 7 days
struct Presigned {
  std::string canonical_request;
  std::string string_to_sign;
  std::string signature;
  std::string query;  // canonical query with X-Amz-Signature last: append to the path after '?'
};
// Throws std::invalid_argument unless 1 <= expires_seconds <= kMaxPresignSeconds.
Presigned presign(const Request& request, std::string_view access_key, std::string_view secret,
                  std::string_view amz_date, std::string_view region, std::string_view service,
                  int64_t expires_seconds, std::string_view session_token = {},
                  const Options& options = {});

// "YYYYMMDDTHHMMSSZ" in UTC.
std::string amz_date(std::chrono::system_clock::time_point when);

// Small crypto helpers (OpenSSL underneath).
std::string hex(const unsigned char* data, std::size_t size);
std::string sha256_hex(std::string_view data);
Key hmac_sha256(std::string_view key, std::string_view data);

}  // namespace nex::sigv4
