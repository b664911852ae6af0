#pragma once
// An S3 client for nexsync: virtual-hosted or path-style requests over libcurl, signed with
// SigV4 (nex/sigv4.hpp), single and multipart uploads streamed from disk,
// downloads that resume, retries with exponential backoff and full jitter.
//
// One Client owns one curl handle (connections are reused); use one Client per
// thread. Credentials never appear in logs or error messages.
//
// The parse_* functions are the pure readers of S3's XML answers (no I/O,
// any input is safe: malformed answers end in nex::InputError).
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "nex/error.hpp"

namespace spdlog {
class logger;
}

namespace nex::s3 {

// How a bucket is addressed: virtual-hosted ("https://BUCKET.s3.amazonaws.com/KEY")
// or path-style ("https://s3.amazonaws.com/BUCKET/KEY"). Auto: virtual-hosted
// for AWS endpoints and DNS-safe bucket names without dots, path otherwise.
enum class Addressing { Auto, Virtual, Path };
std::optional<Addressing> parse_addressing(std::string_view s);  // "auto", "virtual", "path"
const char* to_string(Addressing a) noexcept;
// A bucket name usable as a DNS label set: 3..63 of [a-z0-9.-], a letter or
// digit at both ends, no "..", ".-", "-." and not an IPv4 address.
bool dns_compatible_bucket(std::string_view bucket) noexcept;
// Whether the endpoint is AWS's (*.amazonaws.com, *.amazonaws.com.cn).
bool is_aws_endpoint(std::string_view endpoint_url) noexcept;

struct Config {
  std::string endpoint;  // "http://127.0.0.1:7480" or "https://s3.eu-west-1.amazonaws.com"
  std::string region = "us-east-1";
  std::string access_key;
  std::string secret_key;
  std::string session_token;  // optional (x-amz-security-token, signed)
  Addressing addressing = Addressing::Auto;

  int max_attempts = 5;  // per request, first try included
  std::chrono::milliseconds retry_base{200};
  std::chrono::milliseconds retry_max{20000};
  std::chrono::milliseconds connect_timeout{10000};
  std::chrono::seconds stall_timeout{60};  // abort when nothing moves for this long
  std::string ca_bundle;  // PEM file of the CAs to trust for https (AWS_CA_BUNDLE); "": the system's
  std::uint64_t max_send_rate = 0;         // bytes per second, 0: unlimited
  bool content_md5 = true;                 // send Content-MD5 with uploads

  // Called while bytes move (bytes of the current request body sent or
  // received so far). Return false to stop: the call throws nex::Interrupted.
  std::function<bool(std::uint64_t bytes)> progress;

  // Where retry warnings and request traces go (spdlog's default logger when
  // unset; tools pass their Context's logger so that stdout stays data only).
  std::shared_ptr<spdlog::logger> log;

  // From AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
  // AWS_SESSION_TOKEN, AWS_REGION (or AWS_DEFAULT_REGION), AWS_CA_BUNDLE.
  // Throws nex::UsageError naming the first missing variable.
  static Config from_env();
};

enum class ErrorKind {
  AccessDenied,  // 403: bad secret (SignatureDoesNotMatch), unknown key, no permission
  ClockSkew,     // RequestTimeTooSkewed
  NoSuchBucket,
  NotFound,      // NoSuchKey, or 404 on HEAD
  NoSuchUpload,  // the multipart upload is gone (completed or aborted)
  Integrity,     // BadDigest, XAmzContentSHA256Mismatch: data changed in flight
  InvalidRange,  // 416
  Rejected,      // other 4xx: EntityTooSmall, InvalidPart, MalformedXML, ...
  Throttled,     // 503 SlowDown (retried)
  Server,        // other 5xx (retried)
  Network,       // connection refused/reset, timeouts (retried)
  Protocol,      // an answer we cannot use
};

// Everything the server or the network refuses. An IoError, so the tools map
// it to exit code 1; kind() says what happened.
class Error : public IoError {
 public:
  Error(ErrorKind kind, long http_status, std::string code, const std::string& what,
        std::string hint = {})
      : IoError(what, std::move(hint)), kind_(kind), status_(http_status), code_(std::move(code)) {}
  ErrorKind kind() const noexcept { return kind_; }
  long http_status() const noexcept { return status_; }  // 0 without an HTTP answer
  const std::string& code() const noexcept { return code_; }  // S3 error code, may be ""
  bool retryable() const noexcept;

 private:
  ErrorKind kind_;
  long status_;
  std::string code_;
};

const char* to_string(ErrorKind kind) noexcept;

using Metadata = std::map<std::string, std::string>;  // x-amz-meta-<name> (lower case) -> value

struct ObjectInfo {
  std::string key;
  std::uint64_t size = 0;
  std::string etag;  // without the quotes; "<hex>-<parts>" for multipart objects
  std::string last_modified;
  std::string content_type;  // head/get only
  Metadata metadata;         // head/get only
  std::string storage_class;  // x-amz-storage-class / <StorageClass>; "" when the server sends none (STANDARD)
};

struct ListPage {
  std::vector<ObjectInfo> objects;
  std::vector<std::string> common_prefixes;
  bool truncated = false;
  std::string next_token;  // continuation token for the next page
};

struct MultipartUpload {
  std::string key;
  std::string upload_id;
  std::string initiated;
};

struct MultipartPage {
  std::vector<MultipartUpload> uploads;
  bool truncated = false;
  std::string next_key_marker;
  std::string next_upload_id_marker;
};

struct Part {
  int number = 0;
  std::string etag;  // as upload_part returned it (quotes optional)
};

// A byte range of a file on disk; length 0 with offset 0 means the whole file.
struct FileSlice {
  std::filesystem::path path;
  std::uint64_t offset = 0;
  std::uint64_t length = 0;
};

struct Digests {
  std::string sha256_hex;  // lower-case hex SHA-256
  std::string md5_base64;  // base64 MD5 (Content-MD5), empty if not computed
};

// The digests asked for, in one read of the slice (1 MiB at a time). Throws IoError.
Digests digest_file(const FileSlice& slice, bool with_md5 = true, bool with_sha = true);
Digests digest_memory(std::string_view data, bool with_md5 = true, bool with_sha = true);

struct PutOptions {
  Metadata metadata;         // sent as x-amz-meta-*; names [a-z0-9-_], printable ASCII values
  std::string content_type;  // optional
  std::optional<Digests> digests;  // precomputed digests of the body (skips a read pass)
  // x-amz-storage-class ("STANDARD_IA", ...; "" = the bucket's default). A
  // class the server does not know is refused (400 InvalidArgument/InvalidStorageClass).
  std::string storage_class;
};
// A storage class name as S3 spells them: 1..64 of [A-Z0-9_-] (radosgw
// allows custom classes, so any such name passes; the server decides).
bool valid_storage_class(std::string_view s) noexcept;

struct ErrorDocument {
  std::string code;
  std::string message;
  std::string resource;
  std::string request_id;
};

// --- Pure parsers of S3 answers ------------------------------------------------
// An <Error> document; all fields empty if the text is not one (never throws).
ErrorDocument parse_error(std::string_view xml) noexcept;
// ListObjectsV2 (<ListBucketResult>). Throws InputError.
ListPage parse_list_objects_v2(std::string_view xml);
// <InitiateMultipartUploadResult>: the UploadId. Throws InputError.
std::string parse_initiate_multipart_upload(std::string_view xml);
// <ListMultipartUploadsResult>. Throws InputError.
MultipartPage parse_list_multipart_uploads(std::string_view xml);
// <CompleteMultipartUploadResult>: the ETag without quotes (radosgw sends an
// empty one). S3 may answer 200 with an <Error> document: that throws s3::Error.
std::string parse_complete_multipart_upload(std::string_view xml);
// The request body of CompleteMultipartUpload.
std::string complete_multipart_body(const std::vector<Part>& parts);

class Client {
 public:
  // Throws UsageError for an unusable endpoint.
  explicit Client(Config config);
  ~Client();
  Client(Client&&) noexcept;
  Client& operator=(Client&&) noexcept;
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Throws Error (NoSuchBucket, AccessDenied, ...) unless the bucket is usable.
  void head_bucket(std::string_view bucket);

  // Single PUT with Content-MD5 (payload UNSIGNED-PAYLOAD) or, with content_md5
  // off, the payload's real SHA-256 signed. Returns the ETag.
  std::string put_object(std::string_view bucket, std::string_view key, const FileSlice& body,
                         const PutOptions& options = {});
  std::string put_object(std::string_view bucket, std::string_view key, std::string_view data,
                         const PutOptions& options = {});

  // nullopt if there is no such key.
  std::optional<ObjectInfo> head_object(std::string_view bucket, std::string_view key);

  // Download into dest. start > 0 resumes: dest keeps its first `start` bytes
  // and the rest is fetched with a Range request (an interrupted transfer
  // resumes the same way within the retries, pinned to the ETag with If-Match).
  ObjectInfo get_object(std::string_view bucket, std::string_view key,
                        const std::filesystem::path& dest, std::uint64_t start = 0);

  void delete_object(std::string_view bucket, std::string_view key);

  ListPage list_objects_v2(std::string_view bucket, std::string_view prefix,
                           std::string_view continuation_token = {}, int max_keys = 1000,
                           std::string_view delimiter = {});
  // Every page.
  std::vector<ObjectInfo> list_all(std::string_view bucket, std::string_view prefix);

  // Returns the upload id.
  std::string create_multipart_upload(std::string_view bucket, std::string_view key,
                                      const PutOptions& options = {});
  // Returns the part's ETag. Parts but the last must be >= 5 MiB.
  std::string upload_part(std::string_view bucket, std::string_view key,
                          std::string_view upload_id, int part_number, const FileSlice& body,
                          const std::optional<Digests>& digests = std::nullopt);
  // A part from memory (a part encrypted on the fly).
  std::string upload_part(std::string_view bucket, std::string_view key,
                          std::string_view upload_id, int part_number, std::string_view data,
                          const std::optional<Digests>& digests = std::nullopt);
  // Returns the ETag the server gave (may be empty: radosgw; HEAD has it).
  std::string complete_multipart_upload(std::string_view bucket, std::string_view key,
                                        std::string_view upload_id,
                                        const std::vector<Part>& parts);
  void abort_multipart_upload(std::string_view bucket, std::string_view key,
                              std::string_view upload_id);
  // Every pending upload under the prefix (all pages).
  std::vector<MultipartUpload> list_multipart_uploads(std::string_view bucket,
                                                      std::string_view prefix = {});

  // A presigned GET of the object (SigV4 query signing): a URL anyone can
  // fetch without credentials for `expires` (1 s to 7 days) from `now`. It
  // carries the access key id and a signature, never the secret. No request
  // is made. Throws UsageError for an expiry out of range.
  std::string presign_get(std::string_view bucket, std::string_view key, std::chrono::seconds expires,
                          std::chrono::system_clock::time_point now = std::chrono::system_clock::now()) const;

  // "http://host:port", for messages (never carries credentials).
  const std::string& endpoint() const noexcept;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace nex::s3
