#include "nex/backup_layout.hpp"

#include <array>
#include <vector>

#include "nex/error.hpp"
#include "nex/naming.hpp"

namespace nex::sync {
namespace {

struct KindInfo {
  ItemKind kind;
  const char* name;
  const char* category;
  const char* manifest;
};
constexpr std::array<KindInfo, 4> kKinds{{
    {ItemKind::Event, "event", "events", "event.json"},
    {ItemKind::Parking, "parking", "events", "event.json"},
    {ItemKind::Clip, "clip", "clips", "clip.json"},
    {ItemKind::Drive, "drive", "drives", "drive.json"},
}};

const KindInfo& info(ItemKind k) {
  for (const auto& i : kKinds)
    if (i.kind == k) return i;
  return kKinds[0];
}

const char* manifest_for_category(std::string_view cat) {
  if (cat == "events") return "event.json";
  if (cat == "clips") return "clip.json";
  if (cat == "drives") return "drive.json";
  return nullptr;
}

bool serial_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_' || c == '.';
}

bool good_serial(std::string_view s) {
  if (s.empty() || s.size() > 64 || s == "." || s == "..") return false;
  for (char c : s)
    if (!serial_char(c)) return false;
  return true;
}

// An item id: "YYYYMMDD_HHMMSS" optionally followed by "_<word>".
bool good_id(std::string_view id) {
  if (id.size() < 15 || id.size() > 80) return false;
  if (!parse_compact(id.substr(0, 15))) return false;
  if (id.size() == 15) return true;
  if (id[15] != '_' || id.size() == 16) return false;
  for (char c : id.substr(16))
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_')) return false;
  return true;
}

std::vector<std::string_view> split(std::string_view s) {
  std::vector<std::string_view> out;
  size_t start = 0;
  for (;;) {
    size_t slash = s.find('/', start);
    out.push_back(s.substr(start, slash == std::string_view::npos ? slash : slash - start));
    if (slash == std::string_view::npos) return out;
    start = slash + 1;
  }
}

}  // namespace

const char* to_string(ItemKind k) { return info(k).name; }

std::optional<ItemKind> parse_item_kind(std::string_view s) {
  for (const auto& i : kKinds)
    if (s == i.name) return i.kind;
  return std::nullopt;
}

const char* category(ItemKind k) { return info(k).category; }
const char* manifest_name(ItemKind k) { return info(k).manifest; }

std::string ItemRef::folder() const { return serial + "/" + category + "/" + id; }
std::string ItemRef::rel_folder() const { return category + "/" + id; }

std::string ItemRef::manifest_key() const {
  const char* m = manifest_for_category(category);
  return folder() + "/" + (m ? m : "manifest.json");
}

std::optional<LocalTime> ItemRef::time() const {
  if (id.size() < 15) return std::nullopt;
  return parse_compact(std::string_view(id).substr(0, 15));
}

std::optional<ItemRef> parse_item_ref(std::string_view rel) {
  while (!rel.empty() && rel.back() == '/') rel.remove_suffix(1);
  auto parts = split(rel);
  if (parts.size() == 4) {
    const char* m = manifest_for_category(parts[1]);
    if (!m || parts[3] != m) return std::nullopt;
    parts.pop_back();
  }
  if (parts.size() != 3) return std::nullopt;
  if (!good_serial(parts[0]) || !manifest_for_category(parts[1]) || !good_id(parts[2]))
    return std::nullopt;
  return ItemRef{std::string(parts[0]), std::string(parts[1]), std::string(parts[2])};
}

std::optional<ItemRef> item_of_key(std::string_view key) {
  auto parts = split(key);
  if (parts.size() != 4) return std::nullopt;
  if (!good_serial(parts[0]) || !manifest_for_category(parts[1]) || !good_id(parts[2]))
    return std::nullopt;
  return ItemRef{std::string(parts[0]), std::string(parts[1]), std::string(parts[2])};
}

std::string timelapse_part_name(std::string_view segment_key) {
  return "road-timelapse_" + std::string(segment_key) + ".mp4";
}

bool is_timelapse_part_name(std::string_view name) {
  constexpr std::string_view pre = "road-timelapse_", post = ".mp4";
  if (name.size() != pre.size() + 15 + post.size() || !name.starts_with(pre) || !name.ends_with(post)) return false;
  const std::string_view key = name.substr(pre.size(), 15);
  for (size_t i = 0; i < key.size(); ++i)
    if (i == 8 ? key[i] != '_' : (key[i] < '0' || key[i] > '9')) return false;
  return true;
}

std::string footage_rel(LocalTime t, std::string_view file_name) {
  return "footage/" + format_compact(t).substr(0, 8) + "/" + std::string(file_name);
}

std::string clip_slug(std::string_view name) {
  std::string out;
  for (char c : name) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    const bool keep = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    if (keep) out.push_back(c);
    else if (!out.empty() && out.back() != '-') out.push_back('-');
    if (out.size() >= 40) break;
  }
  while (!out.empty() && out.back() == '-') out.pop_back();
  return out.empty() ? "clip" : out;
}

void check_serial(std::string_view serial) {
  if (!good_serial(serial))
    throw InputError("camera serial '" + std::string(serial.substr(0, 64)) +
                         "' cannot name a backup folder",
                     "a serial may hold letters, digits, '-', '_' and '.'");
}

bool safe_key(std::string_view key) {
  if (key.empty() || key.size() > 1024 || key.front() == '/') return false;
  for (char c : key) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f || c == '\\') return false;
  }
  for (auto part : split(key))
    if (part.empty() || part == "." || part == "..") return false;
  return true;
}

std::string join_key(std::string_view prefix, std::string_view rel) {
  if (prefix.empty()) return std::string(rel);
  if (rel.empty()) return std::string(prefix);
  return std::string(prefix) + "/" + std::string(rel);
}

}  // namespace nex::sync
