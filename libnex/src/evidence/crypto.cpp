// Ed25519 keys and signatures (OpenSSL EVP), SHA-256 of files.
#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <vector>

#include "evidence/internal.hpp"
#include "nex/error.hpp"
#include "nex/fsutil.hpp"

namespace nex::evidence::detail {
namespace {

struct BioDeleter {
  void operator()(BIO* b) const noexcept { BIO_free(b); }
};
using BioPtr = std::unique_ptr<BIO, BioDeleter>;

// Never prompts for a passphrase: an encrypted key fails to load.
int no_passphrase(char*, int, int, void*) { return -1; }

std::string hex(const unsigned char* p, size_t n) {
  static const char* d = "0123456789abcdef";
  std::string out(n * 2, '0');
  for (size_t i = 0; i < n; ++i) {
    out[2 * i] = d[p[i] >> 4];
    out[2 * i + 1] = d[p[i] & 15];
  }
  return out;
}

// The file's text, with clear errors for what is not a readable key file.
std::string read_key_file(const fs::path& pem, const char* what) {
  std::error_code ec;
  if (!fs::exists(pem, ec)) throw InputError(std::string(what) + " " + pem.string() + ": no such file");
  if (fs::is_directory(pem, ec)) throw InputError(std::string(what) + " " + pem.string() + ": is a folder");
  if (fs::file_size(pem, ec) > (1u << 16) || ec)
    throw InputError(std::string(what) + " " + pem.string() + ": not a PEM key (too large or unreadable)");
  try {
    return read_file(pem);
  } catch (const IoError& e) {
    throw InputError(std::string(what) + " " + pem.string() + ": cannot read it: " + e.what());
  }
}

void require_ed25519(EVP_PKEY* k, const fs::path& pem, const char* what) {
  if (EVP_PKEY_get_id(k) != EVP_PKEY_ED25519)
    throw InputError(std::string(what) + " " + pem.string() + ": a " + OBJ_nid2sn(EVP_PKEY_get_base_id(k)) +
                         " key, not Ed25519",
                     "make one with: openssl genpkey -algorithm ed25519 -out key.pem");
}

}  // namespace

PkeyPtr load_private_key(const fs::path& pem) {
  const std::string text = read_key_file(pem, "signing key");
  BioPtr bio(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
  if (!bio) throw IoError("out of memory");
  ERR_clear_error();
  PkeyPtr k(PEM_read_bio_PrivateKey(bio.get(), nullptr, no_passphrase, nullptr));
  ERR_clear_error();
  if (!k) {
    const bool encrypted = text.find("ENCRYPTED") != std::string::npos;
    throw InputError("signing key " + pem.string() + ": " +
                         (encrypted ? "an encrypted key (give one without a passphrase)" : "not a PEM private key"),
                     "make one with: openssl genpkey -algorithm ed25519 -out key.pem");
  }
  require_ed25519(k.get(), pem, "signing key");
  return k;
}

PkeyPtr load_public_key(const fs::path& pem) {
  const std::string text = read_key_file(pem, "key");
  BioPtr bio(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
  if (!bio) throw IoError("out of memory");
  ERR_clear_error();
  PkeyPtr k(PEM_read_bio_PUBKEY(bio.get(), nullptr, no_passphrase, nullptr));
  if (!k) {
    BioPtr again(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
    if (again) k.reset(PEM_read_bio_PrivateKey(again.get(), nullptr, no_passphrase, nullptr));
  }
  ERR_clear_error();
  if (!k)
    throw InputError("key " + pem.string() + ": not a PEM public key",
                     "openssl pkey -in key.pem -pubout -out pub.pem gives the public half of a signing key");
  require_ed25519(k.get(), pem, "key");
  return k;
}

PkeyPtr public_key_from_pem(std::string_view pem) {
  if (pem.size() > (1u << 16)) return nullptr;
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return nullptr;
  PkeyPtr k(PEM_read_bio_PUBKEY(bio.get(), nullptr, no_passphrase, nullptr));
  ERR_clear_error();
  if (!k || EVP_PKEY_get_id(k.get()) != EVP_PKEY_ED25519) return nullptr;
  return k;
}

KeyInfo key_info(EVP_PKEY* key) {
  KeyInfo out;
  unsigned char* der = nullptr;
  const int n = i2d_PUBKEY(key, &der);
  if (n <= 0) throw IoError("cannot encode the public key");
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  const int ok = EVP_Digest(der, static_cast<size_t>(n), md, &len, EVP_sha256(), nullptr);
  OPENSSL_free(der);
  if (ok != 1) throw IoError("SHA-256 failed");
  out.fingerprint = "SHA256:" + hex(md, len);
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PUBKEY(bio.get(), key) != 1) throw IoError("cannot write the public key");
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio.get(), &data);
  out.public_pem.assign(data, static_cast<size_t>(size));
  return out;
}

std::string sign(EVP_PKEY* key, std::string_view data) {
  EVP_MD_CTX* c = EVP_MD_CTX_new();
  if (!c) throw IoError("out of memory");
  std::string sig(64, '\0');
  size_t len = sig.size();
  const bool ok = EVP_DigestSignInit(c, nullptr, nullptr, nullptr, key) == 1 &&
                  EVP_DigestSign(c, reinterpret_cast<unsigned char*>(sig.data()), &len,
                                 reinterpret_cast<const unsigned char*>(data.data()), data.size()) == 1;
  EVP_MD_CTX_free(c);
  ERR_clear_error();
  if (!ok || len != 64) throw IoError("Ed25519 signing failed");
  return sig;
}

bool verify_signature(EVP_PKEY* key, std::string_view data, std::string_view sig) {
  EVP_MD_CTX* c = EVP_MD_CTX_new();
  if (!c) throw IoError("out of memory");
  const bool ok = EVP_DigestVerifyInit(c, nullptr, nullptr, nullptr, key) == 1 &&
                  EVP_DigestVerify(c, reinterpret_cast<const unsigned char*>(sig.data()), sig.size(),
                                   reinterpret_cast<const unsigned char*>(data.data()), data.size()) == 1;
  EVP_MD_CTX_free(c);
  ERR_clear_error();
  return ok;
}

Sha256::Sha256() : c_(EVP_MD_CTX_new()) {
  if (!c_ || EVP_DigestInit_ex(c_, EVP_sha256(), nullptr) != 1) throw IoError("SHA-256 init failed");
}
Sha256::~Sha256() { EVP_MD_CTX_free(c_); }
void Sha256::update(const void* p, size_t n) {
  if (EVP_DigestUpdate(c_, p, n) != 1) throw IoError("SHA-256 failed");
}
std::string Sha256::hex() {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_DigestFinal_ex(c_, md, &len) != 1) throw IoError("SHA-256 failed");
  return detail::hex(md, len);
}

std::string sha256_of(std::string_view data) {
  Sha256 s;
  s.update(data.data(), data.size());
  return s.hex();
}

namespace {

struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

Hashed pump(const fs::path& from, const fs::path* to, const Context& ctx) {
  Fd in{::open(from.c_str(), O_RDONLY | O_CLOEXEC)};
  if (in.fd < 0) throw IoError("cannot open " + from.string() + ": " + errno_text(errno));
  Fd out;
  if (to) {
    out.fd = ::open(to->c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (out.fd < 0) throw IoError("cannot create " + to->string() + ": " + errno_text(errno));
  }
  Sha256 sha;
  Hashed h;
  std::vector<char> buf(1 << 20);
  for (;;) {
    ctx.check_interrupt();
    const ssize_t n = ::read(in.fd, buf.data(), buf.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      throw IoError("cannot read " + from.string() + ": " + errno_text(errno));
    }
    if (n == 0) break;
    sha.update(buf.data(), static_cast<size_t>(n));
    h.size += static_cast<uint64_t>(n);
    for (ssize_t done = 0; to && done < n;) {
      const ssize_t w = ::write(out.fd, buf.data() + done, static_cast<size_t>(n - done));
      if (w < 0) {
        if (errno == EINTR) continue;
        throw IoError("cannot write " + to->string() + ": " + errno_text(errno));
      }
      done += w;
    }
  }
  if (to && ::fsync(out.fd) != 0) throw IoError("cannot write " + to->string() + ": " + errno_text(errno));
  h.sha256 = sha.hex();
  return h;
}

}  // namespace

Hashed hash_file(const fs::path& file, const Context& ctx) { return pump(file, nullptr, ctx); }
Hashed copy_hashed(const fs::path& from, const fs::path& to, const Context& ctx) { return pump(from, &to, ctx); }

bool safe_path(std::string_view p) {
  if (p.empty() || p.size() > 512 || p.front() == '/') return false;
  size_t start = 0;
  while (start <= p.size()) {
    size_t end = p.find('/', start);
    if (end == std::string_view::npos) end = p.size();
    const std::string_view c = p.substr(start, end - start);
    if (c.empty() || c == "." || c == "..") return false;
    start = end + 1;
  }
  for (char ch : p) {
    const auto u = static_cast<unsigned char>(ch);
    if (u < 0x20 || u == 0x7f || ch == '\\') return false;
  }
  return true;
}

}  // namespace nex::evidence::detail

namespace nex::evidence {

KeyInfo check_private_key(const std::filesystem::path& pem) {
  auto k = detail::load_private_key(pem);
  return detail::key_info(k.get());
}

KeyInfo check_public_key(const std::filesystem::path& pem) {
  auto k = detail::load_public_key(pem);
  return detail::key_info(k.get());
}

}  // namespace nex::evidence
