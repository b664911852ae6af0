// AWS Signature Version 4: canonical request, string to sign, signing key.
#include "nex/sigv4.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <cstring>
#include <ctime>
#include <map>
#include <stdexcept>

namespace nex::sigv4 {
namespace {

bool unreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
         c == '-' || c == '.' || c == '_' || c == '~';
}

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool blank(char c) { return c == ' ' || c == '\t'; }

// Trim, and squeeze every run of blanks inside to a single space.
std::string trim_value(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  bool pending_space = false;
  for (char c : v) {
    if (blank(c) || c == '\r' || c == '\n') {
      pending_space = !out.empty();
      continue;
    }
    if (pending_space) out.push_back(' ');
    pending_space = false;
    out.push_back(c);
  }
  return out;
}

std::string normalized_path(std::string_view path) {
  std::vector<std::string_view> stack;
  std::size_t i = 0;
  bool trailing = false;
  while (i <= path.size()) {
    std::size_t j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    std::string_view seg = path.substr(i, j - i);
    trailing = false;
    if (seg.empty() || seg == ".") {
      trailing = true;
    } else if (seg == "..") {
      if (!stack.empty()) stack.pop_back();
      trailing = true;
    } else {
      stack.push_back(seg);
    }
    i = j + 1;
  }
  std::string out = "/";
  for (std::size_t k = 0; k < stack.size(); ++k) {
    if (k) out.push_back('/');
    out.append(stack[k]);
  }
  if (trailing && !stack.empty()) out.push_back('/');
  return out;
}

}  // namespace

std::string hex(const unsigned char* data, std::size_t size) {
  static const char* digits = "0123456789abcdef";
  std::string out(size * 2, '0');
  for (std::size_t i = 0; i < size; ++i) {
    out[2 * i] = digits[data[i] >> 4];
    out[2 * i + 1] = digits[data[i] & 0xf];
  }
  return out;
}

std::string sha256_hex(std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr) != 1)
    throw std::runtime_error("SHA-256 failed");
  return hex(md, len);
}

Key hmac_sha256(std::string_view key, std::string_view data) {
  Key out{};
  unsigned int len = 0;
  if (!HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
            reinterpret_cast<const unsigned char*>(data.data()), data.size(), out.data(), &len) ||
      len != out.size())
    throw std::runtime_error("HMAC-SHA256 failed");
  return out;
}

std::string uri_encode(std::string_view text, bool keep_slash) {
  static const char* digits = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size() + text.size() / 2);
  for (char ch : text) {
    auto c = static_cast<unsigned char>(ch);
    if (unreserved(c) || (keep_slash && c == '/')) {
      out.push_back(ch);
    } else {
      out.push_back('%');
      out.push_back(digits[c >> 4]);
      out.push_back(digits[c & 0xf]);
    }
  }
  return out;
}

std::string canonical_uri(std::string_view path, const Options& options) {
  if (path.empty()) return "/";
  if (options.normalize_path) return uri_encode(normalized_path(path), true);
  return uri_encode(path, true);
}

std::string canonical_query(const Params& query) {
  std::vector<std::pair<std::string, std::string>> enc;
  enc.reserve(query.size());
  for (const auto& [k, v] : query) enc.emplace_back(uri_encode(k, false), uri_encode(v, false));
  std::sort(enc.begin(), enc.end());  // byte order: name first, then value
  std::string out;
  for (const auto& [k, v] : enc) {
    if (!out.empty()) out.push_back('&');
    out += k;
    out.push_back('=');
    out += v;
  }
  return out;
}

CanonicalHeaders canonical_headers(const Params& headers) {
  std::map<std::string, std::string> merged;  // sorted by lower-case name
  for (const auto& [name, value] : headers) {
    std::string key;
    key.reserve(name.size());
    for (char c : trim_value(name)) key.push_back(lower(c));
    auto [it, fresh] = merged.try_emplace(key, trim_value(value));
    if (!fresh) {
      it->second.push_back(',');
      it->second += trim_value(value);
    }
  }
  CanonicalHeaders out;
  for (const auto& [name, value] : merged) {
    out.block += name;
    out.block.push_back(':');
    out.block += value;
    out.block.push_back('\n');
    if (!out.signed_headers.empty()) out.signed_headers.push_back(';');
    out.signed_headers += name;
  }
  return out;
}

std::string canonical_request(const Request& request, const Options& options) {
  CanonicalHeaders h = canonical_headers(request.headers);
  std::string out;
  out.reserve(256 + h.block.size());
  out += request.method;
  out.push_back('\n');
  out += canonical_uri(request.path, options);
  out.push_back('\n');
  out += canonical_query(request.query);
  out.push_back('\n');
  out += h.block;
  out.push_back('\n');
  out += h.signed_headers;
  out.push_back('\n');
  out += request.payload_hash;
  return out;
}

std::string credential_scope(const Scope& scope) {
  return scope.date + "/" + scope.region + "/" + scope.service + "/aws4_request";
}

std::string string_to_sign(std::string_view amz_date, const Scope& scope,
                           std::string_view canonical_request) {
  std::string out(kAlgorithm);
  out.push_back('\n');
  out += amz_date;
  out.push_back('\n');
  out += credential_scope(scope);
  out.push_back('\n');
  out += sha256_hex(canonical_request);
  return out;
}

Key signing_key(std::string_view secret, const Scope& scope) {
  std::string k0 = "AWS4";
  k0 += secret;
  Key k = hmac_sha256(k0, scope.date);
  // Wipe the copy of the secret as soon as it is used.
  std::fill(k0.begin(), k0.end(), '\0');
  auto view = [](const Key& key) {
    return std::string_view(reinterpret_cast<const char*>(key.data()), key.size());
  };
  k = hmac_sha256(view(k), scope.region);
  k = hmac_sha256(view(k), scope.service);
  return hmac_sha256(view(k), "aws4_request");
}

std::string signature(const Key& key, std::string_view string_to_sign) {
  Key mac = hmac_sha256(std::string_view(reinterpret_cast<const char*>(key.data()), key.size()),
                        string_to_sign);
  return hex(mac.data(), mac.size());
}

std::string authorization(std::string_view access_key, const Scope& scope,
                          std::string_view signed_headers, std::string_view sig) {
  std::string out(kAlgorithm);
  out += " Credential=";
  out += access_key;
  out.push_back('/');
  out += credential_scope(scope);
  out += ", SignedHeaders=";
  out += signed_headers;
  out += ", Signature=";
  out += sig;
  return out;
}

Signed sign(const Request& request, std::string_view access_key, std::string_view secret,
            std::string_view amz_date, std::string_view region, std::string_view service,
            const Options& options) {
  Scope scope{std::string(amz_date.substr(0, 8)), std::string(region), std::string(service)};
  Signed out;
  out.canonical_request = canonical_request(request, options);
  out.string_to_sign = string_to_sign(amz_date, scope, out.canonical_request);
  out.signature = signature(signing_key(secret, scope), out.string_to_sign);
  out.authorization = authorization(access_key, scope,
                                    canonical_headers(request.headers).signed_headers,
                                    out.signature);
  return out;
}

Presigned presign(const Request& request, std::string_view access_key, std::string_view secret,
                  std::string_view amz_date, std::string_view region, std::string_view service,
                  int64_t expires_seconds, std::string_view session_token, const Options& options) {
  if (expires_seconds < 1 || expires_seconds > kMaxPresignSeconds)
    throw std::invalid_argument("a presigned request lives 1 s to 7 days");
  Scope scope{std::string(amz_date.substr(0, 8)), std::string(region), std::string(service)};
  Request r = request;
  const std::string signed_headers = canonical_headers(request.headers).signed_headers;
  r.query.emplace_back("X-Amz-Algorithm", std::string(kAlgorithm));
  r.query.emplace_back("X-Amz-Credential", std::string(access_key) + "/" + credential_scope(scope));
  r.query.emplace_back("X-Amz-Date", std::string(amz_date));
  r.query.emplace_back("X-Amz-Expires", std::to_string(expires_seconds));
  if (!session_token.empty()) r.query.emplace_back("X-Amz-Security-Token", std::string(session_token));
  r.query.emplace_back("X-Amz-SignedHeaders", signed_headers);
  Presigned out;
  out.canonical_request = canonical_request(r, options);
  out.string_to_sign = string_to_sign(amz_date, scope, out.canonical_request);
  out.signature = signature(signing_key(secret, scope), out.string_to_sign);
  out.query = canonical_query(r.query) + "&X-Amz-Signature=" + out.signature;
  return out;
}

std::string amz_date(std::chrono::system_clock::time_point when) {
  std::time_t t = std::chrono::system_clock::to_time_t(when);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
  return buf;
}

}  // namespace nex::sigv4
