// Working with a backup once it exists: listing it (nexls), getting items
// back (pull), starring and deleting them. None of this needs the card.
#include <sys/stat.h>

#include <algorithm>
#include <fstream>
#include <map>

#include "nex/catalogue.hpp"
#include "nex/encryption.hpp"
#include "nex/error.hpp"
#include "nex/fsutil.hpp"
#include "nex/sigv4.hpp"
#include "nex/units.hpp"
#include "nex/sync.hpp"
#include "sync/internal.hpp"

namespace nex::sync {

int PullReport::exit_code() const {
  for (const auto& r : items)
    if (r.action == "failed") return kExitPartial;
  return kExitOk;
}

bool looks_like_backup(const fs::path& folder) {
  std::error_code ec;
  if (!fs::is_directory(folder, ec) || fs::exists(folder / "camera.yaml", ec)) return false;
  auto has_categories = [&](const fs::path& d) {
    for (const char* c : {"events", "clips", "drives", "footage"})
      if (fs::is_directory(d / c, ec)) return true;
    return false;
  };
  if (has_categories(folder)) return true;  // a serial's folder
  for (fs::directory_iterator it(folder, ec), end; !ec && it != end; it.increment(ec))
    if (it->is_directory(ec) && has_categories(it->path())) return true;
  return false;
}

namespace {

// Destinations opened once per root.
struct Opened {
  const Config& cfg;
  const Context& ctx;
  std::optional<s3::Config> s3;
  std::map<std::string, std::unique_ptr<Destination>> dests;
  std::map<std::string, std::vector<ObjectEntry>> listings;

  Destination& get(const std::string& root) {
    auto& d = dests[root];
    if (!d) {
      DestinationOptions o;
      if (is_s3_url(root)) o.s3 = s3 ? *s3 : s3_config(cfg, ctx);
      d = open_destination(root, cfg, ctx, o);
      d->check(false);
    }
    return *d;
  }
  const std::vector<ObjectEntry>& listing(Destination& d) {
    auto& l = listings[d.url().text()];
    if (l.empty()) l = d.list("");
    return l;
  }
};

struct Target {
  Destination* dest = nullptr;
  ItemRef ref;
};

bool is_manifest_key(const std::string& key, ItemRef* ref) {
  auto r = item_of_key(key);
  if (!r || key != r->manifest_key()) return false;
  if (ref) *ref = *r;
  return true;
}

// "a/b/SERIAL/events/ID[/event.json]" -> root "a/b", item.
std::optional<std::pair<std::string, ItemRef>> split_location(std::string s) {
  while (s.size() > 1 && s.back() == '/') s.pop_back();
  for (const char* m : {"/event.json", "/clip.json", "/drive.json"}) {
    const std::string_view mv(m);
    if (s.size() > mv.size() && s.compare(s.size() - mv.size(), mv.size(), mv) == 0) s.resize(s.size() - mv.size());
  }
  size_t cut = s.size();
  for (int i = 0; i < 3; ++i) {
    if (cut == 0 || cut == std::string::npos) return std::nullopt;
    cut = s.rfind('/', cut - 1);
    if (cut == std::string::npos) return std::nullopt;
  }
  auto ref = parse_item_ref(std::string_view(s).substr(cut + 1));
  if (!ref) return std::nullopt;
  std::string root = s.substr(0, cut);
  if (root == "s3:/" || root.empty()) return std::nullopt;
  return std::make_pair(root, *ref);
}

// Items of a destination matching serial (optional), category (optional) and
// an id or id prefix ("20261120_223015_" for a parking clip's key).
std::vector<ItemRef> find_items(Opened& op, Destination& d, const std::string& serial, const std::string& cat,
                                const std::string& id, bool prefix) {
  std::vector<ItemRef> out;
  for (const auto& e : op.listing(d)) {
    ItemRef r;
    if (!is_manifest_key(e.key, &r)) continue;
    if (!serial.empty() && r.serial != serial) continue;
    if (!cat.empty() && r.category != cat) continue;
    if (prefix ? r.id.rfind(id, 0) != 0 : r.id != id) continue;
    out.push_back(r);
  }
  return out;
}

Target resolve_one(Opened& op, const std::string& spec, const std::string& from) {
  const bool location = is_s3_url(spec) || spec[0] == '/' || spec.rfind("./", 0) == 0 || spec.rfind("../", 0) == 0 ||
                        (from.empty() && spec.find('/') != std::string::npos);
  if (location) {
    auto loc = split_location(spec);
    if (!loc)
      throw UsageError("'" + spec + "' does not name a backed-up item",
                       "give .../SERIAL/events/ID (as 'nexls BACKUP --format ndjson' shows in \"location\")");
    return {&op.get(loc->first), loc->second};
  }
  if (from.empty())
    throw UsageError("'" + spec + "' needs a backup to look in", "give --from s3://bucket/prefix (or a folder)");
  Destination& d = op.get(from);
  std::vector<ItemRef> found;
  if (auto r = parse_item_ref(spec)) found = find_items(op, d, r->serial, r->category, r->id, false);
  else if (auto slash = spec.find('/'); slash != std::string::npos)
    found = find_items(op, d, "", spec.substr(0, slash), spec.substr(slash + 1), false);
  else found = find_items(op, d, "", "", spec, false);
  if (found.empty()) throw InputError("no item '" + spec + "' in " + d.location(), "list them with 'nexls " + d.location() + "'");
  if (found.size() > 1)
    throw UsageError("'" + spec + "' is ambiguous in " + d.location() + " (" + found[0].folder() + ", " +
                     found[1].folder() + (found.size() > 2 ? ", ..." : "") + ")",
                     "give SERIAL/CATEGORY/ID");
  return {&d, found[0]};
}

std::vector<Target> resolve(Opened& op, const ItemSelection& sel) {
  std::vector<Target> out;
  for (const auto& s : sel.specs) out.push_back(resolve_one(op, s, sel.from));
  if (sel.items) {
    std::ifstream file;
    std::istream* in = sel.items_in;
    if (*sel.items != "-") {
      file.open(*sel.items);
      if (!file) throw InputError("cannot read " + sel.items->string());
      in = &file;
    }
    if (!in) throw UsageError("--items - needs standard input");
    std::string line;
    size_t n = 0;
    while (std::getline(*in, line)) {
      ++n;
      if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
      ojson j = ojson::parse(line, nullptr, false);
      if (j.is_discarded() || !j.is_object())
        throw UsageError("--items line " + std::to_string(n) + " is not JSON");
      if (j.contains("location") && j["location"].is_string()) {
        out.push_back(resolve_one(op, j["location"].get<std::string>(), sel.from));
        continue;
      }
      if (!j.contains("type") || !j.contains("id") || !j["type"].is_string() || !j["id"].is_string())
        throw UsageError("--items line " + std::to_string(n) + " has no location, type or id");
      const std::string type = j["type"], id = j["id"];
      if (sel.from.empty()) throw UsageError("--items: '" + id + "' needs --from (the backup to look in)");
      Destination& d = op.get(sel.from);
      const std::string serial = j.value("serial", "");
      std::vector<ItemRef> found;
      if (type == "event") found = find_items(op, d, serial, "events", id, false);
      else if (type == "parking") found = find_items(op, d, serial, "events", id + "_", true);
      else if (type == "drive") found = find_items(op, d, serial, "drives", id, false);
      else if (type == "segment") found = find_items(op, d, serial, "clips", id + "_segment", false);
      else if (type == "clip") found = find_items(op, d, serial, "clips", id, false);
      if (found.empty()) throw InputError("--items line " + std::to_string(n) + ": no " + type + " '" + id + "' in " + d.location());
      out.push_back({&d, found.front()});
    }
  }
  if (out.empty()) throw UsageError("no items given", "name items, or give --items -");
  return out;
}

Manifest load_manifest(Destination& d, const ItemRef& ref) {
  auto text = d.read(ref.manifest_key());
  if (!text) throw InputError("no item " + d.location(ref.folder()) + " (no " + ref.manifest_key() + ")");
  if (crypt::looks_encrypted(*text))
    throw InputError(d.location(ref.manifest_key()) + ": the backup is encrypted",
                     "give its key with --encrypt KEYFILE (or nexsync.encrypt)");
  Manifest m = Manifest::parse(*text);
  if (m.serial != ref.serial || m.id != ref.id || std::string(category(m.kind)) != ref.category)
    throw InputError(d.location(ref.manifest_key()) + ": the manifest names another item (" + m.ref().folder() + ")");
  return m;
}

ItemResult row_for(const ItemRef& ref, const Manifest* m, std::string action, std::string note = {}) {
  ItemResult r;
  r.ref = ref;
  r.kind = m ? m->kind : (ref.category == "drives" ? ItemKind::Drive : ref.category == "clips" ? ItemKind::Clip : ItemKind::Event);
  r.action = std::move(action);
  r.bytes = m ? m->bytes() : 0;
  r.files = m ? m->files.size() : 0;
  r.note = std::move(note);
  return r;
}

// Refuses paths under `root` that pass through a symbolic link (a planted
// link must not carry a download outside the target folder).
void check_no_symlinks(const fs::path& root, const fs::path& file) {
  const fs::path rel = file.lexically_relative(root);
  if (rel.empty() || *rel.begin() == "..") throw InputError(file.string() + " lies outside " + root.string());
  fs::path p = root;
  for (const auto& part : rel) {
    p /= part;
    struct ::stat st {};
    if (::lstat(p.c_str(), &st) != 0) return;  // does not exist yet: created as a real folder
    if (S_ISLNK(st.st_mode))
      throw InputError(p.string() + " is a symbolic link: refusing to write through it");
  }
}

}  // namespace

// --- one item, for pull --evidence (evidence.cpp) ----------------------------------------

void with_item(const ItemSelection& sel, const Config& cfg, const Context& ctx,
               const std::function<void(Destination&, const ItemRef&)>& use) {
  Opened op{cfg, ctx, sel.s3, {}, {}};
  std::vector<Target> targets = resolve(op, sel);
  if (targets.size() != 1)
    throw UsageError("--evidence makes one bundle of one item, not " + std::to_string(targets.size()),
                     "make one bundle per item");
  use(*targets[0].dest, targets[0].ref);
}

// --- pull -------------------------------------------------------------------------------

PullReport run_pull(const PullOptions& o, const Config& cfg, const Context& ctx,
                    const std::function<void(const ItemResult&)>& on_item) {
  if (o.to.empty()) throw UsageError("pull needs --to DIR");
  Opened op{cfg, ctx, o.selection.s3, {}, {}};
  std::vector<Target> targets = resolve(op, o.selection);
  std::error_code ec;
  fs::create_directories(o.to, ec);
  if (ec) throw IoError("cannot create " + o.to.string() + ": " + ec.message());
  const fs::path root = fs::canonical(o.to, ec);
  if (ec) throw IoError("cannot open " + o.to.string() + ": " + ec.message());
  PullReport rep;
  for (const auto& t : targets) {
    ctx.check_interrupt();
    std::optional<Manifest> m;
    try {
      m = load_manifest(*t.dest, t.ref);
      if (o.accept) o.accept(*m);
      size_t fetched = 0;
      for (const auto& f : m->files) {
        ctx.check_interrupt();
        // Manifest::parse admitted only safe relative keys; check again where it lands.
        const fs::path final_path = (root / t.ref.serial / f.key).lexically_normal();
        check_no_symlinks(root, final_path);
        make_parents(final_path);
        if (auto st = stamp(final_path); st && st->size == f.size) {
          if (s3::digest_file({final_path, 0, 0}, false).sha256_hex == f.sha256) continue;
          if (!o.overwrite)
            throw InputError(final_path.string() + " exists and differs from the backup", "remove it or give --overwrite");
        }
        const fs::path part = final_path.parent_path() / ("." + final_path.filename().string() + ".part");
        uint64_t start = 0;
        if (auto st = stamp(part); st && st->size < f.size) start = st->size;
        for (int attempt = 0;; ++attempt) {
          if (start) {
            ++rep.files_resumed;
            ctx.log->info("resuming {} at byte {}", final_path.string(), start);
          }
          const Context* c = &ctx;
          t.dest->fetch(t.ref.serial + "/" + f.key, part, start,
                        [c](uint64_t) { return !(c->interrupted && c->interrupted->load()); });
          const std::string sha = s3::digest_file({part, 0, 0}, false).sha256_hex;
          const uint64_t size = stamp(part) ? stamp(part)->size : 0;
          if (sha == f.sha256 && size == f.size) break;
          if (attempt == 0 && start > 0) {
            ctx.log->warn("{}: the resumed download does not match the manifest; starting over", final_path.string());
            start = 0;
            continue;
          }
          throw InputError(t.dest->location(t.ref.serial + "/" + f.key) + ": SHA-256 " + sha.substr(0, 16) +
                           "... does not match the manifest's " + f.sha256.substr(0, 16) + "...",
                           "the backup is damaged; the file is kept as " + part.string());
        }
        fsync_path(part);
        commit_rename(part, final_path);
        rep.bytes += f.size;
        ++fetched;
      }
      // The manifest last: the pulled folder is a local backup of its own.
      const fs::path mpath = root / t.ref.manifest_key();
      check_no_symlinks(root, mpath);
      make_parents(mpath);
      write_file_atomic(mpath, m->dump());
      ItemResult r = row_for(t.ref, &*m, fetched ? "downloaded" : "present");
      r.note = t.dest->location(t.ref.folder());
      if (on_item) on_item(r);
      rep.items.push_back(std::move(r));
    } catch (const Interrupted&) {
      throw;
    } catch (const UsageError&) {
      throw;
    } catch (const Error& e) {
      if (is_fatal(std::current_exception())) throw;
      ctx.log->error("{}: {}", t.dest->location(t.ref.folder()), e.what());
      ItemResult r = row_for(t.ref, m ? &*m : nullptr, "failed", e.what());
      if (on_item) on_item(r);
      rep.items.push_back(std::move(r));
    }
  }
  return rep;
}

// --- share -------------------------------------------------------------------------

int64_t parse_expiry(std::string_view s, std::chrono::system_clock::time_point now) {
  const std::string text(s);
  const int64_t now_s = std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
  int64_t secs = 0;
  if (!s.empty() && s[0] == '-') {
    throw UsageError("--expires '" + text + "' is in the past", "give a lifetime such as 7d, 12h, 30m");
  } else if (s.size() >= 2 && s.back() == 'd' && s.find_first_not_of("0123456789") == s.size() - 1) {
    if (s.size() > 4) throw UsageError("--expires '" + text + "' is beyond 7 days (S3's limit for a link)");
    secs = std::stoll(text.substr(0, s.size() - 1)) * 86400;
  } else if (auto d = parse_duration(s)) {
    secs = (*d + 999) / 1000;
  } else if (!s.empty() && s.back() == 'Z') {
    auto t = parse_iso(s.substr(0, s.size() - 1));
    if (!t) throw UsageError("bad --expires '" + text + "'", "a lifetime (7d, 12h, 30m) or a UTC time (2026-12-10T00:00:00Z)");
    secs = t->ms / 1000 - now_s;
  } else {
    throw UsageError("bad --expires '" + text + "'", "a lifetime (7d, 12h, 30m) or a UTC time (2026-12-10T00:00:00Z)");
  }
  if (secs <= 0) throw UsageError("--expires '" + text + "' is not in the future", "give a lifetime such as 7d, 12h, 30m");
  if (secs > sigv4::kMaxPresignSeconds)
    throw UsageError("--expires '" + text + "' is beyond 7 days (S3's limit for a link)", "give 7d or less");
  return secs;
}

ojson SharedFile::to_json() const {
  ojson j;
  j["item"] = ref.folder();
  j["file"] = file;
  j["size"] = size;
  j["sha256"] = sha256;
  j["link"] = link;
  j["expires"] = expires;
  return j;
}

std::vector<SharedFile> share_items(const ShareOptions& o, const Config& cfg, const Context& ctx) {
  if (o.expires_seconds < 1 || o.expires_seconds > sigv4::kMaxPresignSeconds)
    throw UsageError("a link expires after 1 second to 7 days (S3's limit)");
  // Links are S3 presigned GETs: a folder cannot hand any out.
  for (const auto& spec : o.selection.specs) {
    const bool location = is_s3_url(spec) || spec[0] == '/' || spec.rfind("./", 0) == 0 || spec.rfind("../", 0) == 0 ||
                          (o.selection.from.empty() && spec.find('/') != std::string::npos);
    const std::string& root = location ? spec : o.selection.from;
    if (!root.empty() && !is_s3_url(root))
      throw UsageError("cannot share from " + root + ": links are S3 presigned GETs, and it is a folder",
                       "share from an S3 backup (s3://BUCKET/PREFIX/SERIAL/events/ID)");
  }
  if (o.selection.items && !o.selection.from.empty() && !is_s3_url(o.selection.from))
    throw UsageError("cannot share from " + o.selection.from + ": links are S3 presigned GETs, and it is a folder");
  Opened op{cfg, ctx, o.selection.s3, {}, {}};
  std::vector<Target> targets = resolve(op, o.selection);
  const auto now = std::chrono::system_clock::now();
  const auto expiry = now + std::chrono::seconds(o.expires_seconds);
  const std::string expires =
      format_iso(LocalTime{std::chrono::duration_cast<std::chrono::seconds>(expiry.time_since_epoch()).count() * 1000}) + "Z";
  std::vector<SharedFile> out;
  for (const auto& t : targets) {
    ctx.check_interrupt();
    auto* s3 = dynamic_cast<S3Access*>(t.dest);
    if (!s3)
      throw UsageError("cannot share " + t.dest->location(t.ref.folder()) + ": links are S3 presigned GETs, and it is a folder");
    const Manifest m = load_manifest(*t.dest, t.ref);
    for (const auto& f : m.files) {
      const std::string rel = t.ref.serial + "/" + f.key;
      auto st = t.dest->stat(rel);
      if (!st || st->size != f.size)
        throw InputError(t.dest->location(rel) + ": " + (st ? "its size differs from the manifest" : "missing from the backup"),
                         "back the item up again ('nexsync CARD DEST')");
      SharedFile sf;
      sf.ref = t.ref;
      sf.file = f.key.substr(f.key.rfind('/') + 1);
      sf.size = f.size;
      sf.sha256 = f.sha256;
      {
        std::lock_guard lock(s3->control_mutex());
        sf.link = s3->control().presign_get(s3->bucket(), s3->object_key(rel), std::chrono::seconds(o.expires_seconds), now);
      }
      sf.expires = expires;
      out.push_back(std::move(sf));
    }
  }
  return out;
}

// --- star / unstar / rm ---------------------------------------------------------------

std::vector<ItemResult> set_starred(const ItemSelection& sel, bool starred, const Config& cfg, const Context& ctx) {
  Opened op{cfg, ctx, sel.s3, {}, {}};
  std::vector<ItemResult> out;
  std::map<Destination*, std::pair<std::set<std::string>, std::map<std::string, std::string>>> changed;
  for (const auto& t : resolve(op, sel)) {
    Manifest m = load_manifest(*t.dest, t.ref);
    const bool was = m.starred;
    if (was != starred) {
      m.starred = starred;
      const std::string text = m.dump();
      t.dest->write(t.ref.manifest_key(), text);
      changed[t.dest].first.insert(t.ref.serial);
      changed[t.dest].second[t.ref.manifest_key()] = text;
    }
    out.push_back(row_for(t.ref, &m, was == starred ? (starred ? "already starred" : "not starred")
                                                    : (starred ? "starred" : "unstarred")));
  }
  for (auto& [d, c] : changed) refresh_catalogues(*d, c.first, c.second, ctx);
  return out;
}

std::vector<ItemResult> remove_items(const ItemSelection& sel, const Config& cfg, const Context& ctx,
                                     const std::function<bool(const std::vector<ItemResult>&)>& confirm) {
  Opened op{cfg, ctx, sel.s3, {}, {}};
  auto targets = resolve(op, sel);
  std::vector<std::optional<Manifest>> mans;
  std::vector<ItemResult> rows;
  for (const auto& t : targets) {
    auto text = t.dest->read(t.ref.manifest_key());
    std::optional<Manifest> m;
    if (text) {
      try {
        m = Manifest::parse(*text);
      } catch (const InputError& e) {
        ctx.log->warn("{}: {} (deleting the folder anyway)", t.dest->location(t.ref.manifest_key()), e.what());
      }
    }
    rows.push_back(row_for(t.ref, m ? &*m : nullptr, "deleted", m && m->starred ? "was starred" : ""));
    mans.push_back(std::move(m));
  }
  if (confirm && !confirm(rows)) {
    for (auto& r : rows) r.action = "kept";
    return rows;
  }
  for (size_t i = 0; i < targets.size(); ++i) {
    ctx.check_interrupt();
    Destination& d = *targets[i].dest;
    const ItemRef& ref = targets[i].ref;
    d.remove(ref.manifest_key());  // first: from here on it is not "backed up"
    std::set<std::string> keys;
    if (mans[i])
      for (const auto& f : mans[i]->files) keys.insert(ref.serial + "/" + f.key);
    for (const auto& e : d.list(ref.folder())) keys.insert(e.key);
    for (const auto& k : keys) d.remove(k);
    ctx.log->info("deleted {} ({} file(s))", d.location(ref.folder()), keys.size());
  }
  std::map<Destination*, std::set<std::string>> changed;
  for (const auto& t : targets) changed[t.dest].insert(t.ref.serial);
  for (auto& [d, serials] : changed) refresh_catalogues(*d, serials, {}, ctx);
  return rows;
}

// --- listing ------------------------------------------------------------------------------

namespace {

std::vector<Column> columns_for(BackupView v) {
  switch (v) {
    case BackupView::Drives:
      return {{"serial", "SERIAL"},     {"id", "DRIVE"},        {"start", "START"},          {"end", "END"},
              {"duration", "DURATION", true}, {"distance_km", "KM", true}, {"cameras", "CAMERAS"},
              {"events", "EVENTS", true}, {"score", "SCORE", true}, {"backed_up", "BACKED UP"},
              {"backed_up_size", "STORED", true}, {"starred", "STAR"}};
    case BackupView::Segments:
      return {{"serial", "SERIAL"}, {"id", "SEGMENT"}, {"start", "START"}, {"duration", "DURATION", true},
              {"cameras", "CAMERAS"}, {"size", "SIZE", true}, {"drive", "DRIVE"}};
    case BackupView::Events:
      return {{"serial", "SERIAL"}, {"id", "EVENT"}, {"time", "TIME"}, {"kind", "KIND"}, {"peak_g", "PEAK G", true},
              {"drive", "DRIVE"}, {"backed_up_size", "STORED", true}, {"starred", "STAR"}};
    case BackupView::Parking:
      return {{"serial", "SERIAL"}, {"id", "CLIP"}, {"start", "START"}, {"duration", "DURATION", true},
              {"cameras", "CAMERAS"}, {"event", "EVENT"}, {"backed_up_size", "STORED", true}, {"starred", "STAR"}};
    case BackupView::Clips:
      return {{"serial", "SERIAL"}, {"id", "CLIP"}, {"start", "START"}, {"duration", "DURATION", true},
              {"cameras", "CAMERAS"}, {"backed_up_size", "STORED", true}, {"starred", "STAR"}};
    case BackupView::Items:
      return {{"item", "ITEM"}, {"type", "TYPE"}, {"time", "TIME"}, {"files", "FILES", true},
              {"backed_up_size", "SIZE", true}, {"starred", "STAR"}};
  }
  return {};
}

bool keep_row(const ojson& row, const ListFilter& f) {
  auto time_of = [&](const char* k) -> std::optional<LocalTime> {
    auto it = row.find(k);
    if (it == row.end() || !it->is_string()) return std::nullopt;
    return parse_iso(it->get<std::string>());
  };
  auto start = time_of("start");
  if (!start) start = time_of("time");
  auto end = time_of("end");
  if (!end) end = start;
  if (f.since && end && *end < *f.since) return false;
  if (f.until && start && *start >= *f.until) return false;
  if (f.kind) {
    auto k = row.find("kind");
    if (k == row.end() || !k->is_string() || k->get<std::string>() != to_string(*f.kind)) return false;
  }
  if (f.camera) {
    auto c = row.find("cameras");
    if (c != row.end() && c->is_array()) {
      bool has = false;
      for (const auto& x : *c) has = has || (x.is_string() && x.get<std::string>() == to_string(*f.camera));
      if (!has) return false;
    }
  }
  return true;
}

}  // namespace

Records list_backup(const std::string& destination, BackupView view, const ListFilter& filter, const Config& cfg,
                    const Context& ctx, const std::vector<std::string>& serials) {
  std::string root = destination;
  std::string only_serial;
  if (!is_s3_url(root)) {
    // A serial's own folder: list it from its parent.
    std::error_code ec;
    fs::path p = fs::absolute(root, ec).lexically_normal();
    if (p.has_filename() == false) p = p.parent_path();
    bool serial_dir = false;
    for (const char* c : {"events", "clips", "drives", "footage"})
      serial_dir = serial_dir || fs::is_directory(p / c, ec);
    if (serial_dir) {
      only_serial = p.filename().string();
      root = p.parent_path().string();
    }
  }
  Opened op{cfg, ctx, std::nullopt, {}, {}};
  Destination& d = op.get(root);
  std::vector<ObjectEntry> picked;
  if (!serials.empty()) {
    // Only these cameras: one listing of each one's prefix.
    for (const auto& s : serials) {
      if (s.empty() || !safe_key(s) || s.find('/') != std::string::npos)
        throw UsageError("bad serial '" + s + "'", "a camera's serial, e.g. PRO-33C1F740");
      for (auto& e : d.list(s))
        if (e.key.rfind(s + "/", 0) == 0) picked.push_back(std::move(e));
    }
  }
  const auto& objects = serials.empty() ? op.listing(d) : picked;
  std::map<std::string, uint64_t> bytes_by_key;
  for (const auto& e : objects) bytes_by_key[e.key] = e.size;
  std::vector<std::pair<LocalTime, ojson>> rows;
  // The manifests, fetched in parallel (a fleet has thousands).
  std::vector<std::string> keys;
  std::vector<ItemRef> refs;
  for (const auto& e : objects) {
    ItemRef ref;
    if (!is_manifest_key(e.key, &ref)) continue;
    if (!only_serial.empty() && ref.serial != only_serial) continue;
    keys.push_back(e.key);
    refs.push_back(ref);
  }
  // One catalogue per camera where it agrees with the LIST, else the manifests.
  const auto texts = read_manifests(d, objects, keys, ctx).texts;
  for (size_t k = 0; k < keys.size(); ++k) {
    const ObjectEntry e{keys[k], 0, {}, {}};
    const ItemRef& ref = refs[k];
    const auto& text = texts[k];
    if (!text) continue;
    // Not one damaged manifest but the whole backup unreadable: one error.
    if (crypt::looks_encrypted(*text))
      throw InputError(d.location(e.key) + ": the backup is encrypted", "give its key with --encrypt KEYFILE (or nexsync.encrypt)");
    Manifest m;
    try {
      m = Manifest::parse(*text);
    } catch (const InputError& err) {
      ctx.log->warn("{}: {}", d.location(e.key), err.what());
      continue;
    }
    uint64_t stored = 0;
    size_t missing = 0;
    for (const auto& f : m.files) {
      auto it = bytes_by_key.find(ref.serial + "/" + f.key);
      if (it != bytes_by_key.end() && it->second == f.size) stored += f.size;
      else ++missing;
    }
    auto decorate = [&](ojson row) {
      row["serial"] = m.serial;
      row["item"] = ref.folder();
      row["location"] = d.location(ref.folder());
      row["starred"] = m.starred;
      row["backed_up"] = m.created;
      row["backed_up_bytes"] = stored;
      row["backed_up_size"] = format_size(stored);
      // A drive still being recorded is not complete, even with every file there.
      row["complete"] = missing == 0 && !m.open;
      row["open"] = m.open;
      return row;
    };
    const LocalTime t = ref.time().value_or(LocalTime{});
    auto add = [&](const char* key) {
      auto it = m.records.find(key);
      if (it == m.records.end()) return;
      if (it->is_array()) {
        for (const auto& r : *it) rows.emplace_back(parse_iso(r.value("start", "")).value_or(t), decorate(r));
      } else if (it->is_object()) {
        rows.emplace_back(t, decorate(*it));
      }
    };
    switch (view) {
      case BackupView::Drives:
        if (m.kind == ItemKind::Drive) add("drives");
        break;
      case BackupView::Segments: add("segments"); break;
      case BackupView::Events: add("events"); break;
      case BackupView::Parking:
        if (m.kind == ItemKind::Parking) add("parking");
        break;
      case BackupView::Clips:
        if (m.kind == ItemKind::Clip) add("clips");
        break;
      case BackupView::Items: {
        ojson row;
        row["type"] = to_string(m.kind);
        row["id"] = m.id;
        row["time"] = format_iso(t);
        row["start"] = m.from ? ojson(format_iso(*m.from)) : ojson(nullptr);
        row["end"] = m.to ? ojson(format_iso(*m.to)) : ojson(nullptr);
        row["files"] = m.files.size();
        row["bytes"] = m.bytes();
        if (auto ev = m.records.find("events"); ev != m.records.end() && ev->is_object())
          row["kind"] = ev->value("kind", "");
        rows.emplace_back(t, decorate(row));
        break;
      }
    }
  }
  std::stable_sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  Records out(columns_for(view));
  for (auto& [t, row] : rows)
    if (keep_row(row, filter)) out.add(std::move(row));
  return out;
}

}  // namespace nex::sync
