#pragma once
// Internal: the machinery behind nex/evidence.hpp. Ed25519 keys through
// OpenSSL EVP, SHA-256 of files (while copying them, in one read), the
// comparison of a clip's stream-copied packets with its source's.
#include <openssl/evp.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "nex/evidence.hpp"

namespace nex::evidence::detail {

namespace fs = std::filesystem;

struct PkeyDeleter {
  void operator()(EVP_PKEY* k) const noexcept { EVP_PKEY_free(k); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyDeleter>;

PkeyPtr load_private_key(const fs::path& pem);               // throws InputError
PkeyPtr load_public_key(const fs::path& pem);                // a public or private key; throws InputError
PkeyPtr public_key_from_pem(std::string_view pem);           // nullptr when it is not an Ed25519 public key
KeyInfo key_info(EVP_PKEY* key);
std::string sign(EVP_PKEY* key, std::string_view data);      // 64 bytes
bool verify_signature(EVP_PKEY* key, std::string_view data, std::string_view sig);

// An SHA-256 in progress.
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  void update(const void* p, size_t n);
  std::string hex();

 private:
  EVP_MD_CTX* c_;
};

std::string sha256_of(std::string_view data);  // lower-case hex

struct Hashed {
  uint64_t size = 0;
  std::string sha256;
};
// The file's size and SHA-256 (one read). Throws IoError.
Hashed hash_file(const fs::path& file, const Context& ctx);
// Copies `from` to `to` (a new file, fsync'd), hashing what it reads: one
// read of the source. Throws IoError.
Hashed copy_hashed(const fs::path& from, const fs::path& to, const Context& ctx);

// Compares the clip's video packets [run.clip_first, +run.frames) (decode
// order) with the source's packets [run.source_first, run.source_last]
// (decode order, the leading pictures of the first keyframe left out). ""
// when they match byte for byte, else why not (one line).
std::string compare_run(const fs::path& clip, const fs::path& source, const Run& run);

// --- writing a bundle (bundle.cpp; also nexsync pull --evidence) ----------------------

std::string utc_iso(LocalTime local, int offset_min);  // "...Z"
std::string now_utc();

// A temporary folder removed unless the bundle was committed (path cleared).
struct TempDir {
  fs::path path;
  ~TempDir();
};
// `.<DIR>.tmp-<pid>` beside DIR, created empty; InputError when DIR exists.
fs::path temp_beside(const fs::path& dir);
// The folder a new bundle goes to (normalised), refused when empty (a
// UsageError) or when anything stands under that name (a bundle is never
// changed: InputError).
fs::path new_bundle_dir(const fs::path& dir);

// Writes evidence.json (doc with "files" from `files` and "signature" from
// the key), its signature, SHA256SUMS; fsyncs and renames tmp to dir.
// Returns the bytes of the three bundle files.
uint64_t seal_bundle(ojson doc, const std::map<std::string, FileEntry>& files, EVP_PKEY* key, const KeyInfo& info,
                     const fs::path& tmp, const fs::path& dir);

// A bundle path is safe: relative, '/' separated, no "." / ".." / empty
// components, no backslash or control characters, at most 512 bytes.
bool safe_path(std::string_view p);

}  // namespace nex::evidence::detail
