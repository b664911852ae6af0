#include "nex/mp4.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>

#include "nex/error.hpp"
#include "nex/fsutil.hpp"

namespace nex {
namespace {

constexpr uint64_t kMaxMoov = 64ull << 20;
constexpr int64_t kMp4EpochOffset = 2082844800;  // 1904-01-01 -> 1970-01-01

// Bounds-checked big-endian cursor over a byte range.
struct Cursor {
  const unsigned char* p;
  size_t n;
  size_t pos = 0;
  bool ok = true;

  bool need(size_t k) {
    if (!ok || n - pos < k || pos > n) ok = false;
    return ok;
  }
  uint64_t be(size_t k) {
    if (!need(k)) return 0;
    uint64_t v = 0;
    for (size_t i = 0; i < k; ++i) v = (v << 8) | p[pos + i];
    pos += k;
    return v;
  }
  uint32_t u32() { return static_cast<uint32_t>(be(4)); }
  uint16_t u16() { return static_cast<uint16_t>(be(2)); }
  uint8_t u8() { return static_cast<uint8_t>(be(1)); }
  void skip(size_t k) {
    if (need(k)) pos += k;
  }
  std::string fourcc() {
    if (!need(4)) return {};
    std::string s(reinterpret_cast<const char*>(p + pos), 4);
    pos += 4;
    return s;
  }
};

struct Box {
  std::string type;
  std::string_view payload;
};

// Iterates child boxes of a container payload; stops on malformed sizes.
template <class F>
bool for_each_box(std::string_view data, F&& f) {
  size_t pos = 0;
  while (pos + 8 <= data.size()) {
    Cursor c{reinterpret_cast<const unsigned char*>(data.data()) + pos, data.size() - pos};
    uint64_t size = c.u32();
    std::string type = c.fourcc();
    size_t header = 8;
    if (size == 1) {
      size = c.be(8);
      header = 16;
    } else if (size == 0) {
      size = data.size() - pos;
    }
    if (!c.ok || size < header || size > data.size() - pos) return false;
    f(Box{type, data.substr(pos + header, static_cast<size_t>(size - header))});
    pos += static_cast<size_t>(size);
  }
  return pos == data.size();
}

// Media time in ms, capped: a corrupt 64-bit duration must not wrap into a
// negative or tiny one. timescale != 0 and fits 32 bits (mvhd, mdhd).
int64_t ticks_to_ms(uint64_t ticks, uint64_t timescale) {
  constexpr uint64_t kMax = static_cast<uint64_t>(INT64_MAX);
  const uint64_t whole = ticks / timescale, rest = ticks % timescale;
  if (whole > (kMax - 999) / 1000) return INT64_MAX;
  return static_cast<int64_t>(whole * 1000 + rest * 1000 / timescale);
}

// mvhd creation_time (seconds since 1904) as Unix seconds; 0 when absent or
// beyond any real date (fuzz_mp4_moov: 2^63 overflowed the subtraction).
int64_t unix_time(uint64_t mp4_seconds) {
  if (mp4_seconds == 0 || mp4_seconds > static_cast<uint64_t>(INT64_MAX)) return 0;
  return static_cast<int64_t>(mp4_seconds) - kMp4EpochOffset;
}

Cursor cursor(std::string_view s) { return Cursor{reinterpret_cast<const unsigned char*>(s.data()), s.size()}; }

void parse_stsd(std::string_view payload, Mp4Track& t) {
  Cursor c = cursor(payload);
  c.skip(4);  // version+flags
  const uint32_t count = c.u32();
  if (!c.ok || count == 0) return;
  const uint32_t size = c.u32();
  t.codec = c.fourcc();
  if (!c.ok || size < 16) return;
  c.skip(6 + 2);  // reserved + data reference index
  if (t.handler == "vide") {
    c.skip(16);
    t.width = c.u16();
    t.height = c.u16();
  } else if (t.handler == "soun") {
    c.skip(8);
    t.channels = c.u16();
    c.skip(2 + 4);
    t.sample_rate = static_cast<int>(c.u32() >> 16);
  }
  if (!c.ok) t.width = t.height = t.channels = t.sample_rate = 0;
}

void parse_trak(std::string_view trak, Mp4Info& info) {
  Mp4Track t;
  uint64_t media_ticks = 0;
  uint32_t media_timescale = 0;
  for_each_box(trak, [&](const Box& b) {
    if (b.type == "tkhd") {
      Cursor c = cursor(b.payload);
      const uint8_t v = c.u8();
      c.skip(3);
      c.skip(v == 1 ? 8 + 8 + 4 + 4 : 4 + 4 + 4 + 4);  // times, track id, reserved
      const uint64_t d = c.be(v == 1 ? 8 : 4);
      // all ones: unknown
      if (c.ok && d != (v == 1 ? UINT64_MAX : uint64_t{UINT32_MAX})) t.tkhd_ticks = d;
      return;
    }
    if (b.type == "edts") {
      for_each_box(b.payload, [&](const Box& e) {
        if (e.type != "elst") return;
        Cursor c = cursor(e.payload);
        const uint8_t v = c.u8();
        c.skip(3);
        const uint32_t n = c.u32();
        for (uint32_t k = 0; k < n && c.ok; ++k) {
          const uint64_t d = c.be(v == 1 ? 8 : 4);
          const uint64_t mt = c.be(v == 1 ? 8 : 4);
          c.skip(4);  // media rate
          const bool empty = v == 1 ? mt == UINT64_MAX : mt == UINT32_MAX;
          if (!c.ok || !empty) break;  // only the empty edits before the first real one
          t.empty_edit_ticks += d;
        }
      });
      return;
    }
    if (b.type != "mdia") return;
    uint32_t timescale = 0;
    uint64_t duration = 0;
    std::string_view minf;
    for_each_box(b.payload, [&](const Box& m) {
      if (m.type == "mdhd") {
        Cursor c = cursor(m.payload);
        const uint8_t v = c.u8();
        c.skip(3);
        if (v == 1) {
          c.skip(16);
          timescale = c.u32();
          duration = c.be(8);
        } else {
          c.skip(8);
          timescale = c.u32();
          duration = c.u32();
        }
        if (!c.ok) timescale = 0;
      } else if (m.type == "hdlr") {
        Cursor c = cursor(m.payload);
        c.skip(8);
        t.handler = c.fourcc();
      } else if (m.type == "minf") {
        minf = m.payload;
      }
    });
    if (timescale) t.duration_ms = ticks_to_ms(duration, timescale);
    media_ticks = duration;
    media_timescale = timescale;
    for_each_box(minf, [&](const Box& m) {
      if (m.type != "stbl") return;
      for_each_box(m.payload, [&](const Box& s) {
        if (s.type == "stsd") parse_stsd(s.payload, t);
        if (s.type == "stsz") {
          Cursor c = cursor(s.payload);
          c.skip(8);
          t.sample_count = c.u32();
          if (!c.ok) t.sample_count = 0;
        }
        if (s.type == "ctts") t.reordered = true;
      });
    });
  });
  if (t.handler == "vide" && media_ticks > 0 && media_timescale > 0 && t.sample_count > 0)
    t.fps = static_cast<double>(t.sample_count) * media_timescale / static_cast<double>(media_ticks);
  if (!t.handler.empty()) info.tracks.push_back(std::move(t));
}

}  // namespace

const Mp4Track* Mp4Info::video() const {
  for (const auto& t : tracks)
    if (t.handler == "vide") return &t;
  return nullptr;
}
const Mp4Track* Mp4Info::audio() const {
  for (const auto& t : tracks)
    if (t.handler == "soun") return &t;
  return nullptr;
}

const char* to_string(Mp4State s) {
  switch (s) {
    case Mp4State::Ok: return "ok";
    case Mp4State::Empty: return "empty";
    case Mp4State::NoMoov: return "truncated";
    case Mp4State::Malformed: return "malformed";
  }
  return "?";
}

Mp4Info parse_mp4_moov(std::string_view moov, uint64_t file_size) {
  (void)file_size;
  Mp4Info info;
  bool saw_mvhd = false;
  uint64_t movie_timescale = 0;
  const bool ok = for_each_box(moov, [&](const Box& b) {
    if (b.type == "mvhd") {
      Cursor c = cursor(b.payload);
      const uint8_t v = c.u8();
      c.skip(3);
      uint64_t created, timescale, duration;
      if (v == 1) {
        created = c.be(8);
        c.skip(8);
        timescale = c.u32();
        duration = c.be(8);
      } else {
        created = c.u32();
        c.skip(4);
        timescale = c.u32();
        duration = c.u32();
      }
      if (c.ok && timescale) {
        saw_mvhd = true;
        movie_timescale = timescale;
        info.duration_ms = ticks_to_ms(duration, timescale);
        info.creation_time = unix_time(created);
      }
    } else if (b.type == "trak") {
      parse_trak(b.payload, info);
    }
  });
  if (!ok || !saw_mvhd) {
    info.state = Mp4State::Malformed;
    info.problem = !ok ? "moov box structure is corrupt" : "moov has no movie header";
    return info;
  }
  // The recording lasts as long as its video is shown (the first frame
  // is the recording's instant: docs/nexcut.md, "Timeline").
  const Mp4Track* v = info.video();
  if (v && movie_timescale && v->tkhd_ticks > v->empty_edit_ticks)
    info.duration_ms = ticks_to_ms(v->tkhd_ticks - v->empty_edit_ticks, movie_timescale);
  info.state = Mp4State::Ok;
  return info;
}

Mp4Info read_mp4_info(const std::filesystem::path& file) {
  const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw IoError(file.string() + ": " + errno_text(errno));
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0) throw IoError(file.string() + ": " + errno_text(errno));
  return read_mp4_info(
      [&](void* buf, size_t n, uint64_t off) {
        size_t got = 0;
        while (got < n) {
          const ssize_t r = ::pread(fd, static_cast<char*>(buf) + got, n - got, static_cast<off_t>(off + got));
          if (r < 0) {
            if (errno == EINTR) continue;
            throw IoError(file.string() + ": read: " + errno_text(errno));
          }
          if (r == 0) break;
          got += static_cast<size_t>(r);
        }
        return got;
      },
      static_cast<uint64_t>(st.st_size));
}

Mp4Info read_mp4_info(const Mp4Reader& pread_all, uint64_t size) {
  Mp4Info info;
  if (size == 0) {
    info.state = Mp4State::Empty;
    info.problem = "0-byte file";
    return info;
  }
  uint64_t pos = 0;
  bool saw_ftyp = false, truncated = false;
  while (pos + 8 <= size) {
    unsigned char h[16];
    const size_t got = pread_all(h, 16, pos);
    if (got < 8) break;
    Cursor c{h, got};
    uint64_t bsize = c.u32();
    const std::string type = c.fourcc();
    uint64_t header = 8;
    if (bsize == 1) {
      if (got < 16) break;
      bsize = c.be(8);
      header = 16;
    } else if (bsize == 0) {
      bsize = size - pos;
      if (type == "mdat") truncated = true;  // never finalized
    }
    if (pos == 0) {
      if (type != "ftyp") {
        info.state = Mp4State::Malformed;
        info.problem = "not an MP4 file (no ftyp box)";
        return info;
      }
      saw_ftyp = true;
    }
    if (bsize < header) {
      info.state = Mp4State::Malformed;
      info.problem = "corrupt box size at offset " + std::to_string(pos);
      return info;
    }
    if (bsize > size - pos) {
      truncated = true;
      if (type == "mdat") {
        info.mdat_bytes += size - pos - header;
        info.mdat_payloads.emplace_back(pos + header, size - pos - header);
      }
      break;
    }
    if (type == "mdat") {
      info.mdat_bytes += bsize - header;
      info.mdat_payloads.emplace_back(pos + header, bsize - header);
    }
    if (type == "moov") {
      if (bsize - header > kMaxMoov) {
        info.state = Mp4State::Malformed;
        info.problem = "moov box too large";
        return info;
      }
      std::string moov(static_cast<size_t>(bsize - header), '\0');
      if (pread_all(moov.data(), moov.size(), pos + header) != moov.size()) {
        truncated = true;
        break;
      }
      Mp4Info parsed = parse_mp4_moov(moov, size);
      parsed.mdat_bytes = info.mdat_bytes;
      parsed.mdat_payloads = info.mdat_payloads;
      if (parsed.state == Mp4State::Ok && (!parsed.video() && !parsed.audio())) {
        parsed.state = Mp4State::Malformed;
        parsed.problem = "no audio or video track";
      }
      // Keep scanning for the mdat size only when it comes after the moov.
      uint64_t next = pos + bsize;
      while (next + 8 <= size) {
        unsigned char hh[16];
        const size_t g = pread_all(hh, 16, next);
        if (g < 8) break;
        Cursor cc{hh, g};
        uint64_t s2 = cc.u32();
        const std::string t2 = cc.fourcc();
        uint64_t h2 = 8;
        if (s2 == 1 && g >= 16) s2 = cc.be(8), h2 = 16;
        else if (s2 == 0) s2 = size - next;
        if (s2 < h2 || s2 > size - next) {
          parsed.state = Mp4State::Malformed;
          parsed.problem = "file is cut short after the moov box";
          break;
        }
        if (t2 == "mdat") {
          parsed.mdat_bytes += s2 - h2;
          parsed.mdat_payloads.emplace_back(next + h2, s2 - h2);
        }
        next += s2;
      }
      return parsed;
    }
    pos += bsize;
  }
  info.state = saw_ftyp ? Mp4State::NoMoov : Mp4State::Malformed;
  info.problem = saw_ftyp ? (truncated ? "recording cut short: no moov atom (power cut?)" : "no moov atom")
                          : "not an MP4 file";
  return info;
}

}  // namespace nex
