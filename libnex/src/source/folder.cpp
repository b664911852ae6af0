// A card folder as a Source: the filesystem, read-only.
#include <fcntl.h>
#include <unistd.h>

#include <atomic>

#include "nex/error.hpp"
#include "nex/fsutil.hpp"
#include "nex/source.hpp"

namespace fs = std::filesystem;

namespace nex {

namespace {

class FolderSource final : public Source {
 public:
  explicit FolderSource(fs::path root) : root_(std::move(root)) {
    std::error_code ec;
    if (!fs::exists(root_, ec)) throw InputError(root_.string() + ": no such card folder");
    if (!fs::is_directory(root_, ec)) throw InputError(root_.string() + ": not a folder", "give the card's root folder");
  }

  std::string describe() const override { return root_.string(); }
  bool remote() const override { return false; }

  std::vector<SourceEntry> list(const std::string& dir) override {
    std::vector<SourceEntry> out;
    const fs::path p = dir.empty() ? root_ : root_ / dir;
    std::error_code ec;
    if (!dir.empty() && !fs::is_directory(p, ec)) return out;
    fs::directory_iterator it(p, fs::directory_options::skip_permission_denied, ec);
    if (ec) throw InputError((dir.empty() ? root_.string() : dir + "/") + ": cannot list: " + ec.message());
    for (; it != fs::directory_iterator(); it.increment(ec)) {
      if (ec) break;
      SourceEntry e;
      e.name = it->path().filename().string();
      e.rel = dir.empty() ? e.name : dir + "/" + e.name;
      std::error_code e2;
      e.regular = it->is_regular_file(e2);
      e.size = e.regular ? it->file_size(e2) : 0;
      out.push_back(std::move(e));
    }
    return out;
  }

  std::optional<std::string> read_file(const std::string& rel) override {
    const fs::path p = root_ / rel;
    std::error_code ec;
    if (!fs::exists(p, ec)) return std::nullopt;
    std::string text = nex::read_file(p);
    read_ += text.size();
    return text;
  }

  size_t read_at(const std::string& rel, uint64_t off, void* buf, size_t n) override {
    const fs::path p = root_ / rel;
    const int fd = ::open(p.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw IoError(p.string() + ": " + errno_text(errno));
    size_t got = 0;
    while (got < n) {
      const ssize_t r = ::pread(fd, static_cast<char*>(buf) + got, n - got, static_cast<off_t>(off + got));
      if (r < 0 && errno == EINTR) continue;
      if (r < 0) {
        const int err = errno;
        ::close(fd);
        throw IoError(p.string() + ": read: " + errno_text(err));
      }
      if (r == 0) break;
      got += static_cast<size_t>(r);
    }
    ::close(fd);
    read_ += got;
    return got;
  }

  std::optional<fs::path> local_path(const std::string& rel) const override { return root_ / rel; }
  uint64_t bytes_read() const override { return read_; }

 private:
  fs::path root_;
  std::atomic<uint64_t> read_{0};
};

}  // namespace

std::unique_ptr<Source> open_camera_source(const std::string& url, const Context& ctx, const CameraClientOptions& o);

std::unique_ptr<Source> open_source(const std::string& spec, const Context& ctx, const CameraClientOptions& o) {
  if (spec.rfind("http://", 0) == 0 || spec.rfind("https://", 0) == 0) {
    if (!is_camera_url(spec))
      throw UsageError("bad camera address '" + spec + "'", "give the camera's base URL, e.g. http://192.168.1.1:8080");
    return open_camera_source(spec, ctx, o);
  }
  return std::make_unique<FolderSource>(spec);
}

}  // namespace nex
