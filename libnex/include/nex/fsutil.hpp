#pragma once
// Crash-safe file writing: temporary name, fsync, rename. Nothing partial
// ever stands under a final name.
#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace nex {

// Temporary sibling of a final path: "<dir>/.<name>.tmp-<pid>".
std::filesystem::path temp_path_for(const std::filesystem::path& final_path);
// Removes the temporary siblings in `dir` (not below it) whose writing
// process is gone: what a crash or a kill -9 left behind. A temporary file
// of a process still running is left alone. Returns the names removed.
std::vector<std::string> remove_stale_temps(const std::filesystem::path& dir);
// A temporary name (temp_path_for, ".<final>.tmp-<pid>[...]"): the final
// name it will get and its writer's pid, whether or not that one still runs.
struct TempName {
  std::string final_name;
  pid_t pid = 0;
};
std::optional<TempName> parse_temp_name(std::string_view name);
// The final name of `name` when it is a temporary sibling
// (".<final>.tmp-<pid>[...]") whose writing process is gone; nullopt for any
// other name and for a writer still running.
std::optional<std::string> stale_temp_final(std::string_view name);

// Write bytes atomically (tmp + fsync + rename + fsync dir). Throws IoError.
void write_file_atomic(const std::filesystem::path& path, std::string_view data);
// Append one line (with '\n') and fsync. Throws IoError.
void append_line_durable(const std::filesystem::path& path, std::string_view line);
// fsync a file or directory by path. Throws IoError.
void fsync_path(const std::filesystem::path& path);
// rename + fsync of the directory. Throws IoError.
void commit_rename(const std::filesystem::path& from, const std::filesystem::path& to);
// Read a whole file. Throws IoError.
std::string read_file(const std::filesystem::path& path);

// Removes a temporary file on scope exit unless released.
class TempFileGuard {
 public:
  explicit TempFileGuard(std::filesystem::path p) : path_(std::move(p)) {}
  ~TempFileGuard();
  TempFileGuard(const TempFileGuard&) = delete;
  TempFileGuard& operator=(const TempFileGuard&) = delete;
  void release() { path_.clear(); }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

std::string errno_text(int err);

}  // namespace nex
