#include "nex/fsutil.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "nex/error.hpp"

namespace fs = std::filesystem;

namespace nex {

std::string errno_text(int err) { return std::strerror(err); }

fs::path temp_path_for(const fs::path& final_path) {
  return final_path.parent_path() /
         ("." + final_path.filename().string() + ".tmp-" + std::to_string(::getpid()));
}

std::optional<TempName> parse_temp_name(std::string_view name) {
  // ".<name>.tmp-<pid>", or a temporary of that one (".<...>.tmp-<pid>-0" and the like)
  const auto at = name.find(".tmp-");
  if (name.size() < 2 || name[0] != '.' || at == std::string::npos) return std::nullopt;
  const auto stop = name.find_first_not_of("0123456789", at + 5);
  const std::string digits(name.substr(at + 5, stop == std::string::npos ? std::string::npos : stop - at - 5));
  if (digits.empty() || digits.size() > 9) return std::nullopt;
  const pid_t pid = static_cast<pid_t>(std::stol(digits));
  if (pid <= 0) return std::nullopt;
  return TempName{at > 1 ? std::string(name.substr(1, at - 1)) : std::string(), pid};
}

std::optional<std::string> stale_temp_final(std::string_view name) {
  auto t = parse_temp_name(name);
  if (!t || t->pid == ::getpid()) return std::nullopt;
  if (::kill(t->pid, 0) == 0 || errno == EPERM) return std::nullopt;  // its writer still runs
  return t->final_name;
}

std::vector<std::string> remove_stale_temps(const fs::path& dir) {
  std::vector<std::string> removed;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (!stale_temp_final(name)) continue;
    std::error_code rm;
    if (it->is_regular_file(rm) && fs::remove(it->path(), rm)) removed.push_back(name);
  }
  return removed;
}

void fsync_path(const fs::path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw IoError(path.string() + ": " + errno_text(errno));
  const int r = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  if (r != 0 && err != EINVAL) throw IoError(path.string() + ": fsync: " + errno_text(err));
}

void commit_rename(const fs::path& from, const fs::path& to) {
  if (::rename(from.c_str(), to.c_str()) != 0)
    throw IoError(to.string() + ": rename: " + errno_text(errno));
  fs::path dir = to.parent_path();
  fsync_path(dir.empty() ? fs::path(".") : dir);
}

namespace {
void write_all(int fd, std::string_view data, const fs::path& path) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      throw IoError(path.string() + ": write: " + errno_text(errno));
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
}
}  // namespace

void write_file_atomic(const fs::path& path, std::string_view data) {
  const fs::path tmp = temp_path_for(path);
  TempFileGuard guard(tmp);
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw IoError(path.string() + ": " + errno_text(errno));
  try {
    write_all(fd, data, path);
    if (::fsync(fd) != 0) throw IoError(path.string() + ": fsync: " + errno_text(errno));
  } catch (...) {
    ::close(fd);
    throw;
  }
  if (::close(fd) != 0) throw IoError(path.string() + ": close: " + errno_text(errno));
  commit_rename(tmp, path);
  guard.release();
}

void append_line_durable(const fs::path& path, std::string_view line) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) throw IoError(path.string() + ": " + errno_text(errno));
  std::string buf(line);
  buf += '\n';
  try {
    write_all(fd, buf, path);
    if (::fsync(fd) != 0) throw IoError(path.string() + ": fsync: " + errno_text(errno));
  } catch (...) {
    ::close(fd);
    throw;
  }
  ::close(fd);
}

std::string read_file(const fs::path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw IoError(path.string() + ": " + errno_text(errno));
  std::string out;
  char buf[65536];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      ::close(fd);
      throw IoError(path.string() + ": read: " + errno_text(err));
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return out;
}

TempFileGuard::~TempFileGuard() {
  if (!path_.empty()) ::unlink(path_.c_str());
}

}  // namespace nex
