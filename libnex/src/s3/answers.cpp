// Readers of S3's XML answers: pure functions over the text.
#include <cstring>

#include "nex/s3.hpp"
#include "s3/internal.hpp"
#include "s3/xml.hpp"

namespace nex::s3 {
namespace {

xml::Element root_named(std::string_view text, std::string_view name) {
  xml::Element root = xml::parse(text);
  if (root.name != name)
    throw InputError("unexpected S3 answer: <" + root.name.substr(0, 64) + "> instead of <" +
                     std::string(name) + ">");
  return root;
}

bool truthy(std::string_view s) { return s == "true" || s == "True" || s == "TRUE"; }

std::uint64_t size_of(const xml::Element& e, std::string_view field) {
  std::string text = e.child_text(field);
  auto v = detail::parse_u64(text);
  if (!v) throw InputError("unexpected S3 answer: bad <" + std::string(field) + ">");
  return *v;
}

}  // namespace

namespace detail {

std::string unquote(std::string_view etag) {
  if (etag.size() >= 2 && etag.front() == '"' && etag.back() == '"')
    etag = etag.substr(1, etag.size() - 2);
  return std::string(etag);
}

std::optional<std::uint64_t> parse_u64(std::string_view text) {
  if (text.empty() || text.size() > 20) return std::nullopt;
  std::uint64_t v = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    std::uint64_t d = static_cast<std::uint64_t>(c - '0');
    if (v > (UINT64_MAX - d) / 10) return std::nullopt;
    v = v * 10 + d;
  }
  return v;
}

ErrorKind classify(long status, std::string_view code) {
  if (code == "RequestTimeTooSkewed") return ErrorKind::ClockSkew;
  if (code == "SignatureDoesNotMatch" || code == "InvalidAccessKeyId" || code == "AccessDenied" ||
      code == "InvalidToken" || code == "ExpiredToken" || code == "AllAccessDisabled")
    return ErrorKind::AccessDenied;
  if (code == "NoSuchBucket") return ErrorKind::NoSuchBucket;
  if (code == "NoSuchKey") return ErrorKind::NotFound;
  if (code == "NoSuchUpload") return ErrorKind::NoSuchUpload;
  if (code == "BadDigest" || code == "XAmzContentSHA256Mismatch" ||
      code == "IncompleteBody")
    return ErrorKind::Integrity;
  if (code == "SlowDown" || code == "ServiceUnavailable" || code == "Throttling" ||
      code == "ThrottlingException" || code == "RequestLimitExceeded")
    return ErrorKind::Throttled;
  if (code == "InternalError") return ErrorKind::Server;
  if (code == "RequestTimeout") return ErrorKind::Network;  // idle socket: retry
  if (status == 401 || status == 403) return ErrorKind::AccessDenied;
  if (status == 404) return ErrorKind::NotFound;
  if (status == 416) return ErrorKind::InvalidRange;
  if (status == 503) return ErrorKind::Throttled;
  if (status >= 500) return ErrorKind::Server;
  if (status >= 400) return ErrorKind::Rejected;
  return ErrorKind::Protocol;
}

}  // namespace detail

ErrorDocument parse_error(std::string_view text) noexcept {
  ErrorDocument doc;
  try {
    xml::Element root = xml::parse(text);
    if (root.name != "Error") return doc;
    doc.code = root.child_text("Code");
    doc.message = root.child_text("Message");
    doc.resource = root.child_text("Resource");
    doc.request_id = root.child_text("RequestId");
  } catch (...) {
    return ErrorDocument{};
  }
  return doc;
}

ListPage parse_list_objects_v2(std::string_view text) {
  xml::Element root = root_named(text, "ListBucketResult");
  ListPage page;
  for (const auto& e : root.children) {
    if (e.name == "Contents") {
      ObjectInfo o;
      o.key = e.child_text("Key");
      if (o.key.empty()) throw InputError("unexpected S3 answer: <Contents> without a <Key>");
      o.size = size_of(e, "Size");
      o.etag = detail::unquote(e.child_text("ETag"));
      o.last_modified = e.child_text("LastModified");
      o.storage_class = e.child_text("StorageClass");
      page.objects.push_back(std::move(o));
    } else if (e.name == "CommonPrefixes") {
      page.common_prefixes.push_back(e.child_text("Prefix"));
    }
  }
  page.truncated = truthy(root.child_text("IsTruncated"));
  page.next_token = root.child_text("NextContinuationToken");
  if (page.truncated && page.next_token.empty())
    throw InputError("unexpected S3 answer: a truncated listing without NextContinuationToken");
  return page;
}

std::string parse_initiate_multipart_upload(std::string_view text) {
  xml::Element root = root_named(text, "InitiateMultipartUploadResult");
  std::string id = root.child_text("UploadId");
  if (id.empty()) throw InputError("unexpected S3 answer: no UploadId");
  return id;
}

MultipartPage parse_list_multipart_uploads(std::string_view text) {
  xml::Element root = root_named(text, "ListMultipartUploadsResult");
  MultipartPage page;
  for (const auto& e : root.children) {
    if (e.name != "Upload") continue;
    MultipartUpload u;
    u.key = e.child_text("Key");
    u.upload_id = e.child_text("UploadId");
    u.initiated = e.child_text("Initiated");
    if (u.key.empty() || u.upload_id.empty())
      throw InputError("unexpected S3 answer: <Upload> without Key or UploadId");
    page.uploads.push_back(std::move(u));
  }
  page.truncated = truthy(root.child_text("IsTruncated"));
  page.next_key_marker = root.child_text("NextKeyMarker");
  page.next_upload_id_marker = root.child_text("NextUploadIdMarker");
  if (page.truncated && page.next_key_marker.empty() && page.next_upload_id_marker.empty())
    throw InputError("unexpected S3 answer: a truncated upload listing without markers");
  return page;
}

std::string parse_complete_multipart_upload(std::string_view text) {
  xml::Element root = xml::parse(text);
  if (root.name == "Error") {
    std::string code = root.child_text("Code");
    std::string message = root.child_text("Message");
    throw Error(detail::classify(200, code), 200, code,
                "completing the multipart upload failed: " + (code.empty() ? "error" : code) +
                    (message.empty() ? "" : ": " + message));
  }
  if (root.name != "CompleteMultipartUploadResult")
    throw InputError("unexpected S3 answer: <" + root.name.substr(0, 64) +
                     "> instead of <CompleteMultipartUploadResult>");
  return detail::unquote(root.child_text("ETag"));
}

std::string complete_multipart_body(const std::vector<Part>& parts) {
  std::string out = "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">";
  for (const auto& p : parts) {
    out += "<Part><PartNumber>" + std::to_string(p.number) + "</PartNumber><ETag>&quot;";
    // ETags are hex (and "-N"); escape anyway so the body stays well-formed.
    for (char c : detail::unquote(p.etag)) {
      switch (c) {
        case '<': out += "&lt;"; break;
        case '>': out += "&gt;"; break;
        case '&': out += "&amp;"; break;
        case '"': out += "&quot;"; break;
        default: out.push_back(c);
      }
    }
    out += "&quot;</ETag></Part>";
  }
  out += "</CompleteMultipartUpload>";
  return out;
}

}  // namespace nex::s3
