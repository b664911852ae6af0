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

#include "scratch_file.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::filesystem::path scratch = write_scratch("mp4", data, size);
  const nex::Mp4Info info = nex::read_mp4_info(scratch);
  (void)info.video();
  (void)info.audio();
  std::filesystem::remove(scratch);
  return 0;
}
