// Fuzz target: nexsync's multipart journal file (journal.hpp). The Journal
// reads its file in its constructor, so the input is written to a scratch
// file under $TMPDIR first. Garbage and torn lines are skipped, never fatal
// (IoError only when the file cannot be read, which is not expected here).
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "nex/journal.hpp"

#include "scratch_file.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::filesystem::path scratch = write_scratch("journal", data, size);
  {
    const nex::sync::Journal j(scratch);
    for (const auto& u : j.uploads())
      if (!j.find(u.key)) std::abort();
    (void)j.skipped_lines();
  }
  std::filesystem::remove(scratch);
  return 0;
}
