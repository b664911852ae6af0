#pragma once
// Pulling a camera's card over Wi-Fi into a local mirror (card layout, read
// by every nex tool like a card): the first half of `nexsync http://CAM DEST`.
//
// Order: parking clips and the footage around drive events, newest first;
// then the rest of the drives oldest first (the next to be overwritten by
// the loop). A partial download is kept beside the mirror and resumed with
// Range / If-Range on the next attempt or run. A file counts as pulled only
// when its size is the camera's and (for video) its MP4 structure parses;
// it is then moved into the mirror under its final name (fsync + rename).
// A file the camera no longer has (404: the loop overwrote it) is reported
// once and not retried; the file being recorded waits; an empty or malformed
// listing is an error. Nothing in the mirror is ever deleted by a pull.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "nex/context.hpp"
#include "nex/output.hpp"
#include "nex/source.hpp"

namespace nex {

struct CameraPullOptions {
  std::string url;                     // http://HOST[:PORT]
  std::filesystem::path mirror;        // card-layout copy (created)
  std::filesystem::path partial_dir;   // partial downloads (created)
  CameraClientOptions client;
  int64_t before_ms = 20000, after_ms = 10000;  // footage kept around an event
  bool dry_run = false;
};

struct CameraPullReport {
  std::string serial;
  size_t pulled = 0;        // files moved into the mirror by this run
  size_t resumed = 0;       // of those, continued from a partial download
  size_t present = 0;       // already in the mirror
  size_t deferred = 0;      // being recorded: left for the next run
  std::vector<std::string> recording;  // those files (relative paths): a drive they follow is still open
  uint64_t bytes = 0;       // body bytes received
  std::vector<std::string> gone;    // overwritten before they could be saved
  std::vector<std::string> failed;  // "<rel>: <why>"
  bool camera_lost = false;         // the camera stopped answering mid-run
  double seconds = 0;               // wall time of the pull (listing to last file)
  ojson to_json() const;
  bool complete() const { return gone.empty() && failed.empty() && !camera_lost; }
};

// Throws InputError when no camera answers at all or its listing is unusable.
CameraPullReport pull_camera(const CameraPullOptions& o, const Context& ctx);

}  // namespace nex
