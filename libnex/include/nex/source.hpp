#pragma once
// Where footage is read from (DESIGN.md §1): a card folder, or a camera over
// Wi-Fi at http://HOST[:PORT] (docs/camera-api.md). Every reader goes through
// this interface, as every writer goes through Destination: a tool does not
// know which it has. Paths are card-relative ("drive/20261120_081200_1.mp4").
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "nex/camera_api.hpp"
#include "nex/context.hpp"

namespace nex {

struct SourceEntry {
  std::string name;         // file or folder name within the listed folder
  std::string rel;          // card-relative path
  bool regular = true;      // false: a folder or special file
  uint64_t size = 0;
  bool complete = true;     // false: being recorded (camera only)
  std::string etag;         // camera only
};

class Source {
 public:
  virtual ~Source() = default;
  // The source as given: a folder path or the camera's base URL.
  virtual std::string describe() const = 0;
  virtual bool remote() const = 0;
  // What one folder holds: "" (the card root), "drive" or "sos". An absent
  // folder lists nothing. Throws InputError when the source cannot be listed.
  virtual std::vector<SourceEntry> list(const std::string& dir) = 0;
  // A whole (small) file: camera.yaml, events.ndjson, sidecars. nullopt when
  // it is not there; throws IoError when it cannot be read.
  virtual std::optional<std::string> read_file(const std::string& rel) = 0;
  // Up to n bytes at offset off; fewer only at the end of the file. Throws
  // IoError.
  virtual size_t read_at(const std::string& rel, uint64_t off, void* buf, size_t n) = 0;
  // The file on the local filesystem, when the source is a folder.
  virtual std::optional<std::filesystem::path> local_path(const std::string& rel) const = 0;
  // Bytes read from the source so far (a camera's traffic, for reports and
  // benches; a folder counts what read_at returned).
  virtual uint64_t bytes_read() const = 0;
};

// A camera's base URL: http://HOST[:PORT] with nothing after an optional "/".
bool is_camera_url(std::string_view s);

struct CameraClientOptions {
  long connect_timeout_ms = 5000;
  long stall_timeout_s = 20;     // a transfer below 1 byte/s this long fails
  int retries = 4;               // attempts per request on a transient failure
  uint64_t rate = 0;             // bytes per second, 0: unlimited
};

// A folder ("/media/card") or a camera ("http://127.0.0.1:8080"). A camera
// is asked for its info at once: anything that is not a nex camera is an
// InputError naming what answered. Throws InputError for a missing folder.
std::unique_ptr<Source> open_source(const std::string& spec, const Context& ctx,
                                    const CameraClientOptions& copts = {});

// The camera side of a Source, for the jobs that pull from one (nexsync).
class CameraSource : public Source {
 public:
  virtual const CameraInfo& info() const = 0;
  // Ask again (the listing moves while the camera records).
  virtual CameraInfo refresh_info() = 0;
  virtual const CameraListing& listing() = 0;
  virtual const CameraListing& refresh_listing() = 0;

  // Download `rel` into `part`, resuming from its current length when the
  // file's ETag is still `etag` (If-Range; only a 206 that starts where the
  // part ends counts, a 200 restarts). Returns how the fetch ended.
  enum class Fetch { Done, Gone, Changed, Failed };
  struct FetchResult {
    Fetch status = Fetch::Failed;
    uint64_t size = 0;        // the file's full size as the camera says
    uint64_t resumed_from = 0;
    uint64_t received = 0;    // body bytes this call
    std::string etag;
    std::string error;        // for Failed
  };
  virtual FetchResult fetch(const std::string& rel, const std::filesystem::path& part, const std::string& etag,
                            const std::function<void(uint64_t)>& progress = {}) = 0;
};

}  // namespace nex
