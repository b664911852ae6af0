// Fuzz target: ListObjectsV2 answers (s3.hpp parse_list_objects_v2). Rejects
// with InputError.
#include <cstdint>
#include <string_view>

#include "nex/error.hpp"
#include "nex/s3.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view xml(reinterpret_cast<const char*>(data), size);
  try {
    const nex::s3::ListPage page = nex::s3::parse_list_objects_v2(xml);
    (void)page;
  } catch (const nex::InputError&) {
  }
  return 0;
}
