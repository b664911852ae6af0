// nex/encryption.hpp: sizes, ranged sealing, keys, sealed metadata, tampering.
#include <catch2/catch.hpp>

#include <fstream>
#include <random>
#include <unistd.h>

#include "nex/encryption.hpp"
#include "nex/error.hpp"

using namespace nex::crypt;
namespace fs = std::filesystem;

namespace {
Key test_key(unsigned char seed) {
  std::array<unsigned char, 32> raw{};
  for (unsigned i = 0; i < 32; ++i) raw[i] = static_cast<unsigned char>(seed + i);
  return Key::from_bytes(raw);
}
std::string bytes(size_t n, unsigned seed) {
  std::mt19937 g(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(g());
  return s;
}
struct TempFile {
  fs::path path = fs::temp_directory_path() / ("nex-enc-" + std::to_string(::getpid()) + "-" + std::to_string(rand()));
  ~TempFile() { fs::remove(path); }
  void write(const std::string& d) const { std::ofstream(path, std::ios::binary) << d; }
};
}  // namespace

TEST_CASE("encryption: sizes", "[encryption]") {
  for (uint64_t p : {0ull, 1ull, 65535ull, 65536ull, 65537ull, 8ull << 20, (8ull << 20) + 3}) {
    const uint64_t s = cipher_size(p);
    CHECK(s == 64 + p + 16 * chunk_count(p));
    CHECK(plain_size(s) == p);
  }
  CHECK(chunk_count(0) == 1);
  CHECK(chunk_count(65536) == 1);
  CHECK(chunk_count(65537) == 2);
  CHECK_FALSE(plain_size(79));             // shorter than a header and a tag
  CHECK_FALSE(plain_size(64 + 65552 + 1));  // a chunk boundary plus a byte: no plaintext has that size
}

TEST_CASE("encryption: any range of the object is the same bytes, sealed from the file", "[encryption]") {
  const Key k = test_key(1);
  const std::string plain = bytes(3 * 65536 + 100, 7);
  TempFile f;
  f.write(plain);
  const Sealer s(k, "PRO-1/footage/x.mp4", std::string(64, 'a'), plain.size());
  const std::string whole = s.seal(plain);
  REQUIRE(whole.size() == s.size());
  CHECK(whole.substr(0, 8) == "NEXCRYPT");
  std::string part;
  for (auto [off, len] : std::vector<std::pair<uint64_t, uint64_t>>{
           {0, whole.size()}, {0, 10}, {30, 100}, {64, 65552}, {65000, 70000}, {whole.size() - 5, 5}, {100, 0}}) {
    s.read(f.path, off, len, part);
    CHECK(part == whole.substr(off, len));
  }
  // Deterministic for a name and content; another name, another object.
  CHECK(Sealer(k, "PRO-1/footage/x.mp4", std::string(64, 'a'), plain.size()).seal(plain) == whole);
  CHECK(Sealer(k, "PRO-1/footage/y.mp4", std::string(64, 'a'), plain.size()).seal(plain) != whole);
  CHECK(open(k, whole, "x") == plain);
  // A file shorter than said is an I/O error, not a short object.
  f.write(plain.substr(0, 1000));
  CHECK_THROWS_AS(s.read(f.path, 0, whole.size(), part), nex::IoError);
}

TEST_CASE("encryption: another key, tampering, truncation are errors that name the object", "[encryption]") {
  const Key k = test_key(1);
  const std::string plain = bytes(70000, 3);
  const std::string obj = Sealer(k, plain.size()).seal(plain);
  auto msg = [&](const Key& key, const std::string& o) {
    try {
      (void)open(key, o, "s3://b/o");
    } catch (const nex::InputError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  CHECK_THAT(msg(test_key(2), obj), Catch::Contains("s3://b/o: encrypted with another key (key id " + test_key(1).id_hex()));
  std::string t = obj;
  t[64 + 65552 + 3] ^= 0x40;
  CHECK_THAT(msg(k, t), Catch::Contains("chunk 1 of 2 fails authentication"));
  t = obj;
  t[40] ^= 1;  // the salt: every chunk fails
  CHECK_THAT(msg(k, t), Catch::Contains("chunk 0 of 2 fails authentication"));
  CHECK_THAT(msg(k, obj.substr(0, 64 + 65552)), Catch::Contains("truncated or extended"));
  CHECK_THAT(msg(k, obj + "x"), Catch::Contains("truncated or extended"));
  CHECK_THAT(msg(k, "{\"format\":\"nex-backup\"}"), Catch::Contains("not an encrypted object"));
  // Two objects' last chunks swapped: each is bound to its header.
  const std::string other = Sealer(k, plain.size()).seal(plain);
  CHECK_THAT(msg(k, obj.substr(0, 64) + other.substr(64)), Catch::Contains("fails authentication"));
}

TEST_CASE("encryption: key files", "[encryption]") {
  TempFile f;
  f.write(std::string(64, 'a') + "\n");
  const Key hex = Key::load(f.path);
  f.write(std::string(32, '\xaa'));
  const Key raw = Key::load(f.path);
  CHECK(hex.id_hex() == raw.id_hex());  // the same 32 bytes
  CHECK(hex.id_hex().size() == 16);
  for (const std::string& bad : {std::string(), std::string(31, 'x'), std::string(33, 'x'), std::string(64, 'g'),
                                std::string(64, 'a') + "\n\n", std::string(500, 'a')}) {
    f.write(bad);
    try {
      (void)Key::load(f.path);
      FAIL("accepted a bad key file of " << bad.size() << " bytes");
    } catch (const nex::InputError& e) {
      CHECK_THAT(std::string(e.what()), Catch::Contains("key file " + f.path.string()));
      if (bad.size() > 10) CHECK_THAT(std::string(e.what()), !Catch::Contains(bad.substr(0, 10)));
    }
  }
  CHECK_THROWS_AS(Key::load("/nonexistent/key"), nex::InputError);
}

TEST_CASE("encryption: the sealed SHA-256 of the metadata", "[encryption]") {
  const Key k = test_key(1);
  const std::string sha(64, 'c');
  const std::string v = seal_metadata(k, "PRO-1/a.mp4", sha);
  CHECK(v.rfind("v1-", 0) == 0);
  CHECK(v.find(sha) == std::string::npos);
  CHECK(v == seal_metadata(k, "PRO-1/a.mp4", sha));
  CHECK(open_metadata(k, "PRO-1/a.mp4", v) == sha);
  CHECK_FALSE(open_metadata(k, "PRO-1/b.mp4", v));         // bound to its name
  CHECK_FALSE(open_metadata(test_key(2), "PRO-1/a.mp4", v));  // and its key
  CHECK_FALSE(open_metadata(k, "PRO-1/a.mp4", sha));       // a plain backup's value
}
