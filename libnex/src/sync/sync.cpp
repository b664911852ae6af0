// The nexsync job: scan the card, plan, compare with the destination (one
// LIST), roll over under the quota, make clips, upload, verify, write the
// manifests; --watch follows the card with inotify.
#include "nex/sync.hpp"

#include <poll.h>
#include <sys/file.h>
#include <sys/inotify.h>
#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>

#include "nex/camera.hpp"
#include "nex/catalogue.hpp"
#include "nex/cut.hpp"
#include "nex/salvage.hpp"
#include "nex/source.hpp"
#include "nex/error.hpp"
#include "nex/fsutil.hpp"
#include "nex/units.hpp"
#include "sync/internal.hpp"

namespace nex::sync {

// --- small public helpers ----------------------------------------------------------

const char* to_string(DrivesMode m) {
  switch (m) {
    case DrivesMode::Timelapse: return "timelapse";
    case DrivesMode::Full: return "full";
    case DrivesMode::Both: return "both";
    case DrivesMode::None: return "none";
  }
  return "?";
}

std::optional<DrivesMode> parse_drives_mode(std::string_view s) {
  for (auto m : {DrivesMode::Timelapse, DrivesMode::Full, DrivesMode::Both, DrivesMode::None})
    if (s == to_string(m)) return m;
  return std::nullopt;
}

const char* to_string(Carry c) {
  switch (c) {
    case Carry::Events: return "events";
    case Carry::Clips: return "clips";
    case Carry::All: return "all";
  }
  return "?";
}

std::optional<Carry> parse_carry(std::string_view s) {
  for (auto c : {Carry::Events, Carry::Clips, Carry::All})
    if (s == to_string(c)) return c;
  return std::nullopt;
}

bool carries(Carry c, ItemKind k) {
  switch (k) {
    case ItemKind::Event:
    case ItemKind::Parking: return true;
    case ItemKind::Clip: return c != Carry::Events;
    case ItemKind::Drive: return c == Carry::All;
  }
  return false;
}

std::optional<uint64_t> parse_rate(std::string_view s) {
  if (s == "0" || s == "off" || s.empty()) return 0;
  for (std::string_view suffix : {"/s", "ps"})
    if (s.size() > suffix.size() && s.substr(s.size() - suffix.size()) == suffix) s.remove_suffix(suffix.size());
  if (!s.empty() && (s.back() == 'B' || s.back() == 'b') && s.size() > 1 &&
      (s[s.size() - 2] == 'i' || std::isalpha(static_cast<unsigned char>(s[s.size() - 2]))))
    s.remove_suffix(1);
  if (s.size() > 1 && s.back() == 'i') s.remove_suffix(1);
  return parse_size(s);
}

LinkPolicy link_policy(const std::string& link, const Config& cfg) {
  if (link != "wifi" && link != "mobile")
    throw UsageError("unknown link '" + link + "'", "use --link wifi or --link mobile");
  LinkPolicy p;
  p.link = link;
  const std::string carry =
      resolve(std::nullopt, nullptr, cfg, "nexsync.links." + link + ".carry", link == "mobile" ? "events" : "all");
  auto c = parse_carry(carry);
  if (!c)
    throw UsageError("bad nexsync.links." + link + ".carry '" + carry + "' in " + cfg.path().string(),
                     "use events, clips or all");
  p.carry = *c;
  const std::string bw = resolve(std::nullopt, nullptr, cfg, "nexsync.links." + link + ".bwlimit", "0");
  auto r = parse_rate(bw);
  if (!r)
    throw UsageError("bad nexsync.links." + link + ".bwlimit '" + bw + "' in " + cfg.path().string(),
                     "a rate in bytes per second: 2M, 500K");
  p.bwlimit = *r;
  return p;
}

ClipRequest parse_clip_request(std::string_view spec) {
  ClipRequest c;
  std::string_view s = spec;
  if (auto eq = s.find('='); eq != std::string_view::npos) {
    c.name = std::string(s.substr(eq + 1));
    s = s.substr(0, eq);
  }
  auto slash = s.find('/');
  if (slash == std::string_view::npos || slash == 0 || slash + 1 == s.size())
    throw UsageError("bad --clip '" + std::string(spec) + "'",
                     "use FROM/TO[=NAME], e.g. 2026-11-20T08:14:00/+30s=near-miss");
  c.from = std::string(s.substr(0, slash));
  c.to = std::string(s.substr(slash + 1));
  if (c.name.empty()) c.name = "clip";
  return c;
}

std::filesystem::path default_work_dir() {
  if (const char* x = std::getenv("XDG_CACHE_HOME"); x && *x) return fs::path(x) / "nex/sync";
  if (const char* h = std::getenv("HOME"); h && *h) return fs::path(h) / ".cache/nex/sync";
  return fs::temp_directory_path() / "nex-sync";
}

ojson ItemResult::to_json() const {
  ojson j;
  j["item"] = ref.folder();
  j["type"] = to_string(kind);
  j["id"] = ref.id;
  j["action"] = action;
  j["files"] = files;
  j["bytes"] = bytes;
  j["size"] = (estimated ? "~" : "") + format_size(bytes);
  j["estimated"] = estimated;
  j["note"] = note.empty() ? ojson(nullptr) : ojson(note);
  return j;
}

ojson SyncSummary::to_json() const {
  ojson j;
  j["type"] = "summary";
  j["items_planned"] = items_planned;
  j["items_uploaded"] = items_uploaded;
  j["items_up_to_date"] = items_up_to_date;
  j["items_left_out"] = items_left_out;
  j["items_failed"] = items_failed;
  j["items_rolled_over"] = items_rolled_over;
  j["items_deleted"] = items_deleted;
  j["items_waiting"] = items_waiting;
  j["bytes_sent"] = bytes_sent;
  j["objects_sent"] = objects_sent;
  j["parts_sent"] = parts_sent;
  j["parts_resumed"] = parts_resumed;
  j["files_present"] = files_present;
  j["uploads_aborted"] = uploads_aborted;
  j["list_requests"] = requests_list;
  j["over_quota"] = over_quota;
  j["seconds"] = std::round(seconds * 1000.0) / 1000.0;
  return j;
}

int SyncReport::exit_code() const {
  if (camera && !camera->complete()) return kExitPartial;
  return summary.items_left_out || summary.items_failed || summary.over_quota ? kExitPartial : kExitOk;
}

namespace {

int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}
int64_t steady_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// One nexsync per card and destination: an flock, released by the kernel
// when the process ends however it ends.
class DirLock {
 public:
  DirLock(const fs::path& file, const std::string& what) {
    fd_ = ::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd_ < 0) throw IoError("cannot open " + file.string() + ": " + errno_text(errno));
    if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
      std::string holder;
      char buf[32] = {};
      if (::pread(fd_, buf, sizeof buf - 1, 0) > 0) holder = std::string(buf);
      while (!holder.empty() && (holder.back() == '\n' || holder.back() == ' ')) holder.pop_back();
      ::close(fd_);
      fd_ = -1;
      throw IoError("another nexsync is syncing " + what + (holder.empty() ? "" : " (pid " + holder + ")"),
                    "wait for it to finish (the lock goes away with that process)");
    }
    std::string pid = std::to_string(::getpid()) + "\n";
    if (::ftruncate(fd_, 0) == 0) write_fully(fd_, pid.data(), pid.size(), 0, file);
  }
  ~DirLock() {
    if (fd_ >= 0) ::close(fd_);
  }
  DirLock(const DirLock&) = delete;
  DirLock& operator=(const DirLock&) = delete;

 private:
  int fd_ = -1;
};

std::vector<std::pair<std::string, std::string>> read_items(std::istream& in) {
  std::vector<std::pair<std::string, std::string>> out;
  std::string line;
  size_t n = 0;
  while (std::getline(in, line)) {
    ++n;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    ojson j = ojson::parse(line, nullptr, false);
    if (j.is_discarded() || !j.is_object() || !j.contains("type") || !j.contains("id") || !j["type"].is_string() ||
        !j["id"].is_string())
      throw UsageError("--items line " + std::to_string(n) + " is not a nexls record",
                       "feed it 'nexls CARD --format ndjson' (any view)");
    out.emplace_back(j["type"].get<std::string>(), j["id"].get<std::string>());
  }
  return out;
}

const char* content_type(const std::string& name) {
  auto ends = [&](const char* s) {
    const std::string_view e(s);
    return name.size() >= e.size() && name.compare(name.size() - e.size(), e.size(), e) == 0;
  };
  if (ends(".mp4")) return "video/mp4";
  if (ends(".jpg")) return "image/jpeg";
  if (ends(".json")) return "application/json";
  return "application/octet-stream";
}

// Everything one run needs.
struct Job {
  const SyncOptions& o;
  const Context& ctx;
  const std::function<void(const ItemResult&)>& on_item;
  CardScan scan;
  std::string serial;
  DrivesMode drives = DrivesMode::Timelapse;
  std::unique_ptr<Destination> dest;
  fs::path work;
  std::unique_ptr<SyncState> state;
  uint64_t quota = 0;  // 0: none
  std::vector<std::string> camera_recording;  // a camera's mirror: what the camera is recording now
  std::mutex report_mu;
  SyncReport report;

  Job(const SyncOptions& opts, const Context& c, const std::function<void(const ItemResult&)>& cb)
      : o(opts), ctx(c), on_item(cb) {}

  void emit(ItemResult r) {
    std::lock_guard lock(report_mu);
    auto& s = report.summary;
    const std::string& a = r.action;
    if (a == "uploaded" || a == "replaced") ++s.items_uploaded;
    else if (a == "up to date") ++s.items_up_to_date;
    else if (a == "left out") ++s.items_left_out;
    else if (a == "failed") ++s.items_failed;
    else if (a == "rolled over") ++s.items_rolled_over;
    else if (a == "deleted" || a == "would delete") ++s.items_deleted;
    else if (a.rfind("waits", 0) == 0 || a == "deferred" || a == "in progress" || a == "open")
      ++s.items_waiting;
    if (on_item) on_item(r);
    report.items.push_back(std::move(r));
  }

  static ItemResult result(const PlanItem& it, std::string action, std::string note = {}) {
    ItemResult r;
    r.ref = it.ref;
    r.kind = it.kind;
    r.action = std::move(action);
    r.bytes = it.bytes();
    r.estimated = it.estimated();
    r.files = it.files.size();
    r.note = note.empty() ? it.note : std::move(note);
    return r;
  }

  void scan_card_now() {
    ScanOptions so;
    so.probe_media = true;
    so.read_gps = true;
    scan = scan_card(o.card, so, ctx, /*require_identity=*/true);
    if (!scan.camera || !scan.model) throw InputError(o.card.string() + ": no camera identity");
    serial = scan.camera->serial;
    check_serial(serial);
  }

  void setup() {
    if (o.jobs < 1 || o.jobs > 64) throw UsageError("--jobs must be 1..64");
    if (o.part_size < (5ull << 20) || o.part_size > (5ull << 30))
      throw UsageError("--part-size must be 5M..5G", "S3 wants parts of at least 5 MiB (but the last)");
    if (o.retries < 1 || o.retries > 100) throw UsageError("--retries must be 1..100");
    if (o.before_ms < 0 || o.after_ms < 0 || o.before_ms + o.after_ms == 0)
      throw UsageError("the event window is empty", "check --before and --after");
    scan_card_now();
    if (!scan.model->readable)
      ctx.log->info("{} keeps footage in built-in memory; backing up this copy of it", scan.model->name);
    drives = o.drives ? *o.drives
                      : (scan.model->cloud == CloudPolicy::Full ? DrivesMode::Timelapse : DrivesMode::None);
    DestinationOptions dopt;
    if (is_s3_url(o.destination)) dopt.s3 = o.s3 ? *o.s3 : s3_config(Config{}, ctx);
    if (dopt.s3) dopt.s3->log = ctx.log;
    dopt.encrypt_key = o.encrypt_key;
    dest = open_destination(o.destination, Config{}, ctx, dopt);
    if (!dest->is_s3()) {
      // A backup inside the card would be read back as footage.
      std::error_code ec;
      auto card = fs::weakly_canonical(o.card, ec);
      auto d = fs::weakly_canonical(dest->url().folder, ec);
      auto rel = d.lexically_relative(card);
      if (!rel.empty() && (rel == "." || rel.native()[0] != '.'))
        throw UsageError("the destination " + d.string() + " lies inside the card",
                         "back up to a folder outside " + card.string());
    }
    std::error_code exists_ec;
    if (!(o.dry_run && !dest->is_s3() && !fs::exists(dest->url().folder, exists_ec)))
      dest->check(/*create=*/!o.dry_run);
    if (o.quota) quota = *o.quota;
    if (!o.max_size.empty()) {
      if (dest->is_s3()) throw UsageError("--max-size is for local folders", "use --quota for S3");
      quota = std::min(quota ? quota : UINT64_MAX, max_size_bytes());
    }
    work = (o.work_dir.empty() ? default_work_dir() : o.work_dir) /
           (serial + "-" + sha256_hex(dest->url().text()).substr(0, 12));
    if (!o.dry_run) {
      std::error_code ec;
      fs::create_directories(work, ec);
      if (ec) throw IoError("cannot create the work dir " + work.string() + ": " + ec.message(),
                            "give another one with --work-dir");
    }
    // A dry run reads what an earlier run knew (if anything) and writes nothing:
    // it never calls save() (nothing gets dirty without uploads).
    state = std::make_unique<SyncState>(work / "state.json");
  }

  // --max-size 50% | SIZE (local folders).
  uint64_t max_size_bytes() {
    const std::string& m = o.max_size;
    if (!m.empty() && m.back() == '%') {
      char* end = nullptr;
      const double pct = std::strtod(m.c_str(), &end);
      if (end != m.c_str() + m.size() - 1 || !(pct > 0 && pct <= 100))
        throw UsageError("bad --max-size '" + m + "'", "a percentage (50%) or a size (200G)");
      std::error_code ec;
      auto sp = fs::space(dest->url().folder, ec);
      if (ec) {
        // The folder may not exist yet: ask its parent.
        sp = fs::space(dest->url().folder.parent_path(), ec);
        if (ec) throw IoError("cannot tell the free space of " + dest->url().folder.string() + ": " + ec.message());
      }
      // Of the space the backup may use: what is free plus what it holds.
      uint64_t held = 0;
      for (const auto& e : dest->list(serial)) held += e.size;
      return static_cast<uint64_t>(static_cast<double>(sp.available + held) * pct / 100.0);
    }
    auto s = parse_size(m);
    if (!s || *s == 0) throw UsageError("bad --max-size '" + m + "'", "a percentage (50%) or a size (200G)");
    return *s;
  }

  // --- what the destination holds --------------------------------------------------

  std::map<std::string, ObjectEntry> listing;  // rel key -> entry

  void load_listing() {
    listing.clear();
    for (auto& e : dest->list(serial)) listing[e.key] = std::move(e);
    ++report.summary.requests_list;
    note_catalogue_listing();
  }

  // --- the camera's catalogue (nex/catalogue.hpp) --------------------------------------
  // Read once a pass, when a manifest is needed that the state does not
  // have (a run on another machine, the quota's drives); an entry is used
  // only where it agrees with the LIST. Written again at the end of a pass
  // that changed manifests, or found it missing or stale.

  std::mutex cat_mu;
  bool cat_loaded = false, cat_stale = false;
  std::map<std::string, CatalogueEntry> cat_entries;
  std::set<std::string> manifests_listed;                 // the pass's LIST
  std::map<std::string, std::string> manifests_written;   // this pass's, key -> text
  std::atomic<size_t> manifests_read{0}, manifests_from_catalogue{0};

  std::set<std::string> manifest_keys() const {
    std::set<std::string> out;
    for (const auto& [k, e] : listing)
      if (auto r = item_of_key(k); r && k == r->manifest_key()) out.insert(k);
    return out;
  }
  void note_catalogue_listing() {
    std::lock_guard lock(cat_mu);
    cat_loaded = cat_stale = false;
    cat_entries.clear();
    manifests_written.clear();
    manifests_listed = manifest_keys();
    manifests_read = manifests_from_catalogue = 0;
  }

  std::optional<std::string> catalogue_text(const std::string& key, const ObjectEntry& listed) {
    if (!dest->is_s3()) return std::nullopt;
    std::lock_guard lock(cat_mu);
    if (!cat_loaded) {
      cat_loaded = true;
      const std::string ck = catalogue_key(serial);
      if (listing.count(ck)) {
        try {
          auto text = dest->read(ck);
          if (text && !crypt::looks_encrypted(*text)) {
            Catalogue c = Catalogue::parse(*text);
            if (c.serial != serial) throw InputError("catalogue: it is " + c.serial + "'s");
            for (auto& e : c.entries) cat_entries.emplace(e.key, std::move(e));
          }
        } catch (const InputError& e) {
          ctx.log->warn("{}: {}; reading the manifests instead", dest->location(ck), e.what());
        }
      }
    }
    auto it = cat_entries.find(key);
    if (it == cat_entries.end() || !entry_agrees(it->second, listed, !encryption_key(*dest))) {
      cat_stale = true;
      return std::nullopt;
    }
    return it->second.text;
  }

  void update_catalogue() {
    ctx.log->debug("manifests at the destination: {} from the catalogue, {} read", manifests_from_catalogue.load(),
                   manifests_read.load());
    if (o.dry_run || !dest->is_s3()) return;
    const auto now = manifest_keys();
    bool need = cat_stale || !manifests_written.empty() || now != manifests_listed;
    // Missing, or older than a manifest the LIST shows (a run that died
    // before writing it, another writer): written again, at no extra request
    // when it is not.
    if (auto c = listing.find(catalogue_key(serial)); c == listing.end()) need = need || !now.empty();
    else
      for (const auto& k : now)
        if (auto e = listing.find(k); e != listing.end() && e->second.last_modified > c->second.last_modified) need = true;
    // Texts this machine read with the ETag the LIST shows (the state's cache).
    if (need)
      refresh_catalogues(*dest, {serial}, manifests_written, ctx, [&](const ObjectEntry& e) {
        return state->cached_manifest(e.key, e.size, e.etag);
      });
  }

  uint64_t used() const {
    uint64_t n = 0;
    for (const auto& [k, e] : listing) n += e.size;
    return n;
  }

  std::optional<Manifest> manifest_at(const std::string& key) {
    auto it = listing.find(key);
    if (it == listing.end()) return std::nullopt;
    std::optional<std::string> text = state->cached_manifest(key, it->second.size, it->second.etag);
    if (!text && (text = catalogue_text(key, it->second))) ++manifests_from_catalogue;
    if (!text) {
      ++manifests_read;
      text = dest->read(key);
      if (!text) return std::nullopt;
      state->remember_manifest(key, it->second.size, it->second.etag, *text);
    }
    try {
      return Manifest::parse(*text);
    } catch (const InputError& e) {
      ctx.log->warn("{}: {}", dest->location(key), e.what());
      return std::nullopt;
    }
  }

  bool present(const std::string& rel, uint64_t size) const {
    auto it = listing.find(rel);
    return it != listing.end() && it->second.size == size;
  }

  // A drive whose first segments the card has rotated out has a new id; if
  // an earlier backed-up drive covers all of it, it is already there.
  std::optional<std::string> covered_by(const PlanItem& it) {
    if (it.kind != ItemKind::Drive || !it.from || !it.to) return std::nullopt;
    const std::string lo = serial + "/drives/", hi = it.ref.manifest_key();
    std::optional<std::string> best;
    for (auto e = listing.lower_bound(lo); e != listing.end() && e->first < hi; ++e) {
      if (auto ref = item_of_key(e->first); ref && e->first == ref->manifest_key()) best = e->first;
    }
    if (!best) return std::nullopt;
    auto man = manifest_at(*best);
    if (!man || !man->from || !man->to || *man->from > *it.from || *man->to < *it.to) return std::nullopt;
    for (const auto& f : man->files)
      if (!present(serial + "/" + f.key, f.size)) return std::nullopt;
    return man->ref().folder();
  }

  // Up to date: the manifest is there, made from the same footage, and every
  // file it lists is there with its size.
  bool up_to_date(const PlanItem& it, std::optional<Manifest>* old, uint64_t* stored) {
    const std::string mkey = it.ref.manifest_key();
    auto m = listing.find(mkey);
    if (m == listing.end()) {
      if (auto by = covered_by(it)) {
        ctx.log->info("{}: already backed up as part of {}", it.ref.folder(), *by);
        *stored = 0;
        return true;
      }
      return false;
    }
    if (auto rec = state->item(it.ref.folder());
        rec && rec->recipe == it.recipe && rec->manifest_size == m->second.size &&
        std::all_of(rec->files.begin(), rec->files.end(), [&](const auto& f) { return present(f.first, f.second); })) {
      *stored = 0;
      for (const auto& f : rec->files) *stored += f.second;
      return true;
    }
    auto man = manifest_at(mkey);
    if (!man) return false;
    *old = man;
    if (man->recipe != it.recipe) return false;
    for (const auto& f : man->files)
      if (!present(serial + "/" + f.key, f.size)) return false;
    SyncState::ItemRecord r;
    r.recipe = it.recipe;
    r.manifest_size = m->second.size;
    for (const auto& f : man->files) r.files.emplace_back(serial + "/" + f.key, f.size);
    state->remember_item(it.ref.folder(), std::move(r));
    *stored = man->bytes();
    return true;
  }

  // Items at the destination (for the quota): bytes and starred flags.
  std::vector<QuotaItem> existing_items(const std::set<std::string>& replaced) {
    std::map<std::string, QuotaItem> items;
    for (const auto& [key, e] : listing) {
      auto ref = item_of_key(key);
      if (!ref || replaced.count(ref->folder())) continue;
      auto& q = items[ref->folder()];
      q.ref = *ref;
      q.kind = ref->category == "drives" ? ItemKind::Drive
                                         : (ref->category == "clips" ? ItemKind::Clip : ItemKind::Event);
      q.time = ref->time().value_or(LocalTime{});
      q.bytes += e.size;
    }
    std::vector<QuotaItem> out;
    for (auto& [folder, q] : items) {
      if (!listing.count(q.ref.manifest_key())) continue;  // half-uploaded: not an item yet
      if (q.kind == ItemKind::Drive) {
        auto man = manifest_at(q.ref.manifest_key());
        if (man) {
          q.starred = man->starred;
          for (const auto& f : man->files)
            if (f.key.rfind("footage/", 0) == 0 && present(serial + "/" + f.key, f.size)) q.bytes += f.size;
        }
      }
      out.push_back(q);
    }
    return out;
  }

  // Deletes an item: the manifest first (it stops being "backed up"), then its files.
  void delete_item(const ItemRef& ref) {
    std::vector<std::string> keys;
    auto man = manifest_at(ref.manifest_key());
    dest->remove(ref.manifest_key());
    listing.erase(ref.manifest_key());
    if (man)
      for (const auto& f : man->files) keys.push_back(serial + "/" + f.key);
    const std::string folder = ref.folder() + "/";
    for (const auto& [k, e] : listing)
      if (k.rfind(folder, 0) == 0) keys.push_back(k);
    for (const auto& k : keys) {
      if (!listing.count(k)) continue;
      dest->remove(k);
      listing.erase(k);
    }
    state->forget_item(ref.folder());
  }

  // --- making clips -------------------------------------------------------------

  fs::path made_path(const PlanFile& f) const { return work / "made" / serial / f.rel; }

  // Cuts (or finds in the work dir) a clip or timelapse. Throws on failure.
  void make(PlanItem& it, PlanFile& f) {
    const fs::path out = made_path(f);
    const fs::path recipe_file = out.string() + ".recipe";
    const std::string recipe = it.recipe + " " + format_iso(f.from, true) + " " + format_iso(f.to, true);
    std::error_code ec;
    if (fs::exists(out, ec) && fs::exists(recipe_file, ec)) {
      try {
        if (read_file(recipe_file) == recipe) {
          f.path = out;
          f.size = fs::file_size(out);
          f.estimated = false;
          if (f.make == PlanFile::Make::Clip && fs::exists(out.string() + ".derivation", ec))
            f.derivation = parse_derivation(ojson::parse(read_file(out.string() + ".derivation"), nullptr, false), f.name);
          ctx.log->debug("{}: reusing {}", it.ref.folder(), out.string());
          return;
        }
      } catch (const Error&) {
      }
    }
    make_parents(out);
    if (f.make == PlanFile::Make::Salvage) {
      cut::SalvageOptions so;
      so.input = f.path;
      so.output = out;
      so.overwrite = true;
      ctx.log->info("{}: salvaging {} as {}", it.ref.folder(), f.path.filename().string(), f.name);
      const cut::SalvageReport rep = cut::salvage(so, ctx);
      ctx.log->info("{}: {} frame(s), {:.3f} s recovered from {}", it.ref.folder(), rep.video_frames,
                    static_cast<double>(rep.duration_ms) / 1000.0, f.path.filename().string());
      write_file_atomic(recipe_file, recipe);
      f.path = out;
      f.size = fs::file_size(out);
      f.estimated = false;
      return;
    }
    cut::ClipOptions co;
    co.overwrite = true;
    co.timelapse = o.timelapse;
    const Camera cam = f.camera == "interior" ? Camera::Interior : Camera::Road;
    const cut::Mode mode = f.make == PlanFile::Make::Timelapse ? cut::Mode::Timelapse : cut::Mode::Exact;
    ctx.log->info("{}: making {} ({} to {})", it.ref.folder(), f.name, format_iso(f.from, true),
                  format_iso(f.to, true));
    const cut::ClipResult made = cut::make_clip(scan, f.from, f.to, cam, mode, out, ctx, co);
    if (f.make == PlanFile::Make::Clip) {
      f.derivation = derivation_of(made);
      write_file_atomic(out.string() + ".derivation", derivation_json(*f.derivation).dump() + "\n");
    }
    write_file_atomic(recipe_file, recipe);
    f.path = out;
    f.size = fs::file_size(out);
    f.estimated = false;
  }

  // How a clip was cut: its card files (size and SHA-256: the hash cache, or
  // one read) and its copied / re-encoded runs, for the manifest.
  Derivation derivation_of(const cut::ClipResult& c) {
    Derivation d;
    d.mode = cut::to_string(c.mode);
    d.frames = c.frames;
    d.reencoded_frames = c.reencoded_frames;
    d.audio = c.audio;
    d.start = c.start;
    d.end = c.end;
    std::map<fs::path, std::string> rel;
    auto card_rel = [&](const fs::path& p) -> std::string {
      if (auto it = rel.find(p); it != rel.end()) return it->second;
      const CardFile* cf = nullptr;
      for (const auto* list : {&scan.recordings, &scan.parking})
        for (const auto& r : *list)
          for (const auto* x : {&r.road, &r.interior})
            if (*x && (*x)->path == p) cf = &**x;
      if (!cf) throw InputError(p.string() + ": not a recording of the card");
      DerivationSource s;
      s.file = cf->rel;
      auto st = stamp(cf->path);
      if (!st) throw IoError("cannot read " + cf->path.string() + ": it is gone");
      s.size = st->size;
      if (auto sha = state->cached_sha(cf->path, st->size, st->mtime_ns)) s.sha256 = *sha;
      else {
        s.sha256 = s3::digest_file({cf->path, 0, 0}, false).sha256_hex;
        state->remember_sha(cf->path, st->size, st->mtime_ns, s.sha256);
      }
      d.sources.push_back(s);
      return rel[p] = cf->rel;
    };
    for (const auto& s : c.sources) card_rel(s);
    for (const auto& r : c.runs)
      d.runs.push_back({card_rel(r.source), r.copied, r.clip_first, r.frames, r.source_first, r.source_last});
    return d;
  }

  void drop_made(const PlanItem& it) {
    for (const auto& f : it.files) {
      if (f.make == PlanFile::Make::Copy || f.kept) continue;
      std::error_code ec;
      const fs::path out = made_path(f);
      fs::remove(out, ec);
      fs::remove(out.string() + ".derivation", ec);
      fs::remove(out.string() + ".recipe", ec);
    }
  }

  // Timelapse parts of a growing drive that its manifest already lists, made
  // from the same segment and still at the destination, are kept as they
  // are: a drive of N segments costs N part encodes, not N^2/2.
  void keep_parts(PlanItem& it, const std::optional<Manifest>& old, std::mutex& listing_mu) {
    if (!old || it.kind != ItemKind::Drive) return;
    std::lock_guard lock(listing_mu);  // (workers add what they upload)
    for (auto& f : it.files) {
      if (f.make != PlanFile::Make::Timelapse || !is_timelapse_part_name(f.name)) continue;
      for (const auto& m : old->files)
        if (m.key == f.rel && m.source == f.source && !m.sha256.empty() && present(serial + "/" + m.key, m.size)) {
          f.kept = true;
          f.size = m.size;
          f.sha256 = m.sha256;
          f.estimated = false;
          break;
        }
    }
  }

  // Makes every file of an item; a clip that cannot be cut falls back to the
  // original recording (the evidence matters more than the trim).
  void materialize(PlanItem& it) {
    std::vector<std::string> unsalvaged;
    for (auto& f : it.files) {
      if (f.make == PlanFile::Make::Copy || f.kept) continue;
      try {
        make(it, f);
      } catch (const Interrupted&) {
        throw;
      } catch (const Error& e) {
        if (f.make == PlanFile::Make::Timelapse) throw;
        if (f.make == PlanFile::Make::Salvage) {
          // The original is sent all the same; only the playable copy is missing.
          ctx.log->warn("{}: cannot salvage {}: {}", it.ref.folder(), f.path.filename().string(), e.what());
          it.note += std::string(it.note.empty() ? "" : "; ") + "cannot salvage " + f.path.filename().string() +
                     ": " + e.what();
          unsalvaged.push_back(f.name);
          continue;
        }
        const Camera cam = f.camera == "interior" ? Camera::Interior : Camera::Road;
        const LocalTime mid = f.from + (f.to - f.from) / 2;
        const Recording* rec = nullptr;
        for (const auto& r : scan.recordings)
          if (mid >= r.start && mid < r.start + (r.duration_known ? r.duration_ms : 60000)) rec = &r;
        if (!rec || !(cam == Camera::Road ? rec->road : rec->interior)) throw;
        const auto& cf = cam == Camera::Road ? rec->road : rec->interior;
        ctx.log->warn("{}: cannot cut the {} clip ({}); copying {} as it is", it.ref.folder(), f.camera, e.what(),
                      cf->rel);
        f.make = PlanFile::Make::Copy;
        f.path = cf->path;
        f.source = cf->rel;
        f.size = cf->size;
        f.estimated = false;
        it.note = "the " + f.camera + " clip could not be cut: the recording is copied whole";
      }
    }
    std::erase_if(it.files, [&](const PlanFile& f) {
      return f.make == PlanFile::Make::Salvage && std::find(unsalvaged.begin(), unsalvaged.end(), f.name) != unsalvaged.end();
    });
  }

  // The sizes of an item's files (made ones are known once made).
  void sizes(PlanItem& it) {
    for (auto& f : it.files) {
      if (f.kept) continue;
      auto st = stamp(f.path);
      if (!st) throw IoError("cannot read " + f.path.string() + ": it is gone");
      f.size = st->size;
      f.estimated = false;
    }
  }

  // A file's SHA-256 (from the cache, or one read), as an upload.
  void hash(PlanFile& f, const Uploader& up, UploadFile& uf) {
    auto st = stamp(f.path);
    if (!st) throw IoError("cannot read " + f.path.string() + ": it is gone");
    f.size = st->size;
    uf.rel = serial + "/" + f.rel;
    uf.path = f.path;
    uf.size = f.size;
    uf.content_type = content_type(f.name);
    if (auto sha = state->cached_sha(f.path, st->size, st->mtime_ns)) {
      f.sha256 = uf.sha256 = *sha;
      return;
    }
    if (!dest->is_s3()) return;  // the copy hashes what it writes
    // Multipart: only the whole-file SHA-256 here; the workers digest their
    // parts in parallel. A single PUT: its digests, in the same read.
    const bool whole = f.size <= up.part_size();
    FileDigests d = digest_file_parts(f.path, f.size, whole ? f.size : 0, ctx);
    f.sha256 = uf.sha256 = d.sha256;
    if (whole) uf.part_digests = std::move(d.parts);
    state->remember_sha(f.path, st->size, st->mtime_ns, f.sha256);
  }

  // --- one pass -----------------------------------------------------------------------

  void pass() {
    const auto t0 = std::chrono::steady_clock::now();
    report = SyncReport{};
    load_listing();
    PlanOptions po;
    po.drives = drives;
    po.before_ms = o.before_ms;
    po.after_ms = o.after_ms;
    po.timelapse = o.timelapse;
    po.clips = o.clips;
    po.watch = o.watch;
    po.now_ms = wall_ms();
    po.recording_now = camera_recording;
    for (auto e = listing.lower_bound(serial + "/drives/"); e != listing.end() && e->first.rfind(serial + "/drives/", 0) == 0; ++e)
      if (auto ref = item_of_key(e->first); ref && is_timelapse_part_name(fs::path(e->first).filename().string()))
        po.timelapse_parts.insert(ref->id);
    if (o.items) {
      std::vector<std::pair<std::string, std::string>> items;
      if (*o.items == "-") {
        if (!o.items_in) throw UsageError("--items - needs standard input");
        items = read_items(*o.items_in);
      } else {
        std::ifstream in(*o.items);
        if (!in) throw InputError("cannot read " + o.items->string());
        items = read_items(in);
      }
      po.items = std::move(items);
    }
    PlanResult plan = build_plan(scan, po, ctx);
    for (const auto& p : plan.problems) {
      ctx.log->warn("--items: {}", p);
      ++report.summary.items_left_out;
    }
    report.summary.items_planned = plan.items.size();

    // Sort each item into up to date / waits / pending.
    std::vector<size_t> pending;
    std::map<size_t, std::optional<Manifest>> old;
    std::set<std::string> replaced;
    std::map<size_t, ItemResult> settled;  // reported in plan order
    for (size_t i = 0; i < plan.items.size(); ++i) {
      PlanItem& it = plan.items[i];
      std::optional<Manifest> prev;
      uint64_t stored = 0;
      if (up_to_date(it, &prev, &stored)) {
        // A drive still being recorded is never reported done.
        ItemResult r = result(it, it.open ? "open" : "up to date");
        if (!it.open) r.note.clear();
        r.bytes = stored;
        r.estimated = false;
        settled[i] = std::move(r);
        continue;
      }
      if (!carries(o.link.carry, it.kind)) {
        settled[i] = result(it, "waits for " + std::string(o.link.link == "mobile" ? "wifi" : "another link"));
        continue;
      }
      if (it.defer) {
        settled[i] = result(it, "deferred", *it.defer);
        continue;
      }
      if (prev || listing.count(it.ref.manifest_key())) replaced.insert(it.ref.folder());
      old[i] = std::move(prev);
      pending.push_back(i);
    }

    // The quota: what stays, what rolls over.
    std::vector<std::string> verdict(plan.items.size());
    std::vector<ItemRef> victims;
    std::vector<QuotaItem> existing;
    if (quota) {
      existing = existing_items(replaced);
      std::vector<QuotaItem> pq;
      for (size_t i : pending) {
        const PlanItem& it = plan.items[i];
        pq.push_back({it.ref, it.kind, it.time, it.bytes(), false});
      }
      uint64_t u = used();
      for (const auto& [k, e] : listing) {
        auto ref = item_of_key(k);
        if (ref && replaced.count(ref->folder())) u -= std::min(u, e.size);
      }
      // A pending item's files already at the destination outside its folder
      // (a growing drive's segments in footage/) count once: as pending.
      std::set<std::string> counted;
      for (size_t i : pending)
        for (const auto& f : plan.items[i].files) {
          const std::string k = serial + "/" + f.rel;
          if (k.rfind(plan.items[i].ref.folder() + "/", 0) == 0 || !counted.insert(k).second) continue;
          if (auto e = listing.find(k); e != listing.end()) u -= std::min(u, e->second.size);
        }
      QuotaDecision d = plan_quota(pq, existing, u, quota);
      for (size_t j = 0; j < pending.size(); ++j) verdict[pending[j]] = d.pending_verdict[j];
      victims = d.victims;
      report.summary.over_quota = d.over;
    }
    // An item that rolls over is reported as such, not also as up to date.
    std::map<std::string, ItemResult> held;
    for (const auto& v : victims)
      for (auto s = settled.begin(); s != settled.end(); ++s)
        if (s->second.ref == v) {
          held.emplace(v.folder(), std::move(s->second));
          settled.erase(s);
          break;
        }

    if (o.dry_run) {
      for (const auto& v : victims) {
        ItemResult r;
        r.ref = v;
        r.kind = v.category == "drives" ? ItemKind::Drive : ItemKind::Event;
        r.action = "would delete";
        for (const auto& q : existing)
          if (q.ref == v) r.bytes = q.bytes;
        r.note = "rolls over (quota)";
        emit(std::move(r));
      }
      for (size_t i = 0; i < plan.items.size(); ++i) {
        const PlanItem& it = plan.items[i];
        if (auto s = settled.find(i); s != settled.end()) emit(std::move(s->second));
        else if (!verdict[i].empty()) emit(result(it, verdict[i], verdict[i] == "left out" ? "no room under the quota" : "older than what the quota keeps"));
        else emit(result(it, replaced.count(it.ref.folder()) ? "would replace" : "would upload"));
      }
      update_catalogue();  // says what it read; writes nothing
      finish_report(t0);
      return;
    }

    for (auto& [i, r] : settled) emit(std::move(r));
    if (pending.empty() && victims.empty()) {  // nothing to do: no uploader, no more requests
      state->save();  // what the manifests said, for the next run
      update_catalogue();  // when missing, stale or older than a manifest
      finish_report(t0);
      return;
    }

    // Upload.
    UploadSettings us;
    us.jobs = o.jobs;
    us.part_size = o.part_size;
    us.retries = o.retries;
    us.content_md5 = o.content_md5;
    us.bwlimit = o.bwlimit ? o.bwlimit : o.link.bwlimit;
    us.key = encryption_key(*dest);
    UploadStats stats;
    std::unique_ptr<Uploader> up;
    if (dest->is_s3()) up = make_s3_uploader(dynamic_cast<S3Access&>(*dest), work, us, stats, ctx);
    else up = make_local_uploader(dest->url().folder, us, stats, ctx);
    up->begin(serial);

    struct Flight {
      PlanItem item;
      std::optional<Manifest> old;
      std::mutex mu;
      size_t remaining = 0;
      std::string error;
    };
    std::vector<std::shared_ptr<Flight>> flights;
    uint64_t total = 0;
    for (size_t i : pending)
      if (verdict[i].empty()) total += plan.items[i].bytes();
    Progress progress(ctx, "nexsync", total);
    size_t victim_next = 0;
    std::set<std::string> gone;  // victims deleted
    std::mutex listing_mu;        // workers add uploaded keys to `listing`

    auto settle = [&](const std::shared_ptr<Flight>& fl) {
      // Runs once every file is verified (or one failed).
      PlanItem& it = fl->item;
      if (!fl->error.empty()) {
        ctx.log->error("{}: {}", dest->location(it.ref.folder()), fl->error);
        emit(result(it, "failed", fl->error));
        return;
      }
      try {
        Manifest m;
        m.kind = it.kind;
        m.id = it.ref.id;
        m.serial = serial;
        m.model = scan.model->id;
        if (scan.camera) {
          m.firmware = scan.camera->firmware;
          m.utc_offset_min = scan.camera->utc_offset_min;
        }
        m.created = utc_now_iso();
        m.starred = fl->old && fl->old->starred;
        m.open = it.open;
        m.recipe = it.recipe;
        m.from = it.from;
        m.to = it.to;
        m.records = it.records;
        for (const auto& f : it.files)
          m.files.push_back({f.name, f.rel, f.size, f.sha256, f.camera, f.source, f.derivation});
        const std::string text = m.dump();
        fault_point("before-manifest");
        dest->write(it.ref.manifest_key(), text);
        SyncState::ItemRecord r;
        r.recipe = it.recipe;
        r.manifest_size = text.size();
        for (const auto& f : it.files) r.files.emplace_back(serial + "/" + f.rel, f.size);
        state->remember_item(it.ref.folder(), std::move(r));
        {
          std::lock_guard lock(listing_mu);
          listing[it.ref.manifest_key()] = {it.ref.manifest_key(), text.size(), {}, {}};
          std::lock_guard cat_lock(cat_mu);
          manifests_written[it.ref.manifest_key()] = text;
        }
        drop_made(it);
        if (fl->old) {
          // Files the new version no longer has (e.g. a camera's clip).
          std::set<std::string> now;
          for (const auto& f : it.files) now.insert(f.rel);
          for (const auto& f : fl->old->files)
            if (!now.count(f.key) && f.key.rfind(it.ref.rel_folder() + "/", 0) == 0) {
              dest->remove(serial + "/" + f.key);
              std::lock_guard lock(listing_mu);
              listing.erase(serial + "/" + f.key);
            }
        }
        // A drive that was open until now is uploaded (complete) at last.
        emit(result(it, it.open ? "in progress" : (fl->old && !fl->old->open ? "replaced" : "uploaded")));
      } catch (...) {
        // Never throws out of a worker; a fatal error stops the next items.
        emit(result(it, "failed", error_text(std::current_exception())));
      }
    };

    std::exception_ptr stop;
    try {
      for (size_t i : pending) {
        PlanItem& it = plan.items[i];
        if (!verdict[i].empty()) {
          emit(result(it, verdict[i], verdict[i] == "left out" ? "no room under the quota" : "older than what the quota keeps"));
          continue;
        }
        ctx.check_interrupt();
        if (up->fatal()) break;
        up->wait_queue_below(std::max<uint64_t>(256ull << 20, 4 * o.part_size));
        progress.update(stats.bytes_sent.load());
        try {
          keep_parts(it, old[i], listing_mu);
          materialize(it);
          sizes(it);
        } catch (const Interrupted&) {
          throw;
        } catch (const Error& e) {
          ctx.log->error("{}: {}", it.ref.folder(), e.what());
          emit(result(it, "failed", e.what()));
          continue;
        }
        // Room under the quota, with the real sizes.
        if (quota) {
          uint64_t need = it.bytes();
          auto room = [&] {
            std::lock_guard lock(listing_mu);
            uint64_t u = used();
            for (const auto& [k, e] : listing)
              if (k.rfind(it.ref.folder() + "/", 0) == 0) u -= std::min(u, e.size);
            // (its files in footage/ that are there already: counted in `need`)
            for (const auto& f : it.files) {
              const std::string k = serial + "/" + f.rel;
              if (k.rfind(it.ref.folder() + "/", 0) == 0) continue;
              if (auto e = listing.find(k); e != listing.end()) u -= std::min(u, e->second.size);
            }
            return u + need <= quota;
          };
          while (!room()) {
            std::optional<ItemRef> v;
            if (victim_next < victims.size()) v = victims[victim_next++];
            else {
              // Estimates were low: roll over older continuous footage still.
              for (const auto& q : existing)
                if (is_continuous(q.kind) && !q.starred && !gone.count(q.ref.folder()) &&
                    (!is_continuous(it.kind) || q.time < it.time)) {
                  v = q.ref;
                  break;
                }
            }
            if (!v) break;
            if (gone.count(v->folder())) continue;
            ItemResult r;
            r.ref = *v;
            r.kind = ItemKind::Drive;
            r.action = "deleted";
            r.note = "rolled over (quota)";
            for (const auto& q : existing)
              if (q.ref == *v) r.bytes = q.bytes;
            {
              std::lock_guard lock(listing_mu);
              delete_item(*v);
            }
            gone.insert(v->folder());
            emit(std::move(r));
          }
          if (!room()) {
            emit(result(it, "left out", "no room under the quota"));
            continue;
          }
        }
        auto fl = std::make_shared<Flight>();
        fl->old = old[i];
        fl->remaining = it.files.size();
        fl->item = std::move(it);
        flights.push_back(fl);
        if (fl->item.files.empty()) {
          up->post([&, fl] { settle(fl); });
          continue;
        }
        // One file settled (sent and verified, found complete, or failed).
        auto file_done = [&, fl](size_t k, std::exception_ptr e, const std::string& sha) {
          bool last;
          {
            std::lock_guard lock(fl->mu);
            if (e && fl->error.empty()) fl->error = error_text(e);
            if (!e) fl->item.files[k].sha256 = sha;
            last = --fl->remaining == 0;
          }
          if (!e) {
            const auto& f = fl->item.files[k];
            if (auto st = stamp(f.path)) state->remember_sha(f.path, st->size, st->mtime_ns, sha);
            std::lock_guard lock(listing_mu);
            listing[serial + "/" + f.rel] = {serial + "/" + f.rel, f.size, {}, {}};
          }
          if (last && !is_fatal(e)) settle(fl);
        };
        // Each file goes as soon as it is hashed: uploads start while the
        // next file of the item is being read.
        for (size_t k = 0; k < fl->item.files.size(); ++k) {
          PlanFile& f = fl->item.files[k];
          if (f.kept) {
            ++stats.files_present;
            up->post([file_done, k, sha = f.sha256] { file_done(k, nullptr, sha); });
            continue;
          }
          UploadFile uf;
          try {
            hash(f, *up, uf);
          } catch (const Interrupted&) {
            throw;
          } catch (const Error&) {
            file_done(k, std::current_exception(), {});
            continue;
          }
          if (dest->is_s3()) uf.storage_class = o.storage_class.of(fl->item.kind);
          // Already complete at the destination (a run that stopped before its manifest)?
          bool there;
          {
            std::lock_guard lock(listing_mu);
            there = present(uf.rel, uf.size);
          }
          // Listed, with this size and SHA-256, by the item's manifest, whose
          // files were verified before it was written (a growing drive: the
          // segments of its earlier versions are not sent or checked again).
          if (there && !uf.sha256.empty() && fl->old &&
              std::any_of(fl->old->files.begin(), fl->old->files.end(), [&](const ManifestFile& m) {
                return serial + "/" + m.key == uf.rel && m.size == uf.size && m.sha256 == uf.sha256;
              })) {
            ++stats.files_present;
            up->post([file_done, k, sha = uf.sha256] { file_done(k, nullptr, sha); });
            continue;
          }
          if (dest->is_s3() && !uf.sha256.empty() && there) {
            std::optional<Destination::Stat> st;
            try {
              st = dest->stat(uf.rel);
            } catch (const s3::Error& e) {
              if (!e.retryable()) throw;  // unknown after the retries: the upload settles it
            }
            if (st && st->size == uf.size && st->sha256 == uf.sha256) {
              ++stats.files_present;
              up->post([file_done, k, sha = uf.sha256] { file_done(k, nullptr, sha); });
              continue;
            }
          }
          up->submit(std::move(uf), [file_done, k](std::exception_ptr e, const std::string& sha) {
            file_done(k, e, sha);
          });
        }
        state->save_if_due();
      }
      // Still over the quota (it was lowered, or events took the room):
      // what the plan rolls over goes now.
      if (quota)
        for (; victim_next < victims.size(); ++victim_next) {
          const ItemRef& v = victims[victim_next];
          {
            std::lock_guard lock(listing_mu);
            if (used() <= quota) break;
          }
          if (gone.count(v.folder())) continue;
          up->finish();  // nothing may still be writing
          ItemResult r;
          r.ref = v;
          r.kind = ItemKind::Drive;
          r.action = "deleted";
          r.note = "rolled over (quota)";
          for (const auto& q : existing)
            if (q.ref == v) r.bytes = q.bytes;
          {
            std::lock_guard lock(listing_mu);
            delete_item(v);
          }
          gone.insert(v.folder());
          emit(std::move(r));
        }
      up->finish();
      for (auto& [folder, r] : held)
        if (!gone.count(folder)) emit(std::move(r));
    } catch (...) {
      stop = std::current_exception();
    }
    if (stop) {
      up.reset();  // waits for running transfers
      try {
        state->save();
      } catch (const Error&) {
      }
      std::rethrow_exception(stop);
    }
    up->end();
    progress.finish();
    state->save();
    update_catalogue();
    auto& s = report.summary;
    s.bytes_sent = stats.bytes_sent;
    s.objects_sent = stats.objects_sent;
    s.parts_sent = stats.parts_sent;
    s.parts_resumed = stats.parts_resumed;
    s.files_present = stats.files_present;
    s.uploads_aborted = stats.uploads_aborted;
    finish_report(t0);
  }

  void finish_report(std::chrono::steady_clock::time_point t0) {
    report.summary.seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const auto& s = report.summary;
    ctx.log->info("{} item(s): {} uploaded, {} up to date, {} left out, {} failed, {} waiting; {} sent in {:.2f} s",
                  s.items_planned, s.items_uploaded, s.items_up_to_date, s.items_left_out, s.items_failed,
                  s.items_waiting, format_size(s.bytes_sent), s.seconds);
  }

  // --- --watch ------------------------------------------------------------------------

  // Set up before the first pass, so that nothing written during it is missed.
  FdCloser inotify;
  void add_watch(const fs::path& p) {
    std::error_code ec;
    if (fs::is_directory(p, ec))
      ::inotify_add_watch(inotify.fd, p.c_str(), IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_DELETE | IN_MODIFY);
  }
  void start_watching() {
    inotify.fd = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (inotify.fd < 0) throw IoError(std::string("inotify: ") + errno_text(errno));
    add_watch(o.card);
    add_watch(o.card / "drive");
    add_watch(o.card / "sos");
  }

  void watch_loop() {
    const int fd = inotify.fd;
    auto add = [&](const fs::path& p) { add_watch(p); };
    ctx.log->info("watching {} (Ctrl-C to stop)", o.card.string());
    auto has = [&](std::initializer_list<std::string_view> actions) {
      return std::any_of(report.items.begin(), report.items.end(), [&](const ItemResult& r) {
        return std::find(actions.begin(), actions.end(), r.action) != actions.end();
      });
    };
    char buf[16384];
    int64_t changed_at = steady_ms();
    // The card (a mount that went away) and the destination (a server, a
    // network or a disk that went away) may come back: the watch says so
    // once, and looks again every few seconds (a minute at most).
    std::string card_away, dest_away;
    int64_t retry_ms = 0;
    int dest_failures = 0;
    auto dest_down = [&](const std::string& why) {
      const bool news = dest_away.empty();
      dest_away = why;
      retry_ms = std::min<int64_t>(60000, 5000LL << std::min(dest_failures, 4));
      ++dest_failures;
      if (news) ctx.log->warn("{}; trying again in {} s (the watch goes on)", why, retry_ms / 1000);
      else ctx.log->debug("{}; trying again in {} s", why, retry_ms / 1000);
    };
    for (;;) {
      // Wait for the card to change, or for a deferred item's time to come.
      // A drive being recorded is closed by a pass a few seconds after the
      // card last changed (its last segment's close); between segments the
      // watcher sleeps (the camera's next close wakes it), with one pass a
      // minute for a writer that died.
      int64_t idle_ms = 60000;
      if (retry_ms > 0) idle_ms = retry_ms;
      else if (has({"deferred"})) idle_ms = 2000;
      // (a pass that sent segments may have outlasted the grace: ask again)
      else if (has({"in progress"}) || (has({"open"}) && steady_ms() - changed_at < 10000)) idle_ms = 3500;
      int64_t waited = 0;
      bool changed = false;
      while (!changed && waited < idle_ms) {
        ctx.check_interrupt();
        pollfd p{fd, POLLIN, 0};
        const int r = ::poll(&p, 1, 200);
        waited += 200;
        if (r > 0) changed = true;
      }
      if (changed) {
        changed_at = steady_ms();
        // Let a burst of writes settle (a parking clip is two files and a log line).
        for (int quiet = 0; quiet < 2;) {
          const ssize_t n = ::read(fd, buf, sizeof buf);
          if (n > 0) {
            quiet = 0;
            add(o.card / "drive");
            add(o.card / "sos");
          } else {
            ++quiet;
          }
          ::usleep(40000);
        }
      }
      ctx.check_interrupt();
      retry_ms = 0;
      try {
        scan_card_now();
      } catch (const Interrupted&) {
        throw;
      } catch (const Error& e) {
        // Unmounted, or not readable as a card right now.
        if (card_away.empty()) ctx.log->warn("{}; waiting for the card to come back (the watch goes on)", e.what());
        else if (card_away != e.what()) ctx.log->debug("{}", e.what());
        card_away = e.what();
        retry_ms = 2000;
        continue;
      }
      if (!card_away.empty()) {
        ctx.log->info("{}: the card is back", o.card.string());
        card_away.clear();
        add(o.card);
        add(o.card / "drive");
        add(o.card / "sos");
      }
      try {
        // A folder destination that went away (an unmounted disk) is not made
        // again where it was: that would fill the disk under the mount point.
        if (!dest->is_s3()) dest->check(false);
        pass();
        if (!dest_away.empty()) ctx.log->info("{}: the destination is back", dest->url().text());
        dest_away.clear();
        dest_failures = 0;
      } catch (const s3::Error& e) {
        // A server or network that went away; credentials or a bucket that
        // are wrong end the watch (exit 1, as in a single run).
        const auto k = e.kind();
        if (k != s3::ErrorKind::Network && k != s3::ErrorKind::Server && k != s3::ErrorKind::Throttled) throw;
        dest_down(e.what());
      } catch (const InputError& e) {
        if (dest->is_s3()) throw;
        dest_down(e.what());
      }
    }
  }
};

}  // namespace

namespace {

// A camera: pull its card into the mirror, then back the mirror up like a
// card. --watch asks the camera again twice a second and syncs what is new.
SyncReport sync_camera(const SyncOptions& o, const Context& ctx, const std::function<void(const ItemResult&)>& on_item) {
  CameraPullOptions po;
  po.url = o.card.string();
  po.client = o.camera;
  if (o.bwlimit) po.client.rate = o.bwlimit;
  po.client.retries = std::max(o.retries - 1, 1);
  po.before_ms = o.before_ms;
  po.after_ms = o.after_ms;
  po.dry_run = o.dry_run;
  const fs::path work = o.work_dir.empty() ? default_work_dir() : o.work_dir;
  std::string serial;
  {
    std::shared_ptr<Source> probe = open_source(po.url, ctx, po.client);
    const CameraInfo& info = dynamic_cast<CameraSource&>(*probe).info();
    serial = info.serial;
    if (auto ahead = camera_clock_ahead_ms(info); ahead && std::llabs(*ahead) > kCameraClockToleranceMs)
      ctx.log->warn("the camera's clock is {} {} this computer's ({}): the footage it records is named by it",
                    format_duration((std::llabs(*ahead) + 500) / 1000 * 1000), *ahead > 0 ? "ahead of" : "behind", info.clock);
  }
  check_serial(serial);
  po.mirror = o.mirror ? *o.mirror : work / "cameras" / serial / "card";
  po.partial_dir = work / "cameras" / serial / "partial";
  if (fs::exists(po.mirror / "camera.yaml")) {
    const CameraIdentity id = load_camera_yaml(po.mirror);
    if (id.serial != serial)
      throw InputError(po.mirror.string() + " mirrors camera " + id.serial + ", not " + serial,
                       "give each camera its own --mirror");
  }
  auto pull = [&](bool quiet_if_unchanged) {
    CameraPullReport r = pull_camera(po, ctx);
    // --watch asks twice a second: a line only when something happened.
    if (quiet_if_unchanged && r.pulled == 0 && r.gone.empty() && r.failed.empty()) return r;
    ctx.log->info("camera {}: {} file(s) pulled ({} resumed), {} already here, {} being recorded{}{}", serial,
                  r.pulled, r.resumed, r.present, r.deferred,
                  r.gone.empty() ? "" : ", " + std::to_string(r.gone.size()) + " overwritten before saved",
                  r.failed.empty() ? "" : ", " + std::to_string(r.failed.size()) + " failed");
    return r;
  };
  CameraPullReport pulled = pull(false);
  if (o.dry_run && !fs::exists(po.mirror / "camera.yaml")) {
    SyncReport rep;
    rep.camera = pulled;
    return rep;
  }
  SyncOptions mo = o;
  mo.card = po.mirror;
  mo.watch = false;
  Job job(mo, ctx, on_item);
  job.setup();
  std::unique_ptr<DirLock> lock;
  if (!o.dry_run) lock = std::make_unique<DirLock>(job.work / "lock", po.url + " to " + job.dest->url().text());
  job.camera_recording = pulled.recording;
  job.pass();
  if (o.watch && !o.dry_run) {
    try {
      for (;;) {
        // Twice a second: a new event is waited for half a second on
        // average (bench/camera-watch.sh); a poll is two small GETs.
        for (int i = 0; i < 5; ++i) {
          ctx.check_interrupt();
          ::usleep(100000);
        }
        CameraPullReport next;
        try {
          next = pull(true);
        } catch (const InputError& e) {
          ctx.log->warn("{}; asking again", e.what());
          continue;
        }
        pulled.pulled += next.pulled, pulled.resumed += next.resumed, pulled.bytes += next.bytes;
        pulled.deferred = next.deferred, pulled.present = next.present;
        for (auto& g : next.gone) pulled.gone.push_back(g);
        pulled.failed = next.failed;
        pulled.camera_lost = next.camera_lost;
        // Nothing new, and the camera still recording what it was (or
        // nothing): no pass. A drive whose recording stopped is closed now.
        // A camera that stopped answering may be recording still: as it was.
        if (next.camera_lost) next.recording = job.camera_recording;
        if (next.pulled == 0 && next.recording == job.camera_recording) continue;
        job.camera_recording = next.recording;
        job.scan_card_now();
        job.pass();
      }
    } catch (const Interrupted&) {
    }
  }
  SyncReport rep = std::move(job.report);
  rep.camera = std::move(pulled);
  return rep;
}

}  // namespace

SyncReport run_sync(const SyncOptions& o, const Context& ctx, const std::function<void(const ItemResult&)>& on_item) {
  if (is_camera_url(o.card.string())) return sync_camera(o, ctx, on_item);
  Job job(o, ctx, on_item);
  job.setup();
  std::unique_ptr<DirLock> lock;
  if (!o.dry_run) lock = std::make_unique<DirLock>(job.work / "lock", o.card.string() + " to " + job.dest->url().text());
  if (o.watch && !o.dry_run) job.start_watching();
  job.pass();
  if (o.watch && !o.dry_run) {
    try {
      job.watch_loop();
    } catch (const Interrupted&) {
      // Ctrl-C ends a watch: what was uploaded stays, the journal keeps the rest.
    }
  }
  return std::move(job.report);
}

}  // namespace nex::sync
