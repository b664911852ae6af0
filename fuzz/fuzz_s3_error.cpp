// Fuzz target: S3 <Error> documents (s3.hpp parse_error). noexcept: any
// input gives a (possibly empty) ErrorDocument.
#include <cstdint>
#include <string_view>

#include "nex/s3.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view xml(reinterpret_cast<const char*>(data), size);
  const nex::s3::ErrorDocument doc = nex::s3::parse_error(xml);
  (void)doc;
  return 0;
}
