// The two destinations: an S3 bucket/prefix and a local folder.
#include "nex/destination.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <atomic>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

#include "nex/backup_layout.hpp"
#include "nex/error.hpp"
#include "nex/fsutil.hpp"
#include "nex/timeutil.hpp"
#include "sync/internal.hpp"

namespace fs = std::filesystem;

namespace nex::sync {

std::string DestinationUrl::text() const {
  if (!s3) return folder.string();
  return "s3://" + bucket + (prefix.empty() ? "" : "/" + prefix);
}

DestinationUrl parse_destination(std::string_view text) {
  DestinationUrl u;
  if (is_s3_url(text)) {
    std::string_view rest = text.substr(5);
    const size_t slash = rest.find('/');
    u.s3 = true;
    u.bucket = std::string(rest.substr(0, slash));
    std::string_view prefix = slash == std::string_view::npos ? std::string_view{} : rest.substr(slash + 1);
    while (!prefix.empty() && prefix.back() == '/') prefix.remove_suffix(1);
    while (!prefix.empty() && prefix.front() == '/') prefix.remove_prefix(1);
    u.prefix = std::string(prefix);
    if (u.bucket.empty())
      throw UsageError("no bucket in '" + std::string(text) + "'", "use s3://BUCKET/PREFIX");
    for (char c : u.bucket)
      if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_'))
        throw UsageError("bad bucket name '" + u.bucket + "'",
                         "bucket names are lower-case letters, digits, '-' and '.'");
    if (!u.prefix.empty() && !safe_key(u.prefix))
      throw UsageError("bad S3 prefix '" + u.prefix + "'", "no empty, '.' or '..' components");
    return u;
  }
  if (text.empty()) throw UsageError("empty destination");
  std::error_code ec;
  u.folder = fs::absolute(fs::path(text), ec).lexically_normal();
  if (ec) throw UsageError("bad destination '" + std::string(text) + "': " + ec.message());
  std::string f = u.folder.string();
  while (f.size() > 1 && f.back() == '/') f.pop_back();
  u.folder = f;
  return u;
}

std::string Destination::location(std::string_view rel) const {
  if (url_.s3) {
    std::string t = "s3://" + url_.bucket;
    std::string k = join_key(url_.prefix, rel);
    return k.empty() ? t : t + "/" + k;
  }
  return rel.empty() ? url_.folder.string() : (url_.folder / std::string(rel)).string();
}

std::vector<std::optional<std::string>> Destination::read_many(const std::vector<std::string>& rels, int) {
  std::vector<std::optional<std::string>> out;
  out.reserve(rels.size());
  for (const auto& r : rels) out.push_back(read(r));
  return out;
}

namespace {

// --- S3 ----------------------------------------------------------------------

class S3Destination final : public Destination, public S3Access {
 public:
  S3Destination(DestinationUrl url, s3::Config cfg)
      : Destination(std::move(url)), cfg_(std::move(cfg)), client_(cfg_) {}

  const s3::Config& s3_settings() const override { return cfg_; }
  std::string object_key(std::string_view rel) const override { return join_key(url_.prefix, rel); }
  const std::string& bucket() const override { return url_.bucket; }
  std::string rel_of(std::string_view key) const override {
    if (url_.prefix.empty()) return std::string(key);
    return std::string(key.substr(std::min(key.size(), url_.prefix.size() + 1)));
  }

  template <typename F>
  auto locked(F&& f) {
    std::lock_guard lock(mu_);
    return f(client_);
  }
  s3::Client& control() override { return client_; }
  std::mutex& control_mutex() override { return mu_; }

  void check(bool) override {
    locked([&](s3::Client& c) {
      try {
        c.head_bucket(url_.bucket);
      } catch (const s3::Error& e) {
        // A HEAD answer has no body: ask again with a GET, whose error
        // document says why (SignatureDoesNotMatch, InvalidAccessKeyId, ...).
        if (e.kind() != s3::ErrorKind::AccessDenied || !e.code().empty()) throw;
        c.list_objects_v2(url_.bucket, url_.prefix.empty() ? "" : url_.prefix + "/", {}, 1);
        throw;
      }
      return 0;
    });
  }

  std::vector<ObjectEntry> list(std::string_view rel_prefix) override {
    std::string p = object_key(rel_prefix);
    if (!p.empty() && p.back() != '/' && !rel_prefix.empty()) p += '/';
    if (rel_prefix.empty() && !url_.prefix.empty()) p = url_.prefix + "/";
    auto objs = locked([&](s3::Client& c) { return c.list_all(url_.bucket, p); });
    std::vector<ObjectEntry> out;
    out.reserve(objs.size());
    for (auto& o : objs) {
      std::string rel = rel_of(o.key);
      if (!safe_key(rel)) continue;  // not ours (or hostile): ignore
      out.push_back({std::move(rel), o.size, std::move(o.etag), std::move(o.last_modified)});
    }
    std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.key < b.key; });
    return out;
  }

  std::optional<std::string> read(std::string_view rel) override {
    // Small objects: GET into a temporary file, then read it.
    char tmpl[] = "/tmp/nexsync-get.XXXXXX";
    const int fd = ::mkstemp(tmpl);
    if (fd < 0) throw IoError(std::string("cannot create a temporary file: ") + errno_text(errno));
    ::close(fd);
    TempFileGuard guard{fs::path(tmpl)};
    try {
      locked([&](s3::Client& c) { return c.get_object(url_.bucket, object_key(rel), tmpl); });
    } catch (const s3::Error& e) {
      if (e.kind() == s3::ErrorKind::NotFound) return std::nullopt;
      throw;
    }
    return read_file(tmpl);
  }

  std::vector<std::optional<std::string>> read_many(const std::vector<std::string>& rels, int jobs) override {
    const int n = static_cast<int>(std::min<size_t>(rels.size(), static_cast<size_t>(std::max(1, jobs))));
    if (n < 2) return Destination::read_many(rels, jobs);
    std::vector<std::optional<std::string>> out(rels.size());
    std::atomic<size_t> next{0};
    std::mutex err_mu;
    std::exception_ptr err;
    auto worker = [&] {
      try {
        s3::Client c(cfg_);  // one connection per worker, kept alive across its GETs
        char tmpl[] = "/tmp/nexsync-get.XXXXXX";
        const int fd = ::mkstemp(tmpl);
        if (fd < 0) throw IoError(std::string("cannot create a temporary file: ") + errno_text(errno));
        ::close(fd);
        TempFileGuard guard{fs::path(tmpl)};
        for (size_t i; (i = next++) < rels.size();) {
          {
            std::lock_guard lock(err_mu);
            if (err) return;
          }
          try {
            c.get_object(url_.bucket, object_key(rels[i]), tmpl);
            out[i] = read_file(tmpl);
          } catch (const s3::Error& e) {
            if (e.kind() != s3::ErrorKind::NotFound) throw;
          }
        }
      } catch (...) {
        std::lock_guard lock(err_mu);
        if (!err) err = std::current_exception();
      }
    };
    std::vector<std::thread> threads;
    for (int t = 0; t < n; ++t) threads.emplace_back(worker);
    for (auto& t : threads) t.join();
    if (err) std::rethrow_exception(err);
    return out;
  }

  void write(std::string_view rel, std::string_view data) override {
    s3::PutOptions po;
    po.content_type = "application/json";
    po.metadata["sha256"] = s3::digest_memory(data, false).sha256_hex;
    locked([&](s3::Client& c) { return c.put_object(url_.bucket, object_key(rel), data, po); });
  }

  void remove(std::string_view rel) override {
    locked([&](s3::Client& c) {
      try {
        c.delete_object(url_.bucket, object_key(rel));
      } catch (const s3::Error& e) {
        if (e.kind() != s3::ErrorKind::NotFound) throw;
      }
      return 0;
    });
  }

  std::optional<Stat> stat(std::string_view rel) override {
    auto info = locked([&](s3::Client& c) { return c.head_object(url_.bucket, object_key(rel)); });
    if (!info) return std::nullopt;
    Stat s;
    s.size = info->size;
    if (auto it = info->metadata.find("sha256"); it != info->metadata.end()) s.sha256 = it->second;
    return s;
  }

  void fetch(std::string_view rel, const fs::path& dest, uint64_t start,
             const std::function<bool(uint64_t)>& progress) override {
    // A client of its own: the progress callback belongs to this transfer.
    s3::Config c = cfg_;
    c.progress = progress;
    s3::Client client(c);
    client.get_object(url_.bucket, object_key(rel), dest, start);
  }

 private:
  s3::Config cfg_;
  std::mutex mu_;
  s3::Client client_;
};

// --- Local folder -------------------------------------------------------------

class LocalDestination final : public Destination {
 public:
  explicit LocalDestination(DestinationUrl url) : Destination(std::move(url)) {}

  fs::path path_of(std::string_view rel) const {
    if (!safe_key(rel)) throw InputError("unsafe key '" + std::string(rel.substr(0, 200)) + "'");
    return url_.folder / std::string(rel);
  }

  void check(bool create) override {
    std::error_code ec;
    if (fs::is_directory(url_.folder, ec)) return;
    if (fs::exists(url_.folder, ec))
      throw InputError(url_.folder.string() + " is not a folder");
    if (!create)
      throw InputError("no backup at " + url_.folder.string() + ": the folder does not exist");
    fs::create_directories(url_.folder, ec);
    if (ec) throw IoError("cannot create " + url_.folder.string() + ": " + ec.message());
  }

  std::vector<ObjectEntry> list(std::string_view rel_prefix) override {
    std::vector<ObjectEntry> out;
    fs::path base = rel_prefix.empty() ? url_.folder : path_of(rel_prefix);
    std::error_code ec;
    if (!fs::is_directory(base, ec)) return out;
    fs::recursive_directory_iterator it(base, fs::directory_options::skip_permission_denied, ec), end;
    if (ec) throw IoError("cannot list " + base.string() + ": " + ec.message());
    for (; it != end; it.increment(ec)) {
      if (ec) throw IoError("cannot list " + base.string() + ": " + ec.message());
      const auto& de = *it;
      std::error_code e2;
      if (!de.is_regular_file(e2)) continue;
      const std::string name = de.path().filename().string();
      if (!name.empty() && name[0] == '.') continue;  // temporary files, partial downloads
      std::string rel = de.path().lexically_relative(url_.folder).generic_string();
      if (!safe_key(rel)) continue;
      ObjectEntry o;
      o.key = std::move(rel);
      o.size = de.file_size(e2);
      out.push_back(std::move(o));
    }
    std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.key < b.key; });
    return out;
  }

  std::optional<std::string> read(std::string_view rel) override {
    fs::path p = path_of(rel);
    std::error_code ec;
    if (!fs::is_regular_file(p, ec)) return std::nullopt;
    return read_file(p);
  }

  void write(std::string_view rel, std::string_view data) override {
    fs::path p = path_of(rel);
    // A folder that went away mid-run (an unmounted disk) is not made again
    // under its mount point; check() made it at the start.
    std::error_code ec;
    if (!fs::is_directory(url_.folder, ec)) throw IoError(url_.folder.string() + ": the destination folder is gone");
    make_parents(p);
    write_file_atomic(p, data);
  }

  void remove(std::string_view rel) override {
    fs::path p = path_of(rel);
    std::error_code ec;
    if (!fs::remove(p, ec) && ec && ec != std::errc::no_such_file_or_directory)
      throw IoError("cannot delete " + p.string() + ": " + ec.message());
    // Drop folders left empty (up to the root).
    for (fs::path d = p.parent_path(); d != url_.folder && d.string().size() > url_.folder.string().size();
         d = d.parent_path()) {
      if (!fs::is_empty(d, ec) || ec) break;
      fs::remove(d, ec);
    }
  }

  std::optional<Stat> stat(std::string_view rel) override {
    fs::path p = path_of(rel);
    struct ::stat st {};
    if (::stat(p.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return std::nullopt;
    return Stat{static_cast<uint64_t>(st.st_size), {}};
  }

  void fetch(std::string_view rel, const fs::path& dest, uint64_t start,
             const std::function<bool(uint64_t)>& progress) override {
    copy_range(path_of(rel), dest, start, progress);
  }
};

}  // namespace

void make_parents(const fs::path& file) {
  std::error_code ec;
  fs::create_directories(file.parent_path(), ec);
  if (ec) throw IoError("cannot create " + file.parent_path().string() + ": " + ec.message());
}

void copy_range(const fs::path& from, const fs::path& to, uint64_t start,
                const std::function<bool(uint64_t)>& progress) {
  const int in = ::open(from.c_str(), O_RDONLY | O_CLOEXEC);
  if (in < 0) throw IoError("cannot open " + from.string() + ": " + errno_text(errno));
  FdCloser cin{in};
  const int out = ::open(to.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  if (out < 0) throw IoError("cannot open " + to.string() + ": " + errno_text(errno));
  FdCloser cout{out};
  struct ::stat st {};
  if (::fstat(out, &st) != 0) throw IoError("cannot stat " + to.string() + ": " + errno_text(errno));
  if (start > static_cast<uint64_t>(st.st_size)) start = 0;
  if (::ftruncate(out, static_cast<off_t>(start)) != 0)
    throw IoError("cannot truncate " + to.string() + ": " + errno_text(errno));
  std::vector<char> buf(1 << 20);
  uint64_t pos = start, done = 0;
  for (;;) {
    ssize_t r = ::pread(in, buf.data(), buf.size(), static_cast<off_t>(pos));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) throw IoError("cannot read " + from.string() + ": " + errno_text(errno));
    if (r == 0) break;
    write_fully(out, buf.data(), static_cast<size_t>(r), pos, to);
    pos += static_cast<uint64_t>(r);
    done += static_cast<uint64_t>(r);
    if (progress && !progress(done)) throw Interrupted();
  }
  if (::fsync(out) != 0) throw IoError("cannot fsync " + to.string() + ": " + errno_text(errno));
}

void write_fully(int fd, const char* data, size_t n, uint64_t offset, const fs::path& what) {
  size_t done = 0;
  while (done < n) {
    ssize_t w = ::pwrite(fd, data + done, n - done, static_cast<off_t>(offset + done));
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) throw IoError("cannot write " + what.string() + ": " + errno_text(errno));
    done += static_cast<size_t>(w);
  }
}

std::unique_ptr<Destination> open_destination(std::string_view url, const Config& cfg,
                                              const Context& ctx, const DestinationOptions& opts) {
  DestinationUrl u = parse_destination(url);
  fs::path key_file = opts.encrypt_key;
  if (key_file.empty()) key_file = resolve(cfg.flag("nexsync.encrypt"), nullptr, cfg, "nexsync.encrypt", "");
  // The key first: a bad key file stops the run before any request.
  std::shared_ptr<const crypt::Key> key;
  if (!key_file.empty()) {
    key = std::make_shared<const crypt::Key>(crypt::Key::load(key_file));
    std::error_code ec;
    const auto perms = fs::status(key_file, ec).permissions();
    if (!ec && (perms & (fs::perms::group_read | fs::perms::others_read)) != fs::perms::none)
      ctx.log->warn("the key file {} is readable by other users (chmod 600 it)", key_file.string());
  }
  std::unique_ptr<Destination> d;
  if (u.s3) d = std::make_unique<S3Destination>(u, opts.s3 ? *opts.s3 : s3_config(cfg, ctx));
  else d = std::make_unique<LocalDestination>(u);
  if (key) {
    ctx.log->debug("objects are encrypted (key id {})", key->id_hex());
    d = encrypted_destination(std::move(d), std::move(key));
  }
  return d;
}

}  // namespace nex::sync
