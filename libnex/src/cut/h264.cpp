#include "cut/h264.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <sstream>

namespace nex::cut::h264 {

std::optional<AvcC> parse_avcc(std::span<const uint8_t> d) {
  if (d.size() < 7 || d[0] != 1) return std::nullopt;
  AvcC c;
  c.profile = d[1], c.compat = d[2], c.level = d[3];
  c.length_size = (d[4] & 3) + 1;
  size_t p = 6;
  auto read_list = [&](std::vector<Bytes>& out, unsigned n) -> bool {
    for (unsigned i = 0; i < n; ++i) {
      if (p + 2 > d.size()) return false;
      const size_t len = size_t{d[p]} << 8 | d[p + 1];
      p += 2;
      if (p + len > d.size()) return false;
      out.emplace_back(d.begin() + static_cast<ptrdiff_t>(p), d.begin() + static_cast<ptrdiff_t>(p + len));
      p += len;
    }
    return true;
  };
  if (!read_list(c.sps, d[5] & 0x1F)) return std::nullopt;
  ++p;
  if (p > d.size() || !read_list(c.pps, d[p - 1])) return std::nullopt;
  c.ext.assign(d.begin() + static_cast<ptrdiff_t>(p), d.end());
  return c;
}

std::optional<HvcC> parse_hvcc(std::span<const uint8_t> d) {
  if (d.size() < 23 || d[0] != 1) return std::nullopt;
  HvcC c;
  c.length_size = (d[21] & 3) + 1;
  if (c.length_size == 3) return std::nullopt;  // 1, 2 or 4 only
  const unsigned arrays = d[22];
  size_t p = 23;
  for (unsigned a = 0; a < arrays; ++a) {
    if (p + 3 > d.size()) return std::nullopt;
    const unsigned n = unsigned{d[p + 1]} << 8 | d[p + 2];
    p += 3;
    for (unsigned i = 0; i < n; ++i) {
      if (p + 2 > d.size()) return std::nullopt;
      const size_t len = size_t{d[p]} << 8 | d[p + 1];
      p += 2;
      if (len == 0 || p + len > d.size()) return std::nullopt;
      c.nals.emplace_back(d.begin() + static_cast<ptrdiff_t>(p), d.begin() + static_cast<ptrdiff_t>(p + len));
      p += len;
    }
  }
  return c;
}

Bytes build_avcc(const AvcC& c) {
  Bytes o{1, c.profile, c.compat, c.level, static_cast<uint8_t>(0xFC | (c.length_size - 1)),
          static_cast<uint8_t>(0xE0 | c.sps.size())};
  auto put = [&](const Bytes& n) {
    o.push_back(static_cast<uint8_t>(n.size() >> 8));
    o.push_back(static_cast<uint8_t>(n.size() & 0xFF));
    o.insert(o.end(), n.begin(), n.end());
  };
  for (const auto& s : c.sps) put(s);
  o.push_back(static_cast<uint8_t>(c.pps.size()));
  for (const auto& s : c.pps) put(s);
  o.insert(o.end(), c.ext.begin(), c.ext.end());
  return o;
}

std::vector<std::span<const uint8_t>> split_annexb(std::span<const uint8_t> d) {
  std::vector<std::span<const uint8_t>> out;
  size_t i = 0, start = std::string::npos;
  const size_t n = d.size();
  while (i + 2 < n) {
    if (d[i] == 0 && d[i + 1] == 0 && d[i + 2] == 1) {
      if (start != std::string::npos) {
        size_t end = i;
        while (end > start && d[end - 1] == 0) --end;  // trailing zeros of a 4-byte start code
        out.push_back(d.subspan(start, end - start));
      }
      i += 3;
      start = i;
    } else {
      ++i;
    }
  }
  if (start != std::string::npos && start < n) out.push_back(d.subspan(start));
  return out;
}

std::optional<std::vector<std::span<const uint8_t>>> split_lengths(std::span<const uint8_t> d, int ls) {
  std::vector<std::span<const uint8_t>> out;
  size_t p = 0;
  while (p < d.size()) {
    if (p + static_cast<size_t>(ls) > d.size()) return std::nullopt;
    size_t len = 0;
    for (int k = 0; k < ls; ++k) len = len << 8 | d[p + static_cast<size_t>(k)];
    p += static_cast<size_t>(ls);
    if (len == 0 || len > d.size() - p) return std::nullopt;
    out.push_back(d.subspan(p, len));
    p += len;
  }
  return out;
}

bool non_reference(std::span<const uint8_t> sample, int length_size, bool hevc) {
  if (length_size <= 0) return false;
  const auto nals = split_lengths(sample, length_size);
  if (!nals) return false;
  bool slice = false;
  for (auto n : *nals) {
    if (hevc) {
      if (n.size() < 2) return false;
      const int t = hevc_nal_type(n);
      if (t >= 32) {
        if (t <= 34) return false;  // VPS, SPS, PPS
        continue;
      }
      if (t > 14 || t % 2 != 0 || (n[1] & 7) != 1) return false;  // a reference picture, an IRAP, or tid > 0
      slice = true;
    } else {
      const int t = nal_type(n);
      if (t == 7 || t == 8 || t == 5 || t == 14 || t == 20) return false;
      if (t >= 1 && t <= 4) {
        if ((n[0] >> 5) & 3) return false;  // nal_ref_idc
        slice = true;
      }
    }
  }
  return slice;
}

Bytes to_lengths(const std::vector<std::span<const uint8_t>>& nals, int ls, std::initializer_list<int> drop) {
  Bytes o;
  for (auto n : nals) {
    if (std::find(drop.begin(), drop.end(), nal_type(n)) != drop.end()) continue;
    for (int k = ls - 1; k >= 0; --k) o.push_back(static_cast<uint8_t>(n.size() >> (8 * k)));
    o.insert(o.end(), n.begin(), n.end());
  }
  return o;
}

std::optional<unsigned> sps_id(std::span<const uint8_t> sps) {
  if (sps.size() < 5 || nal_type(sps) != 7) return std::nullopt;
  BitReader br(sps.subspan(4));  // header byte, profile, constraints, level
  return br.ue();
}

std::optional<std::pair<unsigned, unsigned>> pps_ids(std::span<const uint8_t> pps) {
  if (pps.size() < 2 || nal_type(pps) != 8) return std::nullopt;
  BitReader br(pps.subspan(1));
  auto p = br.ue();
  auto s = br.ue();
  if (!p || !s) return std::nullopt;
  return std::pair{*p, *s};
}

std::optional<SliceHead> slice_head(std::span<const uint8_t> nal) {
  const int t = nal_type(nal);
  if (nal.size() < 2 || (t != 1 && t != 5)) return std::nullopt;
  BitReader br(nal.subspan(1, std::min<size_t>(nal.size() - 1, 16)));
  SliceHead h;
  auto a = br.ue(), b = br.ue(), c = br.ue();
  if (!a || !b || !c || *b > 9 || *c > 255) return std::nullopt;
  h.first_mb = *a, h.slice_type = *b, h.pps_id = *c;
  return h;
}

std::map<std::string, std::string> x264_options(std::span<const uint8_t> sample, int ls) {
  std::map<std::string, std::string> out;
  auto nals = split_lengths(sample, ls);
  if (!nals) return out;
  for (auto n : *nals) {
    if (nal_type(n) != 6) continue;
    const std::string_view s(reinterpret_cast<const char*>(n.data()), n.size());
    const size_t at = s.find("options: ");
    if (s.find("x264") == std::string_view::npos || at == std::string_view::npos) continue;
    size_t end = s.find('\0', at);
    if (end == std::string_view::npos) end = s.size();
    std::istringstream in(std::string(s.substr(at + 9, end - at - 9)));
    std::string kv;
    while (in >> kv) {
      const size_t eq = kv.find('=');
      if (eq != std::string::npos) out[kv.substr(0, eq)] = kv.substr(eq + 1);
    }
    break;
  }
  return out;
}

std::string x264_params_from(const std::map<std::string, std::string>& o) {
  std::vector<std::string> p;
  auto get = [&](const char* k) -> const std::string* {
    auto it = o.find(k);
    return it == o.end() ? nullptr : &it->second;
  };
  auto same = [&](const char* k, const char* as) {
    if (auto v = get(k)) p.push_back(std::string(as) + "=" + *v);
  };
  // Values FFmpeg's x264-params parser cannot carry (':' separates pairs) are
  // rewritten with ',' which x264 accepts too.
  auto commas = [](std::string v) {
    std::replace(v.begin(), v.end(), ':', ',');
    return v;
  };
  same("cabac", "cabac");
  same("ref", "ref");
  if (auto v = get("deblock")) {
    int e = 1, a = 0, b = 0;
    if (std::sscanf(v->c_str(), "%d:%d:%d", &e, &a, &b) == 3) {
      if (e) p.push_back("deblock=" + std::to_string(a) + "," + std::to_string(b));
      else p.push_back("no-deblock=1");
    }
  }
  if (auto v = get("analyse")) {
    const size_t c = v->find(':');
    const unsigned long inter = std::strtoul(c == std::string::npos ? v->c_str() : v->c_str() + c + 1, nullptr, 16);
    std::string parts;
    auto add = [&](unsigned long bit, const char* name) {
      if (inter & bit) parts += (parts.empty() ? "" : ",") + std::string(name);
    };
    add(0x1, "i4x4");
    add(0x2, "i8x8");
    add(0x10, "p8x8");
    add(0x20, "p4x4");
    add(0x100, "b8x8");
    p.push_back("partitions=" + (parts.empty() ? std::string("none") : parts));
  }
  same("me", "me");
  same("subme", "subme");
  same("psy", "psy");
  if (auto v = get("psy_rd")) p.push_back("psy-rd=" + commas(*v));
  same("mixed_ref", "mixed-refs");
  same("me_range", "merange");
  same("chroma_me", "chroma-me");
  same("trellis", "trellis");
  same("8x8dct", "8x8dct");
  if (auto v = get("deadzone")) {
    int a = 21, b = 11;
    if (std::sscanf(v->c_str(), "%d,%d", &a, &b) == 2)
      p.push_back("deadzone-inter=" + std::to_string(a)), p.push_back("deadzone-intra=" + std::to_string(b));
  }
  same("fast_pskip", "fast-pskip");
  same("chroma_qp_offset", "chroma-qp-offset");
  same("decimate", "dct-decimate");
  same("constrained_intra", "constrained-intra");
  same("bframes", "bframes");
  same("b_pyramid", "b-pyramid");
  same("b_adapt", "b-adapt");
  same("b_bias", "b-bias");
  same("weightb", "weightb");
  same("weightp", "weightp");
  same("open_gop", "open-gop");
  same("keyint", "keyint");
  same("keyint_min", "min-keyint");
  same("scenecut", "scenecut");
  same("intra_refresh", "intra-refresh");
  same("rc_lookahead", "rc-lookahead");
  same("mbtree", "mbtree");
  const std::string* rc = get("rc");
  if (rc && (*rc == "abr" || *rc == "cbr")) same("bitrate", "bitrate");
  if (rc && *rc == "crf") same("crf", "crf");
  same("ratetol", "ratetol");
  same("qcomp", "qcomp");
  same("qpmin", "qpmin");
  same("qpmax", "qpmax");
  same("qpstep", "qpstep");
  same("vbv_maxrate", "vbv-maxrate");
  same("vbv_bufsize", "vbv-bufsize");
  same("nal_hrd", "nal-hrd");
  same("filler", "filler");
  same("ip_ratio", "ipratio");
  same("pb_ratio", "pbratio");
  same("bluray_compat", "bluray-compat");
  same("slices", "slices");
  if (auto v = get("aq")) {
    int mode = 0;
    double strength = 1.0;
    const int n = std::sscanf(v->c_str(), "%d:%lf", &mode, &strength);
    if (n >= 1) p.push_back("aq-mode=" + std::to_string(mode));
    if (n == 2) {
      char buf[32];
      std::snprintf(buf, sizeof buf, "%.2f", strength);
      p.push_back(std::string("aq-strength=") + buf);
    }
  }
  std::string s;
  for (const auto& kv : p) s += (s.empty() ? "" : ":") + kv;
  return s;
}

}  // namespace nex::cut::h264
