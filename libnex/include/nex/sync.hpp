#pragma once
// nexsync as library jobs: back a card up to S3-compatible storage or a local
// folder (DESIGN.md §3), get items back, star, unstar and delete them, and
// list a backup with the same records nexls shows for a card.
//
// What goes where (per model policy, models.yaml "cloud"):
//   events and parking incidents   events/<id>/{road.mp4, interior.mp4, event.json}
//     a drive event is cut from the drive footage (20 s before to 10 s after,
//     nex::cut, both cameras where present); a parking incident is its own clip
//   clips the user asks for        clips/<start>_<name>/{road.mp4, interior.mp4, clip.json}
//   drives (policy full)           drives/<id>/{road-timelapse.mp4, drive.json}
//                                  and/or footage/<day>/<segment files> (--drives full)
// Order: events and parking newest first, then clips, then drives oldest first.
// An item is backed up when its manifest (written last) is at the destination
// and every file it lists was verified there (size and SHA-256).
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

#include "nex/backup_layout.hpp"
#include "nex/camera_pull.hpp"
#include "nex/config.hpp"
#include "nex/context.hpp"
#include "nex/listing.hpp"
#include "nex/output.hpp"
#include "nex/s3.hpp"

namespace nex::sync {

struct Manifest;  // nex/manifest.hpp

enum class DrivesMode { Timelapse, Full, Both, None };
const char* to_string(DrivesMode m);
std::optional<DrivesMode> parse_drives_mode(std::string_view s);

// What a link may carry: events (and parking incidents) only, events and
// clips, or everything.
enum class Carry { Events, Clips, All };
const char* to_string(Carry c);
std::optional<Carry> parse_carry(std::string_view s);
bool carries(Carry c, ItemKind k);

struct LinkPolicy {
  std::string link = "wifi";
  Carry carry = Carry::All;
  uint64_t bwlimit = 0;  // bytes per second, 0: unlimited
};
// The policy of `link` ("wifi" or "mobile") from the config:
//   nexsync.links.<link>.carry   events | clips | all   (default: wifi all, mobile events)
//   nexsync.links.<link>.bwlimit RATE                   (default: unlimited)
// Throws UsageError for an unknown link or a bad value.
LinkPolicy link_policy(const std::string& link, const Config& cfg);

// "2M", "500K/s", "1.5MiB/s" -> bytes per second; "0" or "off" -> 0.
std::optional<uint64_t> parse_rate(std::string_view s);

// --clip FROM/TO[=NAME]: FROM and TO in DESIGN.md §4 time syntax (ISO 8601,
// a time of day, TO relative to FROM: "+30s").
struct ClipRequest {
  std::string from, to, name;
};
ClipRequest parse_clip_request(std::string_view spec);  // throws UsageError

// --storage-class: the S3 storage class of each kind of item's files.
// Manifests stay in the bucket's default class (every listing reads them).
struct StorageClasses {
  std::string events;  // events/: drive events and parking incidents
  std::string clips;   // clips/
  std::string drives;  // drives/ and footage/: continuous footage
  const std::string& of(ItemKind k) const;
  bool any() const { return !events.empty() || !clips.empty() || !drives.empty(); }
};
// "CLASS" (every kind) or "KIND=CLASS[,KIND=CLASS...]" with KIND events,
// clips or drives, applied over `into` (later wins). Throws UsageError.
void parse_storage_classes(std::string_view spec, StorageClasses& into);

struct SyncOptions {
  std::filesystem::path card;
  std::string destination;                  // s3://bucket/prefix or a folder
  bool dry_run = false;
  std::optional<std::filesystem::path> items;  // nexls NDJSON, "-" for items_in
  std::istream* items_in = nullptr;
  std::optional<DrivesMode> drives;         // default: timelapse (policy full), none (clips only)
  int64_t before_ms = 20000, after_ms = 10000;  // event clip window
  int timelapse = 30;                       // speed-up of drive timelapses
  std::vector<ClipRequest> clips;
  std::optional<uint64_t> quota;            // bytes under <prefix>/<serial>/
  std::string max_size;                     // local: "50%" (of free + used) or a size
  LinkPolicy link;
  uint64_t bwlimit = 0;                     // overrides link.bwlimit when > 0
  int jobs = 4;                             // transfers in flight
  uint64_t part_size = 8ull << 20;          // multipart part size (>= 5 MiB)
  int retries = 5;                          // attempts per request
  // S3: send Content-MD5 with every PUT and part (S3's own integrity check,
  // and what buckets with Object Lock demand), on top of the signed payload
  // SHA-256 (x-amz-content-sha256) the server checks anyway.
  bool content_md5 = true;
  StorageClasses storage_class;             // S3 only; "" = the bucket's default
  // --encrypt KEYFILE: every object sealed with this key (docs/encryption-format.md).
  std::filesystem::path encrypt_key;
  std::filesystem::path work_dir;           // journal, state, cut clips; "" = default
  bool watch = false;
  std::optional<s3::Config> s3;             // default: from environment and config
  // A camera (card = http://HOST[:PORT]): its card is pulled into this
  // card-layout mirror first (default: <work_dir>/cameras/<serial>/card),
  // then backed up from there (nex/camera_pull.hpp).
  std::optional<std::filesystem::path> mirror;
  CameraClientOptions camera;
};

// The default work dir: $XDG_CACHE_HOME/nex/sync or ~/.cache/nex/sync.
std::filesystem::path default_work_dir();

struct ItemResult {
  ItemRef ref;
  ItemKind kind = ItemKind::Event;
  // "uploaded", "up to date", "would upload", "left out", "rolled over",
  // "deleted" (rolled over from the destination), "waits for <link>",
  // "deferred" (--watch: still being recorded), "failed"
  std::string action;
  uint64_t bytes = 0;
  bool estimated = false;  // bytes of files not made yet (dry run)
  size_t files = 0;
  std::string note;
  ojson to_json() const;
};

struct SyncSummary {
  size_t items_planned = 0, items_uploaded = 0, items_up_to_date = 0, items_left_out = 0,
         items_failed = 0, items_rolled_over = 0, items_deleted = 0, items_waiting = 0;
  uint64_t bytes_sent = 0;
  size_t objects_sent = 0;   // whole-object PUTs and completed multipart uploads
  size_t parts_sent = 0;     // multipart parts sent by this run
  size_t parts_resumed = 0;  // parts a journal said the server already had
  size_t files_present = 0;  // files found complete at the destination, not sent again
  size_t uploads_aborted = 0;  // stale multipart uploads aborted
  size_t requests_list = 0;  // LIST calls (a no-op run makes one)
  // Events, clips and starred items alone exceed --quota: nothing more can go
  // until some are deleted or the quota is raised (exit 3).
  bool over_quota = false;
  double seconds = 0;
  ojson to_json() const;
};

struct SyncReport {
  std::vector<ItemResult> items;
  SyncSummary summary;
  std::optional<CameraPullReport> camera;  // when the card was a camera
  // 0 ok; 3 when items were left out (quota) or failed.
  int exit_code() const;
};

// One run: scan, plan, upload. `on_item` is called as each item is settled
// (from the calling thread or a worker, never concurrently). With watch, it
// follows the card until ctx is interrupted and returns the last pass.
SyncReport run_sync(const SyncOptions& o, const Context& ctx,
                    const std::function<void(const ItemResult&)>& on_item = {});

// --- getting items back, starring, deleting -------------------------------------

// An item named on the command line: a location ("s3://b/p/SERIAL/events/ID",
// "/backup/SERIAL/drives/ID", optionally ending in the manifest's name), or,
// with a destination, "SERIAL/events/ID", "events/ID" or a bare "ID".
struct ItemSpec {
  std::string destination;  // the backup root ("" when resolved against a --from)
  std::string item;         // what follows it
};
// Resolves specs (and NDJSON lines of items_in, records of `nexls BACKUP`
// with "location", or of `nexls CARD` with "type" and "id") against `from`.
struct ItemSelection {
  std::vector<std::string> specs;
  std::string from;                          // default destination for bare ids
  std::optional<std::filesystem::path> items;  // NDJSON, "-" for items_in
  std::istream* items_in = nullptr;
  std::optional<s3::Config> s3;
};

struct PullOptions {
  ItemSelection selection;
  std::filesystem::path to;  // writes <to>/<serial>/<category>/<id>/... (a local backup)
  bool overwrite = false;    // replace files that differ from the manifest
  // Called with each item's manifest before its files are fetched; a
  // UsageError it throws ends the pull (nexls --report refuses drives so).
  std::function<void(const Manifest&)> accept;
};
struct PullReport {
  std::vector<ItemResult> items;  // action "downloaded", "present", "failed"
  uint64_t bytes = 0;
  size_t files_resumed = 0;  // partial downloads continued with a Range request
  int exit_code() const;
};
PullReport run_pull(const PullOptions& o, const Config& cfg, const Context& ctx,
                    const std::function<void(const ItemResult&)>& on_item = {});

// Sets or clears the starred flag (rewrites the manifest). Returns the items.
std::vector<ItemResult> set_starred(const ItemSelection& sel, bool starred, const Config& cfg,
                                    const Context& ctx);

// Deletes items for good (manifest first, then the files). `confirm` is asked
// once with the list of items and their sizes; false cancels (nothing deleted).
std::vector<ItemResult> remove_items(const ItemSelection& sel, const Config& cfg, const Context& ctx,
                                     const std::function<bool(const std::vector<ItemResult>&)>& confirm);

// --- sharing by link ---------------------------------------------------------------

// A link per file of each item: an S3 presigned GET (SigV4 query signing,
// nex/sigv4.hpp) that anyone can fetch without credentials or nex until it
// expires. Sharing changes nothing in the backup. Only S3 backups can be
// shared (UsageError for a folder); an item without its manifest is not
// backed up (InputError); every file is checked to be there (HEAD).
struct ShareOptions {
  ItemSelection selection;
  int64_t expires_seconds = 7 * 24 * 3600;  // 1 s to 7 days (S3's limit)
};
struct SharedFile {
  ItemRef ref;
  std::string file;     // the file's name in the item ("road.mp4")
  uint64_t size = 0;
  std::string sha256;   // as the manifest records it
  std::string link;
  std::string expires;  // UTC, ISO 8601 with 'Z'
  ojson to_json() const;  // item, file, size, sha256, link, expires
};
std::vector<SharedFile> share_items(const ShareOptions& o, const Config& cfg, const Context& ctx);
// "7d", "12h", "90m", "2s" (a lifetime) or "2026-12-10T00:00:00Z" (an
// instant, UTC) -> seconds from now. Throws UsageError when it is not one, is
// not in the future, or is beyond 7 days.
int64_t parse_expiry(std::string_view s, std::chrono::system_clock::time_point now);

// --- an evidence bundle from a backup (docs/evidence.md) ---------------------------

// One backed-up event or clip as an evidence bundle in `dir` (the layout of
// nexcut --evidence, plus backup/<manifest> as it was backed up): its files
// checked against the manifest, each clip's derivation as recorded at backup
// time, the source segments and sidecars where the backup keeps them (listed
// as absent_sources otherwise), the window's telemetry, evidence.json, an
// Ed25519 signature with sign_key, SHA256SUMS. Built beside dir and renamed:
// nothing under dir on failure. UsageError for a selection of more than one
// item or a drive; InputError for a bad key (before any request), an existing
// dir, an item that is not backed up, a damaged backup.
struct EvidencePullOptions {
  ItemSelection selection;
  std::filesystem::path dir;
  std::optional<std::filesystem::path> sign_key;
};
struct EvidencePullReport {
  ItemRef ref;
  std::string location;       // the item in the backup (no credentials)
  std::filesystem::path dir;
  size_t files = 0;           // listed in evidence.json
  uint64_t bytes = 0;
  bool sources = false;       // every source segment is in the bundle (or the clips are the camera's files)
  bool telemetry = false;     // GPX / CSV written
  std::string fingerprint;    // "" when unsigned
  std::vector<std::string> notes;
  ojson to_json() const;
};
EvidencePullReport pull_evidence(const EvidencePullOptions& o, const Config& cfg, const Context& ctx);

// --- listing a backup ---------------------------------------------------------------

enum class BackupView { Drives, Segments, Events, Parking, Clips, Items };

// A folder that holds a backup (rather than a card): no camera.yaml, and a
// <serial>/{events,clips,drives,footage} folder below it.
bool looks_like_backup(const std::filesystem::path& folder);

// The backup's items as records with nexls' keys (type, id, start, end, ...
// as in list_view) plus serial, starred, location (the item's folder) and
// backed_up_bytes. Items: every item (type, id, serial, time, files, size,
// starred, location), what `nexsync pull --items -` reads.
// serials: only these cameras (their part of the backup is listed, not the
// whole prefix: an operator's --serial over a fleet).
Records list_backup(const std::string& destination, BackupView view, const ListFilter& filter,
                    const Config& cfg, const Context& ctx, const std::vector<std::string>& serials = {});

}  // namespace nex::sync
