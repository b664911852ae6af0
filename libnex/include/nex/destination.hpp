#pragma once
// Where a backup lives: an S3 bucket and prefix ("s3://bucket/prefix") or a
// local folder, behind one small interface so that listing, pulling,
// starring and deleting do not care where the bytes are. Uploads of footage
// go through the sync engine (sync.hpp), which knows both kinds.
//
// Keys are relative to the destination's root (the prefix or the folder) and
// use '/' as separator. Every key read back from a destination is checked
// with safe_key() before it is used.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "nex/config.hpp"
#include "nex/context.hpp"
#include "nex/s3.hpp"

namespace nex::sync {

struct DestinationUrl {
  bool s3 = false;
  std::string bucket;              // s3
  std::string prefix;              // s3: "" or "backup/fleet" (no slashes at the ends)
  std::filesystem::path folder;    // local: absolute
  std::string text() const;        // "s3://bucket/prefix" or the folder
};

inline bool is_s3_url(std::string_view s) { return s.rfind("s3://", 0) == 0; }
// Throws UsageError for a malformed s3:// URL or an empty path.
DestinationUrl parse_destination(std::string_view text);

struct ObjectEntry {
  std::string key;  // relative to the root
  uint64_t size = 0;
  std::string etag;           // s3 only
  std::string last_modified;  // as the server gave it / local mtime ISO
};

// S3 settings by AWS conventions (DESIGN.md §4, docs/nexsync.md "AWS
// settings"): command-line flags (cfg.flag: s3.profile, s3.stall_timeout) >
// environment (AWS_PROFILE, AWS_ENDPOINT_URL[_S3], AWS_REGION /
// AWS_DEFAULT_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
// AWS_SESSION_TOKEN, AWS_CA_BUNDLE, NEX_S3_ADDRESSING, NEX_S3_STALL_TIMEOUT) >
// the AWS profile (~/.aws/config and credentials: region, endpoint_url,
// s3 = addressing_style, keys or credential_process, ca_bundle) > the config
// file (s3.*). A profile given with --profile supplies the credentials even
// when the environment has some (as the AWS CLI does). Retry messages go to
// ctx.log. Throws UsageError (nothing set, a missing profile) or InputError
// (a malformed AWS file, a failing credential_process).
s3::Config s3_config(const Config& cfg, const Context& ctx);

class Destination {
 public:
  virtual ~Destination() = default;
  const DestinationUrl& url() const { return url_; }
  bool is_s3() const { return url_.s3; }
  // "s3://bucket/prefix/<rel>" or "<folder>/<rel>", for messages and listings.
  std::string location(std::string_view rel = {}) const;

  // Reachable and usable: S3 HEAD bucket (clear errors for bad credentials
  // and a missing bucket); a local folder exists (created when `create`).
  virtual void check(bool create) = 0;
  // Every object under rel_prefix ("" = all), recursively, sorted by key.
  // Temporary files of a local destination are left out.
  virtual std::vector<ObjectEntry> list(std::string_view rel_prefix) = 0;
  // A small object (a manifest); nullopt when it does not exist.
  virtual std::optional<std::string> read(std::string_view rel) = 0;
  // Several small objects (the manifests of a fleet), in the order asked;
  // nullopt for one that does not exist. S3 fetches up to `jobs` at a time,
  // each on a kept-alive connection of its own; folders read one by one.
  virtual std::vector<std::optional<std::string>> read_many(const std::vector<std::string>& rels, int jobs = 16);
  // Replace a small object atomically.
  virtual void write(std::string_view rel, std::string_view data) = 0;
  // Delete (a missing object is not an error).
  virtual void remove(std::string_view rel) = 0;
  // Size and SHA-256 the destination recorded for an object (S3: HEAD, the
  // x-amz-meta-sha256; local: the file's size, sha256 empty). nullopt if missing.
  struct Stat {
    uint64_t size = 0;
    std::string sha256;
  };
  virtual std::optional<Stat> stat(std::string_view rel) = 0;
  // Download into `dest`, keeping its first `start` bytes (a resumed
  // download: S3 Range request). `progress` gets the bytes of this call so
  // far; returning false stops with nex::Interrupted.
  virtual void fetch(std::string_view rel, const std::filesystem::path& dest, uint64_t start,
                     const std::function<bool(uint64_t)>& progress = {}) = 0;

 protected:
  explicit Destination(DestinationUrl url) : url_(std::move(url)) {}
  DestinationUrl url_;
};

struct DestinationOptions {
  std::optional<s3::Config> s3;  // default: s3_config(cfg, ctx)
  // --encrypt KEYFILE (docs/encryption-format.md): objects are sealed on the
  // way in and opened, every chunk checked, on the way out; listings and
  // stat() give plaintext sizes. Default: the flag or config key
  // nexsync.encrypt of `cfg`. Throws InputError for an unusable key file.
  std::filesystem::path encrypt_key;
};

std::unique_ptr<Destination> open_destination(std::string_view url, const Config& cfg,
                                              const Context& ctx,
                                              const DestinationOptions& opts = {});

}  // namespace nex::sync
