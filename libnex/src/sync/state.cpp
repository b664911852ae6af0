// The local state of one card + destination pair (<work>/<id>/state.json).
// Losing it costs time (hashing again, reading manifests), never correctness:
// everything it says is checked against the destination's listing.
#include <chrono>
#include <stdexcept>

#include "nex/error.hpp"
#include "nex/fsutil.hpp"
#include "nex/output.hpp"
#include "nex/json_number.hpp"
#include "sync/internal.hpp"

namespace nex::sync {

namespace {
int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}
}  // namespace

SyncState::SyncState(fs::path file) : file_(std::move(file)) {
  std::error_code ec;
  if (file_.empty() || !fs::exists(file_, ec)) return;
  ojson j;
  try {
    j = ojson::parse(read_file(file_), nullptr, false);
  } catch (const Error&) {
    return;
  }
  if (j.is_discarded() || !j.is_object() || !j.contains("version") || json_int64(j["version"]) != 1) return;
  // Checked numbers: the state file is ours, but a torn or edited one must
  // not become undefined behaviour (get<uint64_t>() of 1e300 is).
  auto u64 = [](const ojson& v) {
    auto x = json_uint64(v);
    if (!x) throw std::invalid_argument("state: not a whole number");
    return *x;
  };
  auto i64 = [](const ojson& v) {
    auto x = json_int64(v);
    if (!x) throw std::invalid_argument("state: not a whole number");
    return *x;
  };
  try {
    for (auto& [path, h] : j.at("hashes").items())
      hashes_[path] = {u64(h.at("size")), i64(h.at("mtime")), h.at("sha256").get<std::string>()};
    for (auto& [folder, it] : j.at("items").items()) {
      ItemRecord r;
      r.recipe = it.at("recipe").get<std::string>();
      r.manifest_size = u64(it.at("manifest_size"));
      for (const auto& f : it.at("files")) r.files.emplace_back(f.at(0).get<std::string>(), u64(f.at(1)));
      items_[folder] = std::move(r);
    }
    if (j.contains("manifests"))
      for (auto& [key, m] : j.at("manifests").items())
        manifests_[key] = {u64(m.at("size")), m.at("etag").get<std::string>(),
                           m.at("text").get<std::string>()};
  } catch (const std::exception&) {  // ojson's type errors and ours: start afresh
    hashes_.clear();
    items_.clear();
    manifests_.clear();
  }
}

std::optional<std::string> SyncState::cached_sha(const fs::path& p, uint64_t size, int64_t mtime_ns) const {
  std::lock_guard lock(mu_);
  auto it = hashes_.find(p.string());
  if (it == hashes_.end() || it->second.size != size || it->second.mtime != mtime_ns) return std::nullopt;
  return it->second.sha;
}

void SyncState::remember_sha(const fs::path& p, uint64_t size, int64_t mtime_ns, const std::string& sha) {
  std::lock_guard lock(mu_);
  hashes_[p.string()] = {size, mtime_ns, sha};
  dirty_ = true;
}

std::optional<SyncState::ItemRecord> SyncState::item(const std::string& folder) const {
  std::lock_guard lock(mu_);
  auto it = items_.find(folder);
  if (it == items_.end()) return std::nullopt;
  return it->second;
}

void SyncState::remember_item(const std::string& folder, ItemRecord r) {
  std::lock_guard lock(mu_);
  items_[folder] = std::move(r);
  dirty_ = true;
}

void SyncState::forget_item(const std::string& folder) {
  std::lock_guard lock(mu_);
  if (items_.erase(folder)) dirty_ = true;
}

std::optional<std::string> SyncState::cached_manifest(const std::string& key, uint64_t size,
                                                      const std::string& etag) const {
  std::lock_guard lock(mu_);
  auto it = manifests_.find(key);
  if (it == manifests_.end() || it->second.size != size || it->second.etag != etag) return std::nullopt;
  return it->second.text;
}

void SyncState::remember_manifest(const std::string& key, uint64_t size, const std::string& etag,
                                  const std::string& text) {
  std::lock_guard lock(mu_);
  manifests_[key] = {size, etag, text};
  dirty_ = true;
}

bool SyncState::dirty() const {
  std::lock_guard lock(mu_);
  return dirty_;
}

void SyncState::save() {
  std::lock_guard lock(mu_);
  if (!dirty_ || file_.empty()) return;
  ojson j;
  j["version"] = 1;
  ojson h = ojson::object();
  for (const auto& [p, v] : hashes_) {
    // Forget files that are gone (rotated off the card, clips cleaned up).
    std::error_code ec;
    if (!fs::exists(p, ec)) continue;
    h[p] = {{"size", v.size}, {"mtime", v.mtime}, {"sha256", v.sha}};
  }
  j["hashes"] = std::move(h);
  ojson items = ojson::object();
  for (const auto& [folder, r] : items_) {
    ojson files = ojson::array();
    for (const auto& [k, s] : r.files) files.push_back(ojson::array({k, s}));
    items[folder] = {{"recipe", r.recipe}, {"manifest_size", r.manifest_size}, {"files", std::move(files)}};
  }
  j["items"] = std::move(items);
  ojson mans = ojson::object();
  for (const auto& [k, m] : manifests_) mans[k] = {{"size", m.size}, {"etag", m.etag}, {"text", m.text}};
  j["manifests"] = std::move(mans);
  write_file_atomic(file_, j.dump());
  dirty_ = false;
  last_save_ms_ = now_ms();
}

void SyncState::save_if_due() {
  {
    std::lock_guard lock(mu_);
    if (!dirty_ || now_ms() - last_save_ms_ < 2000) return;
  }
  save();
}

}  // namespace nex::sync
