// Copies to a local folder: temporary name in the final folder, SHA-256 of
// the bytes as they are written, fsync, rename, fsync of the folder.
#include <fcntl.h>
#include <openssl/evp.h>
#include <unistd.h>

#include <mutex>

#include "nex/error.hpp"
#include "nex/fsutil.hpp"
#include "nex/sigv4.hpp"
#include "sync/internal.hpp"

namespace nex::sync {
namespace {

// Copies from -> to (created), hashing what is written; fsyncs. Returns the SHA-256.
std::string copy_hashing(const fs::path& from, const fs::path& to, uint64_t expect_size, const Context& ctx,
                         UploadStats& stats) {
  const int in = ::open(from.c_str(), O_RDONLY | O_CLOEXEC);
  if (in < 0) throw IoError("cannot open " + from.string() + ": " + errno_text(errno));
  FdCloser cin{in};
#ifdef POSIX_FADV_SEQUENTIAL
  ::posix_fadvise(in, 0, 0, POSIX_FADV_SEQUENTIAL);
#endif
  const int out = ::open(to.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (out < 0) throw IoError("cannot create " + to.string() + ": " + errno_text(errno));
  FdCloser cout{out};
  Evp sha(EVP_sha256());
  std::vector<char> buf(1 << 20);
  uint64_t pos = 0;
  for (;;) {
    ctx.check_interrupt();
    ssize_t r = ::read(in, buf.data(), buf.size());
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) throw IoError("cannot read " + from.string() + ": " + errno_text(errno));
    if (r == 0) break;
    write_fully(out, buf.data(), static_cast<size_t>(r), pos, to);
    sha.update(buf.data(), static_cast<size_t>(r));
    pos += static_cast<uint64_t>(r);
    stats.bytes_sent += static_cast<uint64_t>(r);
  }
  if (pos != expect_size)
    throw IoError(from.string() + " changed while it was copied (" + std::to_string(pos) + " bytes, expected " +
                  std::to_string(expect_size) + ")");
  if (::fsync(out) != 0) throw IoError("cannot fsync " + to.string() + ": " + errno_text(errno));
  return sha.hex();
}

// --encrypt: copies from -> to sealed (a random salt: local copies restart
// rather than resume), hashing the plaintext as it is read. Returns its SHA-256.
std::string copy_sealing(const crypt::Key& key, const fs::path& from, const fs::path& to, uint64_t expect_size,
                         const Context& ctx, UploadStats& stats) {
  const int in = ::open(from.c_str(), O_RDONLY | O_CLOEXEC);
  if (in < 0) throw IoError("cannot open " + from.string() + ": " + errno_text(errno));
  FdCloser cin{in};
  const int out = ::open(to.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (out < 0) throw IoError("cannot create " + to.string() + ": " + errno_text(errno));
  FdCloser cout{out};
  const crypt::Sealer seal(key, expect_size);
  Evp sha(EVP_sha256());
  std::string wbuf = seal.header(), chunk(seal.chunk_size(), '\0');
  uint64_t pos = 0, wpos = 0;
  const uint64_t n = crypt::chunk_count(expect_size, seal.chunk_size());
  for (uint64_t i = 0; i < n; ++i) {
    ctx.check_interrupt();
    const size_t want = static_cast<size_t>(std::min<uint64_t>(seal.chunk_size(), expect_size - pos));
    size_t got = 0;
    while (got < want) {
      ssize_t r = ::read(in, chunk.data() + got, want - got);
      if (r < 0 && errno == EINTR) continue;
      if (r < 0) throw IoError("cannot read " + from.string() + ": " + errno_text(errno));
      if (r == 0) throw IoError(from.string() + " changed while it was copied (shorter than " + std::to_string(expect_size) + " bytes)");
      got += static_cast<size_t>(r);
    }
    sha.update(chunk.data(), want);
    seal.append_chunk(i, std::string_view(chunk.data(), want), wbuf);
    pos += want;
    stats.bytes_sent += want;
    if (wbuf.size() >= (1u << 20) || i + 1 == n) {
      write_fully(out, wbuf.data(), wbuf.size(), wpos, to);
      wpos += wbuf.size();
      wbuf.clear();
    }
  }
  char extra;
  if (::read(in, &extra, 1) > 0)
    throw IoError(from.string() + " changed while it was copied (longer than " + std::to_string(expect_size) + " bytes)");
  if (::fsync(out) != 0) throw IoError("cannot fsync " + to.string() + ": " + errno_text(errno));
  return sha.hex();
}

class LocalUploader final : public Uploader {
 public:
  LocalUploader(const fs::path& root, const UploadSettings& s, UploadStats& stats, const Context& ctx)
      : root_(root), s_(s), stats_(stats), ctx_(ctx), pool_(std::max(1, s.jobs)) {}
  ~LocalUploader() override {
    pool_.stop();
    pool_.wait_idle();
  }

  bool multipart() const override { return false; }
  uint64_t part_size() const override { return 0; }
  // Temporary files of a run that crashed (we hold the lock: nobody else writes here).
  void begin(const std::string& rel_prefix) override {
    std::error_code ec;
    const fs::path base = root_ / rel_prefix;
    if (!fs::is_directory(base, ec)) return;
    std::vector<fs::path> stale;
    for (fs::recursive_directory_iterator it(base, ec), end; !ec && it != end; it.increment(ec)) {
      const std::string name = it->path().filename().string();
      if (name.size() > 1 && name[0] == '.' && name.find(".tmp-") != std::string::npos) stale.push_back(it->path());
    }
    for (const auto& p : stale) {
      ctx_.log->info("removing {} (left by an interrupted run)", p.string());
      fs::remove(p, ec);
    }
  }
  void end() override {}

  void submit(UploadFile f, Done done) override {
    if (fatal()) {
      done(fatal(), {});
      return;
    }
    const uint64_t size = f.size;
    pool_.push(
        [this, f = std::move(f), done = std::move(done)](int) {
          try {
            ctx_.check_interrupt();
            if (auto e = fatal()) std::rethrow_exception(e);
            const fs::path final_path = root_ / f.rel;
            // (a destination that went away is not made again: see below)
            {
              std::error_code ec;
              if (!fs::is_directory(root_, ec)) throw IoError(root_.string() + ": the destination folder is gone");
            }
            make_parents(final_path);
            // Already there (a run that stopped before its manifest)?
            const uint64_t stored = s_.key ? crypt::cipher_size(f.size) : f.size;
            if (auto st = stamp(final_path); st && st->size == stored) {
              std::string have;
              if (s_.key) {
                // Its plaintext's SHA-256, every chunk checked (another key or damage: copied again).
                try {
                  Evp h(EVP_sha256());
                  crypt::open_file(*s_.key, final_path, "/dev/null", final_path.string(),
                                   [&](const char* p, size_t n) { h.update(p, n); });
                  have = h.hex();
                } catch (const InputError&) {
                }
              } else {
                have = s3::digest_file({final_path, 0, 0}, false).sha256_hex;
              }
              const std::string want =
                  f.sha256.empty() ? s3::digest_file({f.path, 0, 0}, false).sha256_hex : f.sha256;
              if (have == want) {
                ++stats_.files_present;
                done(nullptr, have);
                return;
              }
            }
            const fs::path tmp = temp_path_for(final_path);
            TempFileGuard guard(tmp);
            const std::string sha = s_.key ? copy_sealing(*s_.key, f.path, tmp, f.size, ctx_, stats_)
                                           : copy_hashing(f.path, tmp, f.size, ctx_, stats_);
            if (!f.sha256.empty() && sha != f.sha256)
              throw IoError(f.path.string() + " changed while it was copied (SHA-256 differs)");
            fault_point("after-copy");
            commit_rename(tmp, final_path);
            guard.release();
            ++stats_.objects_sent;
            done(nullptr, sha);
          } catch (...) {
            auto e = std::current_exception();
            if (is_fatal(e)) {
              std::lock_guard lock(mu_);
              if (!fatal_) {
                fatal_ = e;
                pool_.stop();
              }
            }
            done(e, {});
          }
        },
        size);
  }

  void post(std::function<void()> task) override {
    pool_.push([task = std::move(task)](int) { task(); });
  }

  void finish() override {
    pool_.wait_idle();
    if (auto e = fatal()) std::rethrow_exception(e);
  }

  uint64_t queued_bytes() const override { return pool_.queued_bytes(); }
  void wait_queue_below(uint64_t bytes) override { pool_.wait_queue_below(bytes); }
  std::exception_ptr fatal() const override {
    std::lock_guard lock(mu_);
    return fatal_;
  }

 private:
  fs::path root_;
  UploadSettings s_;
  UploadStats& stats_;
  const Context& ctx_;
  mutable std::mutex mu_;
  std::exception_ptr fatal_;
  WorkPool pool_;
};

}  // namespace

std::unique_ptr<Uploader> make_local_uploader(const fs::path& root, const UploadSettings& s, UploadStats& stats,
                                              const Context& ctx) {
  return std::make_unique<LocalUploader>(root, s, stats, ctx);
}

}  // namespace nex::sync
