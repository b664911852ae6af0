#pragma once
// Internal: the machinery behind nex/sync.hpp. The plan (what goes where, in
// which order, under which quota), the local state (hash cache and what is
// known to be backed up, so that a no-op run needs one LIST), and the
// uploaders (S3 multipart with the journal; local folder copies).
#include <openssl/evp.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <exception>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "nex/backup_layout.hpp"
#include "nex/card.hpp"
#include "nex/destination.hpp"
#include "nex/encryption.hpp"
#include "nex/journal.hpp"
#include "nex/manifest.hpp"
#include "nex/retention.hpp"
#include "nex/s3.hpp"
#include "nex/sync.hpp"

namespace nex::sync {

namespace fs = std::filesystem;

// --- small helpers (destination.cpp, util.cpp) ---------------------------------

struct FdCloser {
  int fd = -1;
  ~FdCloser() {
    if (fd >= 0) ::close(fd);
  }
};
void make_parents(const fs::path& file);
void write_fully(int fd, const char* data, size_t n, uint64_t offset, const fs::path& what);
// Copy `from` into `to` from byte `start` on (to keeps its first start bytes), fsync.
void copy_range(const fs::path& from, const fs::path& to, uint64_t start,
                const std::function<bool(uint64_t)>& progress);

// What the S3 uploader needs from an S3 destination.
class S3Access {
 public:
  virtual ~S3Access() = default;
  virtual const s3::Config& s3_settings() const = 0;
  virtual std::string object_key(std::string_view rel) const = 0;  // prefix + rel
  virtual std::string rel_of(std::string_view key) const = 0;
  virtual const std::string& bucket() const = 0;
  virtual s3::Client& control() = 0;  // lock control_mutex() around use
  virtual std::mutex& control_mutex() = 0;
};

// Test hook: NEX_SYNC_FAULT=<point>[:<n>] kills the process (SIGKILL) at the
// n-th time (default 1st) it reaches <point>: after-create, after-part,
// before-complete, after-complete, before-manifest, after-copy, before-catalogue.
void fault_point(const char* point);
// Runs `step` (a journal write) and reaches fault point `point` as one step,
// serialised with every other step of that point when it is armed: when the
// n-th one kills the process, exactly n steps are done, whatever ran in
// parallel (-j).
void fault_step(const char* point, const std::function<void()>& step);

std::string sha256_hex(std::string_view data);
std::string utc_now_iso();

// Whole-file SHA-256 and, for multipart, each part's SHA-256 + MD5, in one read.
// An OpenSSL digest in progress (SHA-256, MD5, ...), finished once as hex or base64.
class Evp {
 public:
  explicit Evp(const EVP_MD* md);
  ~Evp();
  Evp(const Evp&) = delete;
  Evp& operator=(const Evp&) = delete;
  void update(const void* p, size_t n);
  std::string hex();
  std::string b64();

 private:
  EVP_MD_CTX* c_;
};

struct FileDigests {
  std::string sha256;
  std::vector<s3::Digests> parts;  // empty unless part_size > 0
};
FileDigests digest_file_parts(const fs::path& path, uint64_t size, uint64_t part_size,
                              const Context& ctx);

// --- local state (state.cpp) ---------------------------------------------------
// <work>/<id>/state.json: the SHA-256 of files already hashed (by path, size
// and mtime) and, per item, what the last successful upload left at the
// destination, so a re-run can tell "up to date" from one LIST.
class SyncState {
 public:
  explicit SyncState(fs::path file);  // loads; a broken file is ignored
  std::optional<std::string> cached_sha(const fs::path& p, uint64_t size, int64_t mtime_ns) const;
  void remember_sha(const fs::path& p, uint64_t size, int64_t mtime_ns, const std::string& sha);

  struct ItemRecord {
    std::string recipe;
    uint64_t manifest_size = 0;
    std::vector<std::pair<std::string, uint64_t>> files;  // rel key, size
  };
  std::optional<ItemRecord> item(const std::string& folder) const;
  void remember_item(const std::string& folder, ItemRecord r);
  void forget_item(const std::string& folder);

  // Parsed manifests, keyed by their key and size (an edit changes the size
  // or at least the etag; both are compared).
  std::optional<std::string> cached_manifest(const std::string& key, uint64_t size,
                                             const std::string& etag) const;
  void remember_manifest(const std::string& key, uint64_t size, const std::string& etag,
                         const std::string& text);

  void save();             // atomic; throws IoError
  void save_if_due();      // at most every 2 s
  bool dirty() const;

 private:
  fs::path file_;
  mutable std::mutex mu_;
  struct Hash {
    uint64_t size;
    int64_t mtime;
    std::string sha;
  };
  std::map<std::string, Hash> hashes_;
  std::map<std::string, ItemRecord> items_;
  struct Man {
    uint64_t size;
    std::string etag, text;
  };
  std::map<std::string, Man> manifests_;
  bool dirty_ = false;
  int64_t last_save_ms_ = 0;
};

// File stat helpers.
struct FileStamp {
  uint64_t size = 0;
  int64_t mtime_ns = 0;
  int64_t ctime_ns = 0;  // a rename changes it (a camera closing a segment renames it)
};
std::optional<FileStamp> stamp(const fs::path& p);

// --- the plan (plan.cpp) --------------------------------------------------------------

struct PlanFile {
  std::string name;  // "road.mp4"
  std::string rel;   // relative to <serial>/: "events/<id>/road.mp4", "footage/<day>/<name>"
  enum class Make { Copy, Clip, Timelapse, Salvage } make = Make::Copy;
  fs::path path;      // Copy, Salvage: the card file; made files: set once made (work dir)
  std::string source; // card-relative path, or "clip" / "timelapse"
  std::string camera; // "road", "interior", ""
  LocalTime from, to; // Clip / Timelapse window
  uint64_t size = 0;
  bool estimated = false;
  std::string sha256;  // once known
  // A timelapse part the item's manifest already lists, made from the same
  // segment and present at the destination: neither made nor sent again.
  bool kept = false;
  // A cut clip: how it was made (the manifest keeps it for pull --evidence).
  std::optional<Derivation> derivation = std::nullopt;
};

struct PlanItem {
  ItemKind kind = ItemKind::Event;
  ItemRef ref;
  LocalTime time;  // order key (event time, clip start, drive start)
  std::vector<PlanFile> files;
  std::string recipe;   // SHA-256 of what it is made from
  ojson records = ojson::object();  // nexls records by view (Manifest::records)
  std::optional<LocalTime> from, to;
  std::string note;     // why it looks the way it does (fallbacks)
  std::optional<std::string> defer;  // --watch: why it waits
  // A drive still being recorded: its closed segments go now, and its
  // manifest says "open" until the drive ends (then it is written again).
  bool open = false;
  std::optional<std::string> fallback_clip_error;

  uint64_t bytes() const;
  bool estimated() const;
};

struct PlanOptions {
  DrivesMode drives = DrivesMode::Timelapse;
  int64_t before_ms = 20000, after_ms = 10000;
  int timelapse = 30;
  std::vector<ClipRequest> clips;
  // --items: (type, id) pairs from nexls; empty optional: everything
  std::optional<std::vector<std::pair<std::string, std::string>>> items;
  bool watch = false;
  int64_t now_ms = 0;  // wall clock (ms since epoch) for --watch deferrals
  // Files a camera says it is recording now (relative paths, as on the card),
  // besides the card's own (CardScan::recording_now): a camera's mirror.
  std::vector<std::string> recording_now;
  // Drives whose timelapse the destination holds in per-segment parts (a
  // drive that was backed up while it was recorded): it goes on in parts.
  std::set<std::string> timelapse_parts;
};

struct PlanResult {
  std::vector<PlanItem> items;       // in upload order
  std::vector<std::string> problems;  // --items lines that name nothing on the card
};

// Everything the card holds for the backup, in order (events and parking
// newest first, clips, drives oldest first).
PlanResult build_plan(const CardScan& scan, const PlanOptions& o, const Context& ctx);
// The order rule alone (stable): exposed for tests.
void order_items(std::vector<PlanItem>& items);

// --- uploaders (upload_s3.cpp, upload_local.cpp) ---------------------------------------

struct UploadFile {
  std::string rel;  // relative to the destination root
  fs::path path;
  uint64_t size = 0;
  std::string sha256;                 // required for S3; local computes it when empty
  std::vector<s3::Digests> part_digests;  // S3 multipart, optional
  std::string content_type;
  std::string storage_class;  // S3: x-amz-storage-class ("" = the bucket's default)
};

struct UploadStats {
  std::atomic<uint64_t> bytes_sent{0};
  std::atomic<size_t> objects_sent{0}, parts_sent{0}, parts_resumed{0}, files_present{0},
      uploads_aborted{0};
};

struct UploadSettings {
  int jobs = 4;
  uint64_t part_size = 8ull << 20;
  uint64_t bwlimit = 0;
  int retries = 5;
  bool content_md5 = false;
  // --encrypt: every object is sealed (nex/encryption.hpp) on its way out.
  std::shared_ptr<const crypt::Key> key;
};

// Runs transfers on `jobs` worker threads, in submission order.
class Uploader {
 public:
  virtual ~Uploader() = default;
  // Before any submit: reconcile the journal with the server, abort stale
  // multipart uploads under rel_prefix.
  virtual void begin(const std::string& rel_prefix) = 0;
  // done(error, sha256) runs on a worker once the file is verified at the
  // destination (error == nullptr) or failed.
  using Done = std::function<void(std::exception_ptr, const std::string& sha256)>;
  virtual void submit(UploadFile f, Done done) = 0;
  // Runs `task` on a worker after what was submitted before (manifests).
  virtual void post(std::function<void()> task) = 0;
  // Waits for everything submitted; rethrows the first fatal error.
  virtual void finish() = 0;
  // Bytes queued but not sent yet (backpressure for the planner).
  virtual uint64_t queued_bytes() const = 0;
  virtual void wait_queue_below(uint64_t bytes) = 0;
  // The first fatal error so far (the run stops), if any.
  virtual std::exception_ptr fatal() const = 0;
  virtual bool multipart() const = 0;  // wants part digests
  virtual uint64_t part_size() const = 0;
  // After finish(): drop the journal's finished entries.
  virtual void end() = 0;
};

std::unique_ptr<Uploader> make_s3_uploader(S3Access& dest, const fs::path& work, const UploadSettings& s,
                                           UploadStats& stats, const Context& ctx);
std::unique_ptr<Uploader> make_local_uploader(const fs::path& root, const UploadSettings& s,
                                              UploadStats& stats, const Context& ctx);

// --encrypt: a destination whose objects are sealed and opened with `key`
// (encrypted.cpp); the key of a destination made so, else null.
std::unique_ptr<Destination> encrypted_destination(std::unique_ptr<Destination> inner,
                                                   std::shared_ptr<const crypt::Key> key);
std::shared_ptr<const crypt::Key> encryption_key(const Destination& d);

// Whether an error stops the whole run (bad credentials, no bucket, server
// unreachable after retries, disk full, interrupted) rather than one item.
bool is_fatal(std::exception_ptr e);
std::string error_text(std::exception_ptr e);

// The one item a selection names (as pull resolves it, backup.cpp), with the
// destination it is in; UsageError when the selection names more than one.
void with_item(const ItemSelection& sel, const Config& cfg, const Context& ctx,
               const std::function<void(Destination&, const ItemRef&)>& use);

// A simple FIFO pool of worker threads (pool.cpp).
class WorkPool {
 public:
  explicit WorkPool(int threads);
  ~WorkPool();
  void push(std::function<void(int worker)> task, uint64_t bytes = 0);
  void wait_idle();
  void wait_queue_below(uint64_t bytes);
  uint64_t queued_bytes() const;
  void stop();  // drop queued tasks; running ones finish
  bool stopped() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace nex::sync
