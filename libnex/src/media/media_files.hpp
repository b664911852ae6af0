#pragma once
// Internal: temporary names for files the media code writes.
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <string>

namespace nex::media {

// "<dir>/.<name>.tmp-<pid>-<n>": unique per process and per call, so two
// threads (or processes) writing the same final name never share a temp file.
inline std::filesystem::path unique_temp_for(const std::filesystem::path& final_path) {
  static std::atomic<unsigned> counter{0};
  return final_path.parent_path() / ("." + final_path.filename().string() + ".tmp-" +
                                     std::to_string(::getpid()) + "-" + std::to_string(counter++));
}

}  // namespace nex::media
