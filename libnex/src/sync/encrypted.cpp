// A destination whose objects are encrypted (nexsync --encrypt KEYFILE):
// wraps an S3 bucket or a folder; what goes in is sealed, what comes out is
// opened and checked chunk by chunk (nex/encryption.hpp). Listings give
// plaintext sizes, so the sync's "up to date" compares with the manifests
// as it does for a plain backup. Keys (object names) stay readable: see
// docs/encryption-format.md for why.
#include <system_error>

#include "nex/encryption.hpp"
#include "nex/error.hpp"
#include "sync/internal.hpp"

namespace nex::sync {
namespace {

class EncryptedDestination final : public Destination, public S3Access {
 public:
  EncryptedDestination(std::unique_ptr<Destination> inner, std::shared_ptr<const crypt::Key> key)
      : Destination(inner->url()), inner_(std::move(inner)), key_(std::move(key)),
        s3_(dynamic_cast<S3Access*>(inner_.get())) {}

  const std::shared_ptr<const crypt::Key>& key() const { return key_; }

  // S3Access: the uploader talks to the bucket itself and seals what it sends.
  const s3::Config& s3_settings() const override { return s3().s3_settings(); }
  std::string object_key(std::string_view rel) const override { return s3().object_key(rel); }
  std::string rel_of(std::string_view key) const override { return s3().rel_of(key); }
  const std::string& bucket() const override { return s3().bucket(); }
  s3::Client& control() override { return s3().control(); }
  std::mutex& control_mutex() override { return s3().control_mutex(); }

  void check(bool create) override { inner_->check(create); }

  std::vector<ObjectEntry> list(std::string_view rel_prefix) override {
    auto out = inner_->list(rel_prefix);
    for (auto& e : out)
      if (auto p = crypt::plain_size(e.size)) e.size = *p;  // else a size no file of ours has: it differs
    return out;
  }

  std::optional<std::string> read(std::string_view rel) override {
    auto data = inner_->read(rel);
    if (!data) return data;
    return crypt::open(*key_, *data, location(rel));
  }

  std::vector<std::optional<std::string>> read_many(const std::vector<std::string>& rels, int jobs) override {
    auto out = inner_->read_many(rels, jobs);
    for (size_t i = 0; i < out.size(); ++i)
      if (out[i]) out[i] = crypt::open(*key_, *out[i], location(rels[i]));
    return out;
  }

  void write(std::string_view rel, std::string_view data) override {
    inner_->write(rel, crypt::Sealer(*key_, data.size()).seal(data));
  }

  void remove(std::string_view rel) override { inner_->remove(rel); }

  std::optional<Stat> stat(std::string_view rel) override {
    auto st = inner_->stat(rel);
    if (!st) return st;
    if (auto p = crypt::plain_size(st->size)) st->size = *p;
    // The sealed SHA-256 of the plaintext (S3 metadata); "" when it is not ours.
    st->sha256 = crypt::open_metadata(*key_, rel, st->sha256).value_or("");
    return st;
  }

  // The object comes down to "<dest>.enc" (a download that stops resumes
  // there), then is opened into `dest`: nothing unauthenticated is written.
  void fetch(std::string_view rel, const fs::path& dest, uint64_t, const std::function<bool(uint64_t)>& progress) override {
    const fs::path enc = dest.parent_path() / (dest.filename().string() + ".enc");
    auto st = inner_->stat(rel);
    if (!st) throw InputError(location(rel) + ": not found");
    uint64_t have = 0;
    if (auto s = stamp(enc); s && s->size <= st->size) have = s->size;
    if (have < st->size || st->size == 0) inner_->fetch(rel, enc, have, progress);
    std::error_code ec;
    try {
      crypt::open_file(*key_, enc, dest, location(rel));
    } catch (const InputError&) {
      fs::remove(enc, ec);  // the next attempt downloads it again
      fs::remove(dest, ec);  // and nothing of an object that failed is kept
      throw;
    }
    fs::remove(enc, ec);
  }

 private:
  S3Access& s3() const {
    if (!s3_) throw std::logic_error("S3 access to a folder destination");
    return *s3_;
  }
  std::unique_ptr<Destination> inner_;
  std::shared_ptr<const crypt::Key> key_;
  S3Access* s3_;
};

}  // namespace

std::unique_ptr<Destination> encrypted_destination(std::unique_ptr<Destination> inner,
                                                   std::shared_ptr<const crypt::Key> key) {
  return std::make_unique<EncryptedDestination>(std::move(inner), std::move(key));
}

std::shared_ptr<const crypt::Key> encryption_key(const Destination& d) {
  if (auto* e = dynamic_cast<const EncryptedDestination*>(&d)) return e->key();
  return nullptr;
}

}  // namespace nex::sync
