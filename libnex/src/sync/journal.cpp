#include "nex/journal.hpp"

#include <sstream>

#include "nex/error.hpp"
#include "nex/fsutil.hpp"
#include "nex/json_number.hpp"
#include "nex/output.hpp"

namespace fs = std::filesystem;

namespace nex::sync {

Journal::Journal(fs::path file) : file_(std::move(file)) {
  std::error_code ec;
  if (!fs::exists(file_, ec)) return;
  std::istringstream in(read_file(file_));
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    ojson j = ojson::parse(line, nullptr, false);
    if (j.is_discarded() || !j.is_object() || !j.contains("op") || !j.contains("key") ||
        !j.contains("upload")) {
      ++skipped_;  // a torn last line, or garbage: what it said is lost, not fatal
      continue;
    }
    try {
      const auto op = j["op"].get<std::string>();
      const auto key = j["key"].get<std::string>();
      const auto id = j["upload"].get<std::string>();
      if (op == "create") {
        JournalUpload u;
        u.key = key;
        u.upload_id = id;
        // Checked reads: get<uint64_t>() of 1e300 would be undefined behaviour.
        const auto size = json_uint64(j.at("size")), part_size = json_uint64(j.at("part_size"));
        if (!size || !part_size) {
          ++skipped_;
          continue;
        }
        u.size = *size;
        u.sha256 = j.at("sha256").get<std::string>();
        u.part_size = *part_size;
        uploads_[key] = std::move(u);
      } else if (op == "part") {
        // S3 part numbers are 1..10000.
        const auto n = json_int64(j.at("n"));
        if (!n || *n < 1 || *n > 10000) {
          ++skipped_;
          continue;
        }
        auto it = uploads_.find(key);
        if (it != uploads_.end() && it->second.upload_id == id)
          it->second.parts[static_cast<int>(*n)] = j.at("etag").get<std::string>();
      } else if (op == "end") {
        auto it = uploads_.find(key);
        if (it != uploads_.end() && it->second.upload_id == id) uploads_.erase(it);
      } else {
        ++skipped_;
      }
    } catch (const ojson::exception&) {
      ++skipped_;
    }
  }
}

std::vector<JournalUpload> Journal::uploads() const {
  std::lock_guard lock(mu_);
  std::vector<JournalUpload> out;
  for (const auto& [k, u] : uploads_) out.push_back(u);
  return out;
}

std::optional<JournalUpload> Journal::find(const std::string& key) const {
  std::lock_guard lock(mu_);
  auto it = uploads_.find(key);
  if (it == uploads_.end()) return std::nullopt;
  return it->second;
}

void Journal::append(const std::string& line) { append_line_durable(file_, line); }

namespace {
// The line that records a multipart upload's creation (also what compact() keeps).
std::string create_line(const JournalUpload& u) {
  ojson j;
  j["op"] = "create";
  j["key"] = u.key;
  j["upload"] = u.upload_id;
  j["size"] = u.size;
  j["sha256"] = u.sha256;
  j["part_size"] = u.part_size;
  return j.dump();
}
}  // namespace

void Journal::created(const JournalUpload& u) {
  const std::string line = create_line(u);
  std::lock_guard lock(mu_);
  append(line);
  uploads_[u.key] = u;
}

void Journal::part_done(const std::string& key, const std::string& upload_id, int number,
                        const std::string& etag) {
  ojson j;
  j["op"] = "part";
  j["key"] = key;
  j["upload"] = upload_id;
  j["n"] = number;
  j["etag"] = etag;
  std::lock_guard lock(mu_);
  append(j.dump());
  auto it = uploads_.find(key);
  if (it != uploads_.end() && it->second.upload_id == upload_id) it->second.parts[number] = etag;
}

void Journal::ended(const std::string& key, const std::string& upload_id) {
  ojson j;
  j["op"] = "end";
  j["key"] = key;
  j["upload"] = upload_id;
  std::lock_guard lock(mu_);
  append(j.dump());
  auto it = uploads_.find(key);
  if (it != uploads_.end() && it->second.upload_id == upload_id) uploads_.erase(it);
}

void Journal::compact() {
  std::lock_guard lock(mu_);
  std::error_code ec;
  if (uploads_.empty()) {
    fs::remove(file_, ec);
    return;
  }
  std::string text;
  for (const auto& [key, u] : uploads_) {
    text += create_line(u) + "\n";
    for (const auto& [n, etag] : u.parts) {
      ojson p;
      p["op"] = "part";
      p["key"] = u.key;
      p["upload"] = u.upload_id;
      p["n"] = n;
      p["etag"] = etag;
      text += p.dump() + "\n";
    }
  }
  write_file_atomic(file_, text);
}

}  // namespace nex::sync
