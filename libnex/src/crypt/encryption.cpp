// AES-256-GCM in chunks (docs/encryption-format.md), OpenSSL EVP underneath.
#include "nex/encryption.hpp"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <vector>

#include "nex/error.hpp"
#include "nex/fsutil.hpp"
#include "nex/sigv4.hpp"

namespace fs = std::filesystem;

namespace nex::crypt {
namespace {

constexpr std::string_view kIdLabel = "nex-encryption-v1 key id";
constexpr std::string_view kSaltLabel = "nex-encryption-v1 salt";
constexpr std::string_view kFileKeyLabel = "nex-encryption-v1 file key";
constexpr std::string_view kMetaKeyLabel = "nex-encryption-v1 metadata";
constexpr std::string_view kMetaNonceLabel = "nex-encryption-v1 metadata nonce";

std::string_view as_view(const std::array<unsigned char, 32>& a) {
  return {reinterpret_cast<const char*>(a.data()), a.size()};
}

std::string labelled(std::string_view label, std::initializer_list<std::string_view> parts) {
  std::string s(label);
  for (auto p : parts) {
    s.push_back('\0');
    s.append(p);
  }
  return s;
}

struct CtxDeleter {
  void operator()(EVP_CIPHER_CTX* c) const noexcept { EVP_CIPHER_CTX_free(c); }
};
using CtxPtr = std::unique_ptr<EVP_CIPHER_CTX, CtxDeleter>;

CtxPtr new_ctx() {
  CtxPtr c(EVP_CIPHER_CTX_new());
  if (!c) throw IoError("OpenSSL: cannot allocate a cipher context");
  return c;
}

// One AES-256-GCM operation. Returns false when decryption fails authentication.
bool gcm(EVP_CIPHER_CTX* c, bool encrypt, const unsigned char* key, const unsigned char nonce[12],
         std::string_view aad, const unsigned char* in, std::size_t n, unsigned char* out, unsigned char tag[16]) {
  int len = 0;
  auto ok = [](int r) {
    if (r != 1) throw IoError("OpenSSL: AES-256-GCM failed");
  };
  ok(EVP_CipherInit_ex(c, EVP_aes_256_gcm(), nullptr, nullptr, nullptr, encrypt ? 1 : 0));
  ok(EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_IVLEN, 12, nullptr));
  ok(EVP_CipherInit_ex(c, nullptr, nullptr, key, nonce, encrypt ? 1 : 0));
  if (!aad.empty())
    ok(EVP_CipherUpdate(c, nullptr, &len, reinterpret_cast<const unsigned char*>(aad.data()), static_cast<int>(aad.size())));
  std::size_t done = 0;
  while (done < n) {  // int lengths: feed at most 1 GiB at a time
    const int step = static_cast<int>(std::min<std::size_t>(n - done, 1u << 30));
    ok(EVP_CipherUpdate(c, out + done, &len, in + done, step));
    done += static_cast<std::size_t>(step);
  }
  if (encrypt) {
    ok(EVP_CipherFinal_ex(c, out + done, &len));
    ok(EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, 16, tag));
    return true;
  }
  ok(EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, 16, tag));
  return EVP_CipherFinal_ex(c, out + done, &len) == 1;
}

void chunk_nonce(std::uint64_t index, bool last, unsigned char nonce[12]) {
  std::memset(nonce, 0, 12);
  for (int i = 0; i < 8; ++i) nonce[3 + i] = static_cast<unsigned char>(index >> (56 - 8 * i));
  nonce[11] = last ? 1 : 0;
}

std::array<unsigned char, 32> file_key_of(const std::array<unsigned char, 32>& k, const std::array<unsigned char, 32>& salt) {
  return sigv4::hmac_sha256(as_view(k), labelled(kFileKeyLabel, {as_view(salt)}));
}

// The plaintext length of chunk `i` of an object.
std::size_t chunk_len(const Header& h, std::uint64_t i) {
  const std::uint64_t start = i * h.chunk_size;
  return static_cast<std::size_t>(std::min<std::uint64_t>(h.chunk_size, h.plain_size - std::min(h.plain_size, start)));
}

std::string hex_of(const unsigned char* p, std::size_t n) { return sigv4::hex(p, n); }

int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool unhex(std::string_view s, unsigned char* out) {
  for (std::size_t i = 0; i < s.size() / 2; ++i) {
    const int a = hexval(s[2 * i]), b = hexval(s[2 * i + 1]);
    if (a < 0 || b < 0) return false;
    out[i] = static_cast<unsigned char>(a * 16 + b);
  }
  return s.size() % 2 == 0;
}

void put_be(std::string& s, std::size_t at, std::uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) s[at + static_cast<std::size_t>(i)] = static_cast<char>(v >> (8 * (bytes - 1 - i)));
}
std::uint64_t get_be(std::string_view s, std::size_t at, int bytes) {
  std::uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v = (v << 8) | static_cast<unsigned char>(s[at + static_cast<std::size_t>(i)]);
  return v;
}

struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

void pread_fully(int fd, char* buf, std::size_t n, std::uint64_t off, const fs::path& what) {
  std::size_t done = 0;
  while (done < n) {
    const ssize_t r = ::pread(fd, buf + done, n - done, static_cast<off_t>(off + done));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) throw IoError("cannot read " + what.string() + ": " + errno_text(errno));
    if (r == 0) throw IoError(what.string() + " is shorter than expected (it changed while it was read?)");
    done += static_cast<std::size_t>(r);
  }
}

}  // namespace

// --- keys ----------------------------------------------------------------------

Key::~Key() { OPENSSL_cleanse(k_.data(), k_.size()); }

Key Key::from_bytes(const std::array<unsigned char, 32>& raw) {
  Key k;
  k.k_ = raw;
  const auto id = sigv4::hmac_sha256(as_view(raw), kIdLabel);
  std::copy_n(id.begin(), 8, k.id_.begin());
  return k;
}

Key Key::load(const fs::path& file) {
  const std::string what = "key file " + file.string();
  const std::string hint = "a key is 32 random bytes, raw or as 64 hex digits: openssl rand -hex 32 > KEYFILE";
  std::error_code ec;
  if (!fs::exists(file, ec)) throw InputError(what + ": no such file", hint);
  if (fs::is_directory(file, ec)) throw InputError(what + ": is a folder", hint);
  const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw InputError(what + ": cannot read it: " + errno_text(errno));
  Fd guard{fd};
  std::string data(200, '\0');
  std::size_t n = 0;
  bool more = false;
  for (;;) {
    const ssize_t r = ::read(fd, data.data() + n, data.size() - n);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) throw InputError(what + ": cannot read it: " + errno_text(errno));
    if (r == 0) break;
    n += static_cast<std::size_t>(r);
    if (n == data.size()) {  // too long to be a key: the size check below says so
      more = true;
      break;
    }
  }
  data.resize(n);
  if (more) n = data.size();
  std::array<unsigned char, 32> raw{};
  std::string_view t = data;
  if (t.size() == 64 || (t.size() == 65 && t.back() == '\n') || (t.size() == 66 && t.substr(64) == "\r\n")) {
    if (!unhex(t.substr(0, 64), raw.data())) {
      OPENSSL_cleanse(data.data(), data.size());
      throw InputError(what + ": 64 characters that are not all hex digits", hint);
    }
  } else if (t.size() == 32) {
    std::memcpy(raw.data(), t.data(), 32);
  } else {
    OPENSSL_cleanse(data.data(), data.size());
    throw InputError(what + ": " + (n == 0 ? std::string("empty") : "wrong length (" + std::to_string(n) + (more ? "+" : "") + " bytes)"), hint);
  }
  OPENSSL_cleanse(data.data(), data.size());
  Key k = from_bytes(raw);
  OPENSSL_cleanse(raw.data(), raw.size());
  return k;
}

std::string Key::id_hex() const { return hex_of(id_.data(), id_.size()); }

// --- header and sizes -------------------------------------------------------------

bool looks_encrypted(std::string_view b) noexcept { return b.substr(0, kMagic.size()) == kMagic; }

std::string encode_header(const Header& h) {
  std::string s(kHeaderSize, '\0');
  std::memcpy(s.data(), kMagic.data(), kMagic.size());
  s[8] = 1;  // version
  s[9] = 1;  // AES-256-GCM
  put_be(s, 12, h.chunk_size, 4);
  put_be(s, 16, h.plain_size, 8);
  std::memcpy(s.data() + 24, h.key_id.data(), 8);
  std::memcpy(s.data() + 32, h.salt.data(), 32);
  return s;
}

Header parse_header(std::string_view b) {
  if (b.size() < kHeaderSize) throw InputError("not an encrypted object: shorter than its 64-byte header");
  if (!looks_encrypted(b)) throw InputError("not an encrypted object (no NEXCRYPT header)");
  if (b[8] != 1) throw InputError("encrypted with format version " + std::to_string(static_cast<unsigned char>(b[8])) + ", this nex reads version 1");
  if (b[9] != 1) throw InputError("unknown cipher " + std::to_string(static_cast<unsigned char>(b[9])) + " in the header");
  if (b[10] != 0 || b[11] != 0) throw InputError("reserved header bytes are not zero");
  Header h;
  h.chunk_size = static_cast<std::uint32_t>(get_be(b, 12, 4));
  if (h.chunk_size < kMinChunkSize || h.chunk_size > kMaxChunkSize)
    throw InputError("chunk size " + std::to_string(h.chunk_size) + " out of range");
  h.plain_size = get_be(b, 16, 8);
  // So that every size computed from it fits in 64 bits.
  if (h.plain_size > (1ull << 60)) throw InputError("plaintext size " + std::to_string(h.plain_size) + " out of range");
  std::memcpy(h.key_id.data(), b.data() + 24, 8);
  std::memcpy(h.salt.data(), b.data() + 32, 32);
  return h;
}

std::uint64_t chunk_count(std::uint64_t p, std::uint32_t c) noexcept { return p == 0 ? 1 : (p + c - 1) / c; }

std::uint64_t cipher_size(std::uint64_t p, std::uint32_t c) noexcept { return kHeaderSize + p + kTagSize * chunk_count(p, c); }

std::optional<std::uint64_t> plain_size(std::uint64_t s, std::uint32_t c) noexcept {
  if (s < kHeaderSize + kTagSize) return std::nullopt;
  const std::uint64_t body = s - kHeaderSize;
  const std::uint64_t n = (body + c + kTagSize - 1) / (c + kTagSize);
  const std::uint64_t p = body - n * kTagSize;
  if (cipher_size(p, c) != s) return std::nullopt;
  return p;
}

// --- sealing -------------------------------------------------------------------------

Sealer::Sealer(const Key& key, std::string_view name, std::string_view sha, std::uint64_t size) {
  h_.plain_size = size;
  h_.salt = sigv4::hmac_sha256(as_view(key.k_), labelled(kSaltLabel, {name, sha}));
  init(key);
}

Sealer::Sealer(const Key& key, std::uint64_t size) {
  h_.plain_size = size;
  if (RAND_bytes(h_.salt.data(), static_cast<int>(h_.salt.size())) != 1) throw IoError("OpenSSL: no random bytes");
  init(key);
}

void Sealer::init(const Key& key) {
  h_.chunk_size = kChunkSize;
  h_.key_id = key.id_;
  header_ = encode_header(h_);
  file_key_ = file_key_of(key.k_, h_.salt);
}

void Sealer::seal_chunk(std::uint64_t i, const unsigned char* in, std::size_t n, unsigned char* out) const {
  thread_local CtxPtr ctx = new_ctx();
  unsigned char nonce[12];
  chunk_nonce(i, i + 1 == chunk_count(h_.plain_size, h_.chunk_size), nonce);
  gcm(ctx.get(), true, file_key_.data(), nonce, header_, in, n, out, out + n);
}

void Sealer::read(const fs::path& plain, std::uint64_t off, std::uint64_t len, std::string& out) const {
  const std::uint64_t total = size();
  if (off > total || len > total - off) throw std::logic_error("Sealer::read past the end of the object");
  out.resize(static_cast<std::size_t>(len));
  if (len == 0) return;
  std::uint64_t pos = off;
  const std::uint64_t end = off + len;
  if (pos < kHeaderSize) {
    const std::uint64_t n = std::min<std::uint64_t>(kHeaderSize, end) - pos;
    std::memcpy(out.data(), header_.data() + pos, static_cast<std::size_t>(n));
    pos += n;
  }
  if (pos == end) return;
  const int fd = ::open(plain.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw IoError("cannot open " + plain.string() + ": " + errno_text(errno));
  Fd guard{fd};
  const std::uint64_t stride = h_.chunk_size + kTagSize;
  std::vector<char> pbuf(h_.chunk_size);
  std::vector<unsigned char> cbuf(stride);
  for (std::uint64_t i = (pos - kHeaderSize) / stride; pos < end; ++i) {
    const std::uint64_t cstart = kHeaderSize + i * stride;
    const std::size_t n = chunk_len(h_, i);
    pread_fully(fd, pbuf.data(), n, i * h_.chunk_size, plain);
    const std::uint64_t from = pos - cstart, to = std::min<std::uint64_t>(n + kTagSize, end - cstart);
    if (from == 0 && to == n + kTagSize) {  // the whole chunk: straight into out
      seal_chunk(i, reinterpret_cast<const unsigned char*>(pbuf.data()), n,
                 reinterpret_cast<unsigned char*>(out.data() + (pos - off)));
    } else {
      seal_chunk(i, reinterpret_cast<const unsigned char*>(pbuf.data()), n, cbuf.data());
      std::memcpy(out.data() + (pos - off), cbuf.data() + from, static_cast<std::size_t>(to - from));
    }
    pos = cstart + to;
  }
}

std::string Sealer::seal(std::string_view plain) const {
  if (plain.size() != h_.plain_size) throw std::logic_error("Sealer::seal: size differs from the header's");
  std::string out(static_cast<std::size_t>(size()), '\0');
  std::memcpy(out.data(), header_.data(), kHeaderSize);
  const std::uint64_t n = chunk_count(h_.plain_size, h_.chunk_size);
  for (std::uint64_t i = 0; i < n; ++i) {
    const std::size_t len = chunk_len(h_, i);
    seal_chunk(i, reinterpret_cast<const unsigned char*>(plain.data() + i * h_.chunk_size), len,
               reinterpret_cast<unsigned char*>(out.data() + kHeaderSize + i * (h_.chunk_size + kTagSize)));
  }
  return out;
}

void Sealer::append_chunk(std::uint64_t i, std::string_view plain, std::string& out) const {
  if (plain.size() != chunk_len(h_, i)) throw std::logic_error("Sealer::append_chunk: wrong chunk length");
  const std::size_t at = out.size();
  out.resize(at + plain.size() + kTagSize);
  seal_chunk(i, reinterpret_cast<const unsigned char*>(plain.data()), plain.size(),
             reinterpret_cast<unsigned char*>(out.data() + at));
}

// --- opening -------------------------------------------------------------------------

Opener::Opener(const Key& key, std::string_view header_bytes, std::string what) : what_(std::move(what)) {
  try {
    h_ = parse_header(header_bytes);
  } catch (const InputError& e) {
    throw InputError(what_ + ": " + e.what(), "is it a backup made with --encrypt?");
  }
  if (h_.key_id != key.id_)
    throw InputError(what_ + ": encrypted with another key (key id " + hex_of(h_.key_id.data(), 8) + "; this key's id is " +
                         key.id_hex() + ")",
                     "give the key file the backup was made with");
  header_ = std::string(header_bytes.substr(0, kHeaderSize));
  file_key_ = file_key_of(key.k_, h_.salt);
}

void Opener::open_chunk(std::uint64_t i, std::string_view chunk, std::string& out) const {
  const std::uint64_t n = chunk_count(h_.plain_size, h_.chunk_size);
  if (i >= n) throw InputError(what_ + ": longer than its header says (more than " + std::to_string(n) + " chunks)");
  const std::size_t len = chunk_len(h_, i);
  if (chunk.size() != len + kTagSize)
    throw InputError(what_ + ": chunk " + std::to_string(i) + " is cut short (truncated object)");
  thread_local CtxPtr ctx = new_ctx();
  unsigned char nonce[12];
  chunk_nonce(i, i + 1 == n, nonce);
  out.resize(len);
  unsigned char tag[16];
  std::memcpy(tag, chunk.data() + len, 16);
  if (!gcm(ctx.get(), false, file_key_.data(), nonce, header_, reinterpret_cast<const unsigned char*>(chunk.data()), len,
           reinterpret_cast<unsigned char*>(out.data()), tag)) {
    OPENSSL_cleanse(out.data(), out.size());
    out.clear();
    throw InputError(what_ + ": chunk " + std::to_string(i) + " of " + std::to_string(n) +
                         " fails authentication: the object was tampered with or damaged",
                     "nothing of it is used; pull it again, or restore it from another copy");
  }
}

std::string open(const Key& key, std::string_view object, const std::string& what) {
  Opener o(key, object, what);
  const Header& h = o.header();
  if (object.size() != cipher_size(h.plain_size, h.chunk_size))
    throw InputError(what + ": " + std::to_string(object.size()) + " bytes where its header says " +
                     std::to_string(cipher_size(h.plain_size, h.chunk_size)) + " (truncated or extended)");
  std::string out, chunk;
  out.reserve(static_cast<std::size_t>(h.plain_size));
  const std::uint64_t n = chunk_count(h.plain_size, h.chunk_size);
  const std::uint64_t stride = h.chunk_size + kTagSize;
  for (std::uint64_t i = 0; i < n; ++i) {
    const std::uint64_t at = kHeaderSize + i * stride;
    o.open_chunk(i, object.substr(static_cast<std::size_t>(at), static_cast<std::size_t>(std::min<std::uint64_t>(stride, object.size() - at))), chunk);
    out += chunk;
  }
  return out;
}

std::uint64_t open_file(const Key& key, const fs::path& in, const fs::path& out, const std::string& what,
                        const std::function<void(const char*, std::size_t)>& sink) {
  const int ifd = ::open(in.c_str(), O_RDONLY | O_CLOEXEC);
  if (ifd < 0) throw IoError("cannot open " + in.string() + ": " + errno_text(errno));
  Fd ig{ifd};
  struct ::stat st {};
  if (::fstat(ifd, &st) != 0) throw IoError("cannot stat " + in.string() + ": " + errno_text(errno));
  const auto size = static_cast<std::uint64_t>(st.st_size);
  std::string head(kHeaderSize, '\0');
  if (size < kHeaderSize) throw InputError(what + ": not an encrypted object (" + std::to_string(size) + " bytes)");
  pread_fully(ifd, head.data(), kHeaderSize, 0, in);
  Opener o(key, head, what);
  const Header& h = o.header();
  if (size != cipher_size(h.plain_size, h.chunk_size))
    throw InputError(what + ": " + std::to_string(size) + " bytes where its header says " +
                     std::to_string(cipher_size(h.plain_size, h.chunk_size)) + " (truncated or extended)");
  const int ofd = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (ofd < 0) throw IoError("cannot create " + out.string() + ": " + errno_text(errno));
  Fd og{ofd};
  const std::uint64_t n = chunk_count(h.plain_size, h.chunk_size);
  const std::uint64_t stride = h.chunk_size + kTagSize;
  std::string cbuf(static_cast<std::size_t>(stride), '\0'), plain;
  std::uint64_t wpos = 0;
  for (std::uint64_t i = 0; i < n; ++i) {
    const std::size_t clen = chunk_len(h, i) + kTagSize;
    pread_fully(ifd, cbuf.data(), clen, kHeaderSize + i * stride, in);
    o.open_chunk(i, std::string_view(cbuf.data(), clen), plain);
    std::size_t done = 0;
    while (done < plain.size()) {
      const ssize_t w = ::pwrite(ofd, plain.data() + done, plain.size() - done, static_cast<off_t>(wpos + done));
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) throw IoError("cannot write " + out.string() + ": " + errno_text(errno));
      done += static_cast<std::size_t>(w);
    }
    if (sink) sink(plain.data(), plain.size());
    wpos += plain.size();
  }
  return wpos;
}

// --- metadata --------------------------------------------------------------------------

std::string seal_metadata(const Key& key, std::string_view name, std::string_view sha) {
  const auto mk = sigv4::hmac_sha256(as_view(key.k_), kMetaKeyLabel);
  const auto nn = sigv4::hmac_sha256(as_view(key.k_), labelled(kMetaNonceLabel, {name, sha}));
  unsigned char buf[12 + 64 + 16];
  std::memcpy(buf, nn.data(), 12);
  thread_local CtxPtr ctx = new_ctx();
  // The SHA-256 as its 64 hex characters (what the manifests hold).
  if (sha.size() != 64) throw std::logic_error("seal_metadata: not a SHA-256 in hex");
  gcm(ctx.get(), true, mk.data(), buf, name, reinterpret_cast<const unsigned char*>(sha.data()), 64, buf + 12, buf + 76);
  return "v1-" + hex_of(buf, sizeof buf);
}

std::optional<std::string> open_metadata(const Key& key, std::string_view name, std::string_view value) {
  if (value.size() != 3 + 2 * (12 + 64 + 16) || value.substr(0, 3) != "v1-") return std::nullopt;
  unsigned char buf[12 + 64 + 16];
  if (!unhex(value.substr(3), buf)) return std::nullopt;
  const auto mk = sigv4::hmac_sha256(as_view(key.k_), kMetaKeyLabel);
  thread_local CtxPtr ctx = new_ctx();
  std::string sha(64, '\0');
  if (!gcm(ctx.get(), false, mk.data(), buf, name, buf + 12, 64, reinterpret_cast<unsigned char*>(sha.data()), buf + 76))
    return std::nullopt;
  return sha;
}

}  // namespace nex::crypt
