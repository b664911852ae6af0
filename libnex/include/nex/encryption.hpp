#pragma once
// Client-side encryption of backed-up objects (nexsync --encrypt KEYFILE):
// AES-256-GCM in independently authenticated chunks, so that multipart
// uploads, resumed uploads and ranged reads work on ciphertext as they do on
// plaintext. The byte format is docs/encryption-format.md; this header is its
// only implementation (OpenSSL underneath, in libnex/src/crypt/).
//
// A Key never leaves this module in any printable form: no accessor returns
// its bytes, and its id (a keyed hash) is all that messages show.
#include <array>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace nex::crypt {

inline constexpr std::size_t kHeaderSize = 64;
inline constexpr std::size_t kTagSize = 16;
inline constexpr std::uint32_t kChunkSize = 65536;  // plaintext bytes per chunk (what nex writes)
inline constexpr std::uint32_t kMinChunkSize = 1024, kMaxChunkSize = 16u << 20;  // what readers accept
inline constexpr std::string_view kMagic = "NEXCRYPT";

class Key {
 public:
  // A key file holds 32 random bytes, raw or as 64 hex digits (one optional
  // trailing newline): `openssl rand 32 > k` or `openssl rand -hex 32 > k`.
  // Throws InputError naming the file and what is wrong (missing,
  // unreadable, a folder, empty, wrong length, not hex); never its content.
  static Key load(const std::filesystem::path& file);
  static Key from_bytes(const std::array<unsigned char, 32>& raw);
  ~Key();
  Key(const Key&) = default;
  Key& operator=(const Key&) = default;

  // 16 hex digits: the first 8 bytes of HMAC-SHA256(key, "nex-encryption-v1 key id").
  std::string id_hex() const;
  const std::array<unsigned char, 8>& id() const { return id_; }

 private:
  Key() = default;
  friend class Sealer;
  friend class Opener;
  friend std::string seal_metadata(const Key&, std::string_view, std::string_view);
  friend std::optional<std::string> open_metadata(const Key&, std::string_view, std::string_view);
  std::array<unsigned char, 32> k_{};
  std::array<unsigned char, 8> id_{};
};

struct Header {
  std::uint32_t chunk_size = kChunkSize;
  std::uint64_t plain_size = 0;
  std::array<unsigned char, 8> key_id{};
  std::array<unsigned char, 32> salt{};
};
// The 64 header bytes of an object (untrusted input). Throws InputError for
// anything but a version-1 AES-256-GCM header with a chunk size in range.
Header parse_header(std::string_view bytes);
std::string encode_header(const Header& h);
bool looks_encrypted(std::string_view first_bytes) noexcept;  // starts with the magic

// Sizes: the chunks of a plaintext and the object that holds them.
std::uint64_t chunk_count(std::uint64_t plain_size, std::uint32_t chunk_size = kChunkSize) noexcept;
std::uint64_t cipher_size(std::uint64_t plain_size, std::uint32_t chunk_size = kChunkSize) noexcept;
// The plaintext size of an object of `cipher_size` bytes; nullopt when no
// plaintext has that object size.
std::optional<std::uint64_t> plain_size(std::uint64_t cipher_size, std::uint32_t chunk_size = kChunkSize) noexcept;

// Produces the bytes of one object from its plaintext (a file or memory).
class Sealer {
 public:
  // Deterministic: the salt is HMAC-SHA256(key, "nex-encryption-v1 salt" |
  // name | plaintext SHA-256), so the same file under the same name
  // encrypts to the same bytes (a resumed multipart upload continues with
  // parts that fit the ones already sent).
  Sealer(const Key& key, std::string_view name, std::string_view plain_sha256_hex, std::uint64_t plain_size);
  // A random salt (manifests, local copies).
  Sealer(const Key& key, std::uint64_t plain_size);
  std::uint64_t size() const { return cipher_size(h_.plain_size, h_.chunk_size); }
  const std::string& header() const { return header_; }
  // Bytes [offset, offset + length) of the object into `out` (resized),
  // reading the plaintext it needs from `plain` with pread. Throws IoError
  // when the file is shorter than the plaintext size given.
  void read(const std::filesystem::path& plain, std::uint64_t offset, std::uint64_t length, std::string& out) const;
  // The whole object of a plaintext held in memory (plain.size() must be the size given).
  std::string seal(std::string_view plain) const;
  // Chunk `index` (its plaintext, chunk_size bytes but the last) appended to
  // `out` as it lies in the object: ciphertext, then its 16-byte tag.
  void append_chunk(std::uint64_t index, std::string_view plain, std::string& out) const;
  std::uint32_t chunk_size() const { return h_.chunk_size; }

 private:
  void init(const Key& key);
  void seal_chunk(std::uint64_t index, const unsigned char* in, std::size_t n, unsigned char* out) const;
  Header h_;
  std::string header_;
  std::array<unsigned char, 32> file_key_{};
};

// Reads one object back, checking every chunk. Errors are InputErrors that
// name `what` (the object's location): another key (its id and yours), a
// chunk that fails authentication (tampered with or damaged), a truncated
// or over-long object. Never returns unauthenticated bytes.
class Opener {
 public:
  Opener(const Key& key, std::string_view header_bytes, std::string what);
  const Header& header() const { return h_; }
  // Plaintext of chunk `index` from its ciphertext (chunk bytes + tag).
  void open_chunk(std::uint64_t index, std::string_view chunk, std::string& out) const;

 private:
  Header h_;
  std::string header_;
  std::string what_;
  std::array<unsigned char, 32> file_key_{};
};

// The whole plaintext of an object held in memory.
std::string open(const Key& key, std::string_view object, const std::string& what);
// Decrypts the object file `in` into `out` (created or truncated), checking
// every chunk; `sink` (optional) sees the plaintext as it is written.
// Returns the plaintext size.
std::uint64_t open_file(const Key& key, const std::filesystem::path& in, const std::filesystem::path& out,
                        const std::string& what,
                        const std::function<void(const char*, std::size_t)>& sink = {});

// An object's plaintext SHA-256, sealed for its S3 metadata (x-amz-meta-sha256):
// readable only with the key, bound to the object's name, deterministic.
std::string seal_metadata(const Key& key, std::string_view name, std::string_view plain_sha256_hex);
// The SHA-256 back; nullopt when the value was not sealed with this key for this name.
std::optional<std::string> open_metadata(const Key& key, std::string_view name, std::string_view value);

}  // namespace nex::crypt
