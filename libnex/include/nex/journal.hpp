#pragma once
// The multipart journal: what a crash (kill -9, power loss) must not forget
// about uploads in flight. Every change is one JSON line appended and
// fsync'd before the upload goes on, so after a crash a re-run knows each
// pending upload's id and which parts the server already acknowledged, and
// sends only the rest. A torn last line (the crash hit mid-write) is skipped.
//
//   {"op":"create","key":K,"upload":ID,"size":N,"sha256":H,"part_size":P}
//   {"op":"part","key":K,"upload":ID,"n":3,"etag":E}
//   {"op":"end","key":K,"upload":ID}          completed or aborted: forget it
//
// Thread-safe: workers record parts concurrently.
#include <cstdint>
#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace nex::sync {

struct JournalUpload {
  std::string key;        // the object key (bucket-relative)
  std::string upload_id;
  uint64_t size = 0;      // of the source file
  std::string sha256;     // of the source file
  uint64_t part_size = 0;
  std::map<int, std::string> parts;  // part number -> ETag the server gave
};

class Journal {
 public:
  // Loads the file if it exists. Throws IoError if it cannot be read.
  explicit Journal(std::filesystem::path file);

  // Pending uploads (created, not ended), by key.
  std::vector<JournalUpload> uploads() const;
  std::optional<JournalUpload> find(const std::string& key) const;
  size_t skipped_lines() const { return skipped_; }

  // Each appends one line and fsyncs before returning. Throw IoError.
  void created(const JournalUpload& u);
  void part_done(const std::string& key, const std::string& upload_id, int number,
                 const std::string& etag);
  void ended(const std::string& key, const std::string& upload_id);

  // Rewrites the file (atomically) with the pending uploads only; removes it
  // when there are none.
  void compact();

  const std::filesystem::path& path() const { return file_; }

 private:
  void append(const std::string& line);
  std::filesystem::path file_;
  mutable std::mutex mu_;
  std::map<std::string, JournalUpload> uploads_;
  size_t skipped_ = 0;
};

}  // namespace nex::sync
