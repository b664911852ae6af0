// Uploads to S3: one PUT with Content-MD5 for small files, multipart for
// large ones (several parts in flight, Content-MD5 and the payload's SHA-256
// per part, x-amz-meta-sha256 for the whole object), every part recorded in
// the journal before the next step, every object verified by HEAD: its size,
// its x-amz-meta-sha256, and its ETag against the MD5s of what was sent.
#include <openssl/evp.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <mutex>
#include <set>

#include "nex/error.hpp"
#include "nex/sigv4.hpp"
#include "sync/internal.hpp"

namespace nex::sync {
namespace {

bool is_md5_hex(const std::string& s) {
  return s.size() == 32 && std::all_of(s.begin(), s.end(), [](char c) { return std::isxdigit(static_cast<unsigned char>(c)); });
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// The ETag S3 gives a single PUT: the hex MD5 of the body ("" when unknown).
std::string put_etag(const s3::Digests& d) {
  if (d.md5_base64.size() != 24) return {};
  unsigned char raw[18];
  if (EVP_DecodeBlock(raw, reinterpret_cast<const unsigned char*>(d.md5_base64.data()), 24) != 18) return {};
  return sigv4::hex(raw, 16);
}

// The ETag S3 gives an object assembled from parts: the MD5 of the parts'
// binary MD5s, then "-" and the number of parts ("" when a part's ETag is
// not an MD5, as with SSE-KMS).
std::string multipart_etag(const std::map<int, std::string>& part_etags) {
  std::string bin;
  for (const auto& [n, e] : part_etags) {
    if (!is_md5_hex(e)) return {};
    for (size_t i = 0; i < 32; i += 2) bin.push_back(static_cast<char>(std::stoi(e.substr(i, 2), nullptr, 16)));
  }
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(bin.data(), bin.size(), md, &len, EVP_md5(), nullptr) != 1) return {};
  return sigv4::hex(md, len) + "-" + std::to_string(part_etags.size());
}

// A server that has no such storage class answers 400 InvalidArgument (radosgw)
// or InvalidStorageClass (AWS): say which class, so the item's error is clear.
template <typename F>
auto with_class(const std::string& storage_class, F&& f) {
  try {
    return f();
  } catch (const s3::Error& e) {
    if (storage_class.empty() || e.kind() != s3::ErrorKind::Rejected ||
        (e.code() != "InvalidArgument" && e.code() != "InvalidStorageClass"))
      throw;
    throw s3::Error(e.kind(), e.http_status(), e.code(),
                    std::string(e.what()) + " (the server refuses storage class " + storage_class + ")",
                    "check --storage-class (nexsync.storage_class) against the classes the bucket offers");
  }
}

class S3Uploader final : public Uploader {
 public:
  S3Uploader(S3Access& dest, const fs::path& work, const UploadSettings& s, UploadStats& stats,
             const Context& ctx)
      : dest_(dest),
        s_(s),
        stats_(stats),
        ctx_(ctx),
        journal_(work / "journal"),
        pool_(std::max(1, s.jobs)),
        clients_(static_cast<size_t>(std::max(1, s.jobs))) {
    if (journal_.skipped_lines())
      ctx_.log->debug("journal: {} torn or unreadable line(s) skipped", journal_.skipped_lines());
  }

  ~S3Uploader() override {
    pool_.stop();
    pool_.wait_idle();  // running tasks use clients_ and journal_
  }

  bool multipart() const override { return true; }
  uint64_t part_size() const override { return s_.part_size; }

  void begin(const std::string& rel_prefix) override {
    const std::string prefix = dest_.object_key(rel_prefix) + "/";
    std::vector<s3::MultipartUpload> server;
    {
      std::lock_guard lock(dest_.control_mutex());
      server = dest_.control().list_multipart_uploads(dest_.bucket(), prefix);
    }
    std::set<std::string> server_ids;
    for (const auto& u : server) server_ids.insert(u.upload_id);
    std::set<std::string> journal_ids;
    for (const auto& j : journal_.uploads()) {
      if (!server_ids.count(j.upload_id)) {
        ctx_.log->info("journal: upload of {} is gone from the server; it starts over", j.key);
        journal_.ended(j.key, j.upload_id);
      } else {
        journal_ids.insert(j.upload_id);
      }
    }
    for (const auto& u : server) {
      if (journal_ids.count(u.upload_id)) continue;
      // Left by a run that crashed before its journal line, or by an older
      // journal: nobody can finish it. Abort, so it stops costing storage.
      ctx_.log->info("aborting a stale multipart upload of {} (started {})", u.key, u.initiated);
      std::lock_guard lock(dest_.control_mutex());
      dest_.control().abort_multipart_upload(dest_.bucket(), u.key, u.upload_id);
      ++stats_.uploads_aborted;
    }
    journal_.compact();
  }

  void submit(UploadFile f, Done done) override {
    if (fatal()) {
      done(fatal(), {});
      return;
    }
    if (f.sha256.empty()) throw std::logic_error("S3 upload without SHA-256");
    const std::string key = dest_.object_key(f.rel);
    Object obj = object_of(f);
    if (obj.size <= s_.part_size) {
      auto file = std::make_shared<UploadFile>(std::move(f));
      pool_.push(
          [this, file, key, done, obj](int w) {
            try {
              check_running();
              s3::PutOptions po;
              po.metadata["sha256"] = obj.meta;
              po.content_type = file->content_type;
              po.storage_class = file->storage_class;
              std::string body;  // the sealed object (--encrypt)
              if (obj.seal) {
                obj.seal->read(file->path, 0, obj.size, body);
                po.digests = s3::digest_memory(body, true, !s_.content_md5);
              } else if (file->part_digests.size() == 1) {
                po.digests = file->part_digests[0];
              }
              const std::string put = with_class(file->storage_class, [&] {
                if (obj.seal) return client(w).put_object(dest_.bucket(), key, std::string_view(body), po);
                return client(w).put_object(dest_.bucket(), key, s3::FileSlice{file->path, 0, file->size}, po);
              });
              // A server whose ETag is the MD5 of the body (not one with SSE-KMS,
              // say) lets HEAD prove the object is the bytes sent, parts included.
              std::string want;
              if (po.digests) want = put_etag(*po.digests);
              if (!want.empty() && lower(put) == want) md5_etags_ = true;
              else want.clear();
              stats_.bytes_sent += file->size;
              ++stats_.objects_sent;
              verify(client(w), key, obj.size, obj.meta, want);
              done(nullptr, file->sha256);
            } catch (...) {
              fail(std::current_exception(), done);
            }
          },
          f.size);
      return;
    }
    multipart(std::move(f), std::move(obj), key, std::move(done));
  }

  void post(std::function<void()> task) override {
    pool_.push([task = std::move(task)](int) { task(); });
  }

  void finish() override {
    pool_.wait_idle();
    if (auto e = fatal()) std::rethrow_exception(e);
  }

  void end() override { journal_.compact(); }

  uint64_t queued_bytes() const override { return pool_.queued_bytes(); }
  void wait_queue_below(uint64_t bytes) override { pool_.wait_queue_below(bytes); }

  std::exception_ptr fatal() const override {
    std::lock_guard lock(err_mu_);
    return fatal_;
  }

 private:
  // What goes to the server for a file: the file itself, or (--encrypt) the
  // object that seals it, whose x-amz-meta-sha256 carries the file's SHA-256
  // sealed too (encryption.hpp). The journal records the object's size and
  // that value, so a run with another key never continues this one's upload.
  struct Object {
    uint64_t size = 0;
    std::string meta;  // x-amz-meta-sha256
    std::shared_ptr<const crypt::Sealer> seal;
  };
  Object object_of(const UploadFile& f) const {
    if (!s_.key) return {f.size, f.sha256, nullptr};
    auto seal = std::make_shared<const crypt::Sealer>(*s_.key, f.rel, f.sha256, f.size);
    return {seal->size(), crypt::seal_metadata(*s_.key, f.rel, f.sha256), seal};
  }

  struct FileState {
    UploadFile f;
    Object obj;
    std::string key, upload_id;
    int nparts = 0;
    std::mutex mu;
    std::map<int, std::string> etags;
    int remaining = 0;
    bool failed = false;
    Done done;
  };

  void check_running() {
    ctx_.check_interrupt();
    if (auto e = fatal()) std::rethrow_exception(e);
  }

  s3::Client& client(int w) {
    auto& c = clients_[static_cast<size_t>(w)];
    if (!c) {
      s3::Config cfg = dest_.s3_settings();
      cfg.max_attempts = std::max(1, s_.retries);
      // Each part's SHA-256 is signed (x-amz-content-sha256) and checked by the
      // server; Content-MD5 on top costs an MD5 of every byte (--content-md5).
      cfg.content_md5 = s_.content_md5;
      if (s_.bwlimit) cfg.max_send_rate = std::max<uint64_t>(1, s_.bwlimit / static_cast<uint64_t>(std::max(1, s_.jobs)));
      const Context* ctx = &ctx_;
      cfg.progress = [ctx](uint64_t) { return !(ctx->interrupted && ctx->interrupted->load()); };
      c = std::make_unique<s3::Client>(cfg);
    }
    return *c;
  }

  // want_etag: what the server's ETag must be when it computed it from the
  // bytes it stored ("" to skip: unknown, or not an MD5 on this server).
  void verify(s3::Client& c, const std::string& key, uint64_t size, const std::string& sha,
              const std::string& want_etag) {
    auto info = c.head_object(dest_.bucket(), key);
    if (!info)
      throw s3::Error(s3::ErrorKind::Protocol, 0, "", "s3://" + dest_.bucket() + "/" + key +
                                                          ": missing right after its upload");
    auto it = info->metadata.find("sha256");
    if (info->size != size || it == info->metadata.end() || it->second != sha)
      throw s3::Error(s3::ErrorKind::Integrity, 0, "",
                      "s3://" + dest_.bucket() + "/" + key + ": verification failed (server has " +
                          std::to_string(info->size) + " bytes, sha256 " +
                          (it == info->metadata.end() ? std::string("none") : it->second.substr(0, 16)) +
                          "; expected " + std::to_string(size) + " bytes, " + sha.substr(0, 16) + ")");
    const std::string have = lower(info->etag);
    if (!want_etag.empty() && have != lower(want_etag))
      throw s3::Error(s3::ErrorKind::Integrity, 0, "",
                      "s3://" + dest_.bucket() + "/" + key + ": verification failed (the server's ETag " + have +
                          " is not the MD5 of what was sent, " + want_etag + ")");
    ctx_.log->debug("verified s3://{}/{}: {} bytes, sha256{}", dest_.bucket(), key, size,
                    want_etag.empty() ? "" : ", ETag " + want_etag);
  }

  // A request that failed every attempt with a transient error (503, reset,
  // stall) ends the run only when the server no longer answers; while it
  // does, only this file (and so its item) failed and every other item goes
  // on (exit 3, the next run sends it).
  bool server_answers() {
    try {
      std::lock_guard lock(dest_.control_mutex());
      dest_.control().head_bucket(dest_.bucket());
      return true;
    } catch (...) {
      return false;
    }
  }

  std::exception_ptr item_only(std::exception_ptr e) {
    try {
      std::rethrow_exception(e);
    } catch (const s3::Error& err) {
      if (!err.retryable() || !server_answers()) return e;
      ctx_.log->debug("the server answers: only this item fails ({})", err.what());
      return std::make_exception_ptr(IoError(std::string(err.what()) + " (gave up after " +
                                             std::to_string(std::max(1, s_.retries)) + " attempts)"));
    } catch (...) {
      return e;
    }
  }

  void fail(std::exception_ptr e, const Done& done) {
    if (is_fatal(e) && !fatal()) e = item_only(e);
    if (is_fatal(e)) {
      std::lock_guard lock(err_mu_);
      if (!fatal_) {
        fatal_ = e;
        pool_.stop();
      }
    }
    done(e, {});
  }

  void fail_file(const std::shared_ptr<FileState>& st, std::exception_ptr e) {
    {
      std::lock_guard lock(st->mu);
      if (st->failed) return;
      st->failed = true;
    }
    try {
      std::rethrow_exception(e);
    } catch (const s3::Error& err) {
      if (err.kind() == s3::ErrorKind::NoSuchUpload) journal_.ended(st->key, st->upload_id);
    } catch (...) {
    }
    fail(e, st->done);
  }

  void multipart(UploadFile f, Object obj, const std::string& key, Done done) {
    auto st = std::make_shared<FileState>();
    st->key = key;
    st->obj = std::move(obj);
    st->nparts = static_cast<int>((st->obj.size + s_.part_size - 1) / s_.part_size);
    st->done = std::move(done);
    st->f = std::move(f);
    if (st->nparts > 10000)
      throw UsageError("--part-size is too small for " + st->f.path.string() + " (S3 allows 10,000 parts)");
    try {
      start_multipart(st, key);
    } catch (const Interrupted&) {
      throw;
    } catch (...) {
      // CREATE (or the abort of an outdated upload) failed: this file fails,
      // the run decides in fail() whether it goes on.
      fail(std::current_exception(), st->done);
      return;
    }
    st->remaining = st->nparts - static_cast<int>(st->etags.size());
    if (st->remaining == 0) {
      pool_.push([this, st](int w) { complete(st, w); });
      return;
    }
    for (int n = 1; n <= st->nparts; ++n) {
      if (st->etags.count(n)) continue;
      const uint64_t off = static_cast<uint64_t>(n - 1) * s_.part_size;
      const uint64_t len = std::min(s_.part_size, st->obj.size - off);
      pool_.push([this, st, n, off, len](int w) { part(st, n, off, len, w); }, len);
    }
  }

  // Reuses the journal's upload of this file, or starts one.
  void start_multipart(const std::shared_ptr<FileState>& st, const std::string& key) {
    auto j = journal_.find(key);
    if (j && j->size == st->obj.size && j->sha256 == st->obj.meta && j->part_size == s_.part_size) {
      st->upload_id = j->upload_id;
      for (const auto& [n, etag] : j->parts)
        if (n >= 1 && n <= st->nparts) st->etags[n] = etag;
      stats_.parts_resumed += st->etags.size();
      ctx_.log->info("resuming the upload of {}: {} of {} parts already there", st->f.rel, st->etags.size(),
                     st->nparts);
    } else {
      if (j) {
        std::lock_guard lock(dest_.control_mutex());
        dest_.control().abort_multipart_upload(dest_.bucket(), key, j->upload_id);
        journal_.ended(key, j->upload_id);
        ++stats_.uploads_aborted;
      }
      s3::PutOptions po;
      po.metadata["sha256"] = st->obj.meta;
      po.content_type = st->f.content_type;
      po.storage_class = st->f.storage_class;
      {
        std::lock_guard lock(dest_.control_mutex());
        st->upload_id = with_class(st->f.storage_class,
                                   [&] { return dest_.control().create_multipart_upload(dest_.bucket(), key, po); });
      }
      JournalUpload u;
      u.key = key;
      u.upload_id = st->upload_id;
      u.size = st->obj.size;
      u.sha256 = st->obj.meta;
      u.part_size = s_.part_size;
      fault_step("after-create", [&] { journal_.created(u); });
    }
  }

  void part(const std::shared_ptr<FileState>& st, int n, uint64_t off, uint64_t len, int w) {
    {
      std::lock_guard lock(st->mu);
      if (st->failed) return;
    }
    try {
      check_running();
      std::optional<s3::Digests> d;
      std::string etag;
      if (st->obj.seal) {
        // Sealed on the fly into this worker's buffer: the ciphertext is never on disk.
        thread_local std::string body;
        st->obj.seal->read(st->f.path, off, len, body);
        d = s3::digest_memory(body, true, !s_.content_md5);
        etag = client(w).upload_part(dest_.bucket(), st->key, st->upload_id, n, std::string_view(body), d);
      } else {
        if (static_cast<size_t>(n) <= st->f.part_digests.size()) d = st->f.part_digests[static_cast<size_t>(n - 1)];
        // The MD5 always (Content-MD5, and the ETag check); the SHA-256 only
        // when it is what the request signs.
        if (!d) d = s3::digest_file(s3::FileSlice{st->f.path, off, len}, true, !s_.content_md5);
        etag = client(w).upload_part(dest_.bucket(), st->key, st->upload_id, n, s3::FileSlice{st->f.path, off, len}, d);
      }
      if (lower(etag) == put_etag(*d)) md5_etags_ = true;
      fault_step("after-part", [&] { journal_.part_done(st->key, st->upload_id, n, etag); });
      stats_.bytes_sent += len;
      ++stats_.parts_sent;
      bool last = false;
      {
        std::lock_guard lock(st->mu);
        st->etags[n] = etag;
        last = --st->remaining == 0;
      }
      if (last) complete(st, w);
    } catch (...) {
      fail_file(st, std::current_exception());
    }
  }

  void complete(const std::shared_ptr<FileState>& st, int w) {
    try {
      check_running();
      std::vector<s3::Part> parts;
      {
        std::lock_guard lock(st->mu);
        for (const auto& [n, etag] : st->etags) parts.push_back({n, etag});
      }
      fault_point("before-complete");
      client(w).complete_multipart_upload(dest_.bucket(), st->key, st->upload_id, parts);
      fault_step("after-complete", [&] { journal_.ended(st->key, st->upload_id); });
      ++stats_.objects_sent;
      std::map<int, std::string> part_etags;
      {
        std::lock_guard lock(st->mu);
        part_etags = st->etags;
      }
      verify(client(w), st->key, st->obj.size, st->obj.meta, md5_etags_ ? multipart_etag(part_etags) : std::string());
      st->done(nullptr, st->f.sha256);
    } catch (...) {
      fail_file(st, std::current_exception());
    }
  }

  S3Access& dest_;
  UploadSettings s_;
  UploadStats& stats_;
  const Context& ctx_;
  Journal journal_;
  WorkPool pool_;
  std::vector<std::unique_ptr<s3::Client>> clients_;
  mutable std::mutex err_mu_;
  std::exception_ptr fatal_;
  std::atomic<bool> md5_etags_{false};  // a PUT's ETag was the MD5 of its body
};

}  // namespace

std::unique_ptr<Uploader> make_s3_uploader(S3Access& dest, const fs::path& work, const UploadSettings& s,
                                           UploadStats& stats, const Context& ctx) {
  return std::make_unique<S3Uploader>(dest, work, s, stats, ctx);
}

}  // namespace nex::sync
