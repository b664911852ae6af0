// Fuzz target: the whole-file box walk of read_mp4_info (mp4.hpp), the input
// being a complete file. read_mp4_info reads through a file descriptor, so
// the input is written to a scratch file under $TMPDIR first. Never throws on
// bad data (IoError only when the file cannot be read, which is not expected).
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "nex/mp4.hpp"

namespace {

const std::filesystem::path& scratch() {
  static const std::filesystem::path p =
      std::filesystem::temp_directory_path() / ("nex-fuzz-mp4-" + std::to_string(::getpid()) + ".mp4");
  return p;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::FILE* f = std::fopen(scratch().c_str(), "wb");
  if (!f) std::abort();
  if (size && std::fwrite(data, 1, size, f) != size) std::abort();
  std::fclose(f);
  const nex::Mp4Info info = nex::read_mp4_info(scratch());
  (void)info.video();
  (void)info.audio();
  std::filesystem::remove(scratch());
  return 0;
}
