// Fuzz target: the multipart answers (s3.hpp): InitiateMultipartUpload,
// ListMultipartUploads and CompleteMultipartUpload, all three on each input.
// They reject with InputError; Complete also throws s3::Error for an <Error>
// document sent with 200.
#include <cstdint>
#include <string_view>

#include "nex/error.hpp"
#include "nex/s3.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view xml(reinterpret_cast<const char*>(data), size);
  try {
    (void)nex::s3::parse_initiate_multipart_upload(xml);
  } catch (const nex::InputError&) {
  }
  try {
    (void)nex::s3::parse_list_multipart_uploads(xml);
  } catch (const nex::InputError&) {
  }
  try {
    (void)nex::s3::parse_complete_multipart_upload(xml);
  } catch (const nex::InputError&) {
  } catch (const nex::s3::Error&) {
  }
  return 0;
}
