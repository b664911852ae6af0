#pragma once
// For fuzz targets whose parser reads a file: the input written to one
// scratch file per process under $TMPDIR (aborts if it cannot be written).
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

inline std::filesystem::path write_scratch(const char* tag, const uint8_t* data, size_t size) {
  const std::filesystem::path p =
      std::filesystem::temp_directory_path() / ("nex-fuzz-" + std::string(tag) + "-" + std::to_string(::getpid()));
  std::FILE* f = std::fopen(p.c_str(), "wb");
  if (!f) std::abort();
  if (size && std::fwrite(data, 1, size, f) != size) std::abort();
  std::fclose(f);
  return p;
}
