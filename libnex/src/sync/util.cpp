// Small pieces of the sync machinery: fault injection for tests, hashing,
// file stamps, error classification, the worker pool.
#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <condition_variable>
#include <csignal>
#include <cstdlib>
#include <ctime>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

#include "nex/error.hpp"
#include "nex/fsutil.hpp"
#include "nex/sigv4.hpp"
#include "sync/internal.hpp"

namespace nex::sync {

namespace {
struct FaultSpec {
  std::string point;  // empty: no fault armed
  long nth = 1;
};
const FaultSpec& fault_spec() {
  static const FaultSpec spec = [] {
    FaultSpec f;
    const char* v = std::getenv("NEX_SYNC_FAULT");
    f.point = v ? v : "";
    if (auto colon = f.point.find(':'); colon != std::string::npos) {
      f.nth = std::strtol(f.point.c_str() + colon + 1, nullptr, 10);
      f.point.resize(colon);
    }
    return f;
  }();
  return spec;
}
}  // namespace

void fault_point(const char* point) {
  const FaultSpec& spec = fault_spec();
  if (spec.point.empty() || spec.point != point) return;
  static std::atomic<long> seen{0};
  if (++seen == spec.nth) ::raise(SIGKILL);
}

void fault_step(const char* point, const std::function<void()>& step) {
  const FaultSpec& spec = fault_spec();
  if (spec.point.empty() || spec.point != point) {
    step();
    return;
  }
  // SIGKILL is raised with the lock held: no other thread's step of this
  // point completes after the n-th one.
  static std::mutex mu;
  std::lock_guard lock(mu);
  step();
  fault_point(point);
}

std::string sha256_hex(std::string_view data) { return sigv4::sha256_hex(data); }

std::string utc_now_iso() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

Evp::Evp(const EVP_MD* md) : c_(EVP_MD_CTX_new()) {
  if (!c_ || EVP_DigestInit_ex(c_, md, nullptr) != 1) {
    EVP_MD_CTX_free(c_);
    throw std::runtime_error("OpenSSL digest unavailable");
  }
}
Evp::~Evp() { EVP_MD_CTX_free(c_); }
void Evp::update(const void* p, size_t n) { EVP_DigestUpdate(c_, p, n); }
std::string Evp::hex() {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(c_, out, &len);
  return sigv4::hex(out, len);
}
std::string Evp::b64() {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(c_, out, &len);
  std::string s(4 * ((len + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(s.data()), out, static_cast<int>(len));
  s.resize(static_cast<size_t>(n));
  return s;
}

FileDigests digest_file_parts(const fs::path& path, uint64_t size, uint64_t part_size,
                              const Context& ctx) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw IoError("cannot open " + path.string() + ": " + errno_text(errno));
  FdCloser closer{fd};
#ifdef POSIX_FADV_SEQUENTIAL
  ::posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
#endif
  Evp whole(EVP_sha256());
  std::unique_ptr<Evp> psha, pmd5;
  FileDigests out;
  // One part covering the whole file shares the whole file's SHA-256.
  const bool one_part = part_size >= size;
  auto start_part = [&] {
    if (!one_part) psha = std::make_unique<Evp>(EVP_sha256());
    pmd5 = std::make_unique<Evp>(EVP_md5());
  };
  auto end_part = [&] {
    s3::Digests d;
    if (psha) d.sha256_hex = psha->hex();
    d.md5_base64 = pmd5->b64();
    out.parts.push_back(std::move(d));
    psha.reset();
    pmd5.reset();
  };
  std::vector<char> buf(1 << 20);
  uint64_t pos = 0;
  if (part_size) start_part();
  while (pos < size) {
    ctx.check_interrupt();
    size_t want = static_cast<size_t>(std::min<uint64_t>(buf.size(), size - pos));
    if (part_size) want = static_cast<size_t>(std::min<uint64_t>(want, part_size - pos % part_size));
    ssize_t r = ::pread(fd, buf.data(), want, static_cast<off_t>(pos));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) throw IoError("cannot read " + path.string() + ": " + errno_text(errno));
    if (r == 0) throw IoError(path.string() + " shrank while it was read");
    whole.update(buf.data(), static_cast<size_t>(r));
    if (part_size) {
      if (psha) psha->update(buf.data(), static_cast<size_t>(r));
      pmd5->update(buf.data(), static_cast<size_t>(r));
    }
    pos += static_cast<uint64_t>(r);
    if (part_size && (pos % part_size == 0 || pos == size)) {
      end_part();
      if (pos < size) start_part();
    }
  }
  if (part_size && size == 0) end_part();
  out.sha256 = whole.hex();
  if (one_part)
    for (auto& p : out.parts) p.sha256_hex = out.sha256;
  return out;
}

std::optional<FileStamp> stamp(const fs::path& p) {
  struct ::stat st {};
  if (::stat(p.c_str(), &st) != 0) return std::nullopt;
  return FileStamp{static_cast<uint64_t>(st.st_size),
                   static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000LL + st.st_mtim.tv_nsec,
                   static_cast<int64_t>(st.st_ctim.tv_sec) * 1000000000LL + st.st_ctim.tv_nsec};
}

bool is_fatal(std::exception_ptr e) {
  if (!e) return false;
  try {
    std::rethrow_exception(e);
  } catch (const s3::Error& err) {
    switch (err.kind()) {
      case s3::ErrorKind::AccessDenied:
      case s3::ErrorKind::ClockSkew:
      case s3::ErrorKind::NoSuchBucket:
      case s3::ErrorKind::Network:
      case s3::ErrorKind::Server:
      case s3::ErrorKind::Throttled:
        return true;
      default:
        return false;
    }
  } catch (const Interrupted&) {
    return true;
  } catch (const IoError& err) {
    // Local disks: full or read-only is the end of the run.
    std::string w = err.what();
    return w.find("No space left") != std::string::npos || w.find("Read-only") != std::string::npos;
  } catch (...) {
    return false;
  }
}

std::string error_text(std::exception_ptr e) {
  if (!e) return {};
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& err) {
    return err.what();
  } catch (...) {
    return "unknown error";
  }
}

// --- WorkPool ----------------------------------------------------------------

struct WorkPool::Impl {
  std::mutex mu;
  std::condition_variable cv_work, cv_idle;
  std::deque<std::pair<std::function<void(int)>, uint64_t>> queue;
  std::vector<std::thread> threads;
  int running = 0;
  uint64_t queued = 0;
  bool stopping = false, stopped = false;
};

WorkPool::WorkPool(int threads) : impl_(std::make_unique<Impl>()) {
  for (int i = 0; i < threads; ++i) {
    impl_->threads.emplace_back([this, i] {
      Impl& m = *impl_;
      for (;;) {
        std::function<void(int)> task;
        uint64_t bytes = 0;
        {
          std::unique_lock lock(m.mu);
          m.cv_work.wait(lock, [&] { return m.stopping || !m.queue.empty(); });
          if (m.queue.empty()) return;  // stopping
          task = std::move(m.queue.front().first);
          bytes = m.queue.front().second;
          m.queue.pop_front();
          ++m.running;
        }
        task(i);  // tasks catch their own errors
        {
          std::lock_guard lock(m.mu);
          --m.running;
          m.queued -= std::min(m.queued, bytes);
        }
        m.cv_idle.notify_all();
      }
    });
  }
}

WorkPool::~WorkPool() {
  {
    std::lock_guard lock(impl_->mu);
    impl_->stopping = true;
    impl_->queue.clear();
  }
  impl_->cv_work.notify_all();
  for (auto& t : impl_->threads) t.join();
}

void WorkPool::push(std::function<void(int)> task, uint64_t bytes) {
  {
    std::lock_guard lock(impl_->mu);
    if (impl_->stopped) return;
    impl_->queue.emplace_back(std::move(task), bytes);
    impl_->queued += bytes;
  }
  impl_->cv_work.notify_one();
}

void WorkPool::wait_idle() {
  std::unique_lock lock(impl_->mu);
  impl_->cv_idle.wait(lock, [&] { return impl_->queue.empty() && impl_->running == 0; });
}

void WorkPool::wait_queue_below(uint64_t bytes) {
  std::unique_lock lock(impl_->mu);
  impl_->cv_idle.wait(lock, [&] { return impl_->queued < bytes || impl_->stopped; });
}

uint64_t WorkPool::queued_bytes() const {
  std::lock_guard lock(impl_->mu);
  return impl_->queued;
}

void WorkPool::stop() {
  {
    std::lock_guard lock(impl_->mu);
    impl_->stopped = true;
    impl_->queue.clear();
    impl_->queued = 0;
  }
  impl_->cv_idle.notify_all();
}

bool WorkPool::stopped() const {
  std::lock_guard lock(impl_->mu);
  return impl_->stopped;
}

}  // namespace nex::sync
