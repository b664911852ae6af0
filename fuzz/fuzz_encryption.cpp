// Fuzz target: an object of an encrypted backup (encryption.hpp), read with
// the fuzz key (32 bytes 0x00..0x1f). First byte: 'm' the sealed-metadata
// reader (name "n"), 's' seals the rest and opens it again (it must come back
// the same), anything else the object reader: header, sizes, every chunk.
// Rejects with InputError only; never returns bytes that fail authentication.
#include <array>
#include <cstdint>
#include <string>

#include "nex/encryption.hpp"
#include "nex/error.hpp"

namespace {
const nex::crypt::Key& fuzz_key() {
  static const nex::crypt::Key k = [] {
    std::array<unsigned char, 32> raw{};
    for (unsigned i = 0; i < raw.size(); ++i) raw[i] = static_cast<unsigned char>(i);
    return nex::crypt::Key::from_bytes(raw);
  }();
  return k;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string text(reinterpret_cast<const char*>(data) + 1, size - 1);
  const auto& key = fuzz_key();
  try {
    if (data[0] == 'm') {
      if (auto sha = nex::crypt::open_metadata(key, "n", text); sha && sha->size() != 64) __builtin_trap();
    } else if (data[0] == 's') {
      const nex::crypt::Sealer seal(key, text.size());
      const std::string obj = seal.seal(text);
      if (obj.size() != nex::crypt::cipher_size(text.size())) __builtin_trap();
      if (nex::crypt::plain_size(obj.size()) != text.size()) __builtin_trap();
      if (nex::crypt::open(key, obj, "fuzz") != text) __builtin_trap();
    } else {
      (void)nex::crypt::plain_size(text.size());
      (void)nex::crypt::parse_header(text);
      const std::string plain = nex::crypt::open(key, text, "fuzz");
      const auto h = nex::crypt::parse_header(text);
      if (plain.size() != h.plain_size) __builtin_trap();
    }
  } catch (const nex::InputError&) {
  }
  return 0;
}
