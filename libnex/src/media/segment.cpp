// Segments from templates (a stream-copy remux with the segment's metadata)
// and the power-cut emulation.
//
// A segment is the template's first duration_ms, packets copied with their
// timestamps untouched (every segment starts at 0, like the template): video
// frames whose pts lies before the end, audio packets that start before it
// (so the audio may run up to one AAC frame past the video). Each stream
// ends at its first packet (in decode order) that lies past the end: with
// B-frames that drops the B-frames before an anchor that is cut, as a
// decodable prefix must. A .mov template gives a QuickTime MOV segment.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "media/ffmpeg_util.hpp"
#include "media/media_files.hpp"
#include "nex/error.hpp"
#include "nex/footage.hpp"
#include "nex/fsutil.hpp"
#include "media/mp4_tags.hpp"
#include "nex/timeutil.hpp"

namespace fs = std::filesystem;

namespace nex {
namespace {

using media::iso6709;
using media::iso_utc;

}  // namespace

// The template is demuxed again for every segment: measured on a 60 s road
// template (62 MB) on 2 busy cores, a remux streaming packets from the page
// cache takes ~0.09 s (interior, 24 MB: ~0.04 s) and one from packets held in
// memory ~0.07 s: not worth ~110 MB of resident memory for three templates.
uint64_t write_segment(const fs::path& tmpl, const fs::path& out, int64_t duration_ms, const SegmentMeta& meta) {
  media::InputFormatPtr in = media::open_input(tmpl, /*probe=*/false);

  AVFormatContext* raw = nullptr;
  const bool mov = tmpl.extension() == ".mov";
  media::check_av_io(avformat_alloc_output_context2(&raw, nullptr, mov ? "mov" : "mp4", nullptr),
                     mov ? "mov muxer" : "mp4 muxer");
  media::OutputFormatPtr oc(raw);
  oc->flags |= AVFMT_FLAG_BITEXACT;

  std::vector<int> map(in->nb_streams, -1);
  std::vector<bool> done(in->nb_streams, true);
  for (unsigned i = 0; i < in->nb_streams; ++i) {
    AVStream* ist = in->streams[i];
    const AVMediaType type = ist->codecpar->codec_type;
    if (type != AVMEDIA_TYPE_VIDEO && type != AVMEDIA_TYPE_AUDIO) {
      ist->discard = AVDISCARD_ALL;
      continue;
    }
    AVStream* st = avformat_new_stream(oc.get(), nullptr);
    if (!st) throw IoError("out of memory");
    media::check_av_io(avcodec_parameters_copy(st->codecpar, ist->codecpar), "codec parameters");
    st->codecpar->codec_tag = 0;
    if (ist->codecpar->codec_id == AV_CODEC_ID_HEVC) st->codecpar->codec_tag = MKTAG('h', 'v', 'c', '1');
    st->time_base = ist->time_base;
    st->avg_frame_rate = ist->avg_frame_rate;
    if (const AVDictionaryEntry* e = av_dict_get(ist->metadata, "language", nullptr, 0))
      av_dict_set(&st->metadata, "language", e->value, 0);
    map[i] = st->index;
    done[i] = false;
  }

  // Metadata: creation_time (UTC) goes to mvhd/tkhd/mdhd; with
  // use_metadata_tags the mp4 muxer also stores every key in udta/meta (mdta
  // keys), which is how make/model survive in MP4 (its iTunes ilst has no
  // such fields); "location" additionally becomes a 3GPP loci box. FFmpeg
  // reads all of them back under these names.
  const LocalTime utc = meta.start - static_cast<int64_t>(meta.utc_offset_min) * 60'000;
  av_dict_set(&oc->metadata, "creation_time", iso_utc(utc).c_str(), 0);
  if (meta.lat && meta.lon) av_dict_set(&oc->metadata, "location", iso6709(*meta.lat, *meta.lon).c_str(), 0);
  if (!meta.make.empty()) av_dict_set(&oc->metadata, "make", meta.make.c_str(), 0);
  if (!meta.model.empty()) av_dict_set(&oc->metadata, "model", meta.model.c_str(), 0);

  const fs::path tmp = media::unique_temp_for(out);
  std::error_code ec;
  try {
    media::check_av_io(avio_open(&oc->pb, media::ffmpeg_url(tmp).c_str(), AVIO_FLAG_WRITE), "create " + out.string());
    media::Dict opts;
    opts.set("movflags", "use_metadata_tags");
    media::check_av_io(avformat_write_header(oc.get(), opts.out()), "write " + out.string());

    media::PacketPtr pkt(av_packet_alloc());
    if (!pkt) throw IoError("out of memory");
    const AVRational ms{1, 1000};
    for (;;) {
      const int ret = av_read_frame(in.get(), pkt.get());
      if (ret == AVERROR_EOF) break;
      if (ret < 0) media::throw_av(ret, "read template " + tmpl.string());
      const int si = pkt->stream_index;
      if (si < 0 || static_cast<size_t>(si) >= map.size() || map[si] < 0 || done[si]) {
        av_packet_unref(pkt.get());
        continue;
      }
      const AVRational tb = in->streams[si]->time_base;
      const int64_t ts = pkt->pts != AV_NOPTS_VALUE ? pkt->pts : pkt->dts;
      if (duration_ms > 0 && ts != AV_NOPTS_VALUE && av_compare_ts(ts, tb, duration_ms, ms) >= 0) {
        av_packet_unref(pkt.get());
        done[si] = true;
        if (std::all_of(done.begin(), done.end(), [](bool d) { return d; })) break;
        continue;
      }
      pkt->stream_index = map[si];
      pkt->pos = -1;
      av_packet_rescale_ts(pkt.get(), tb, oc->streams[map[si]]->time_base);
      media::check_av_io(av_interleaved_write_frame(oc.get(), pkt.get()), "write " + out.string());
    }
    media::check_av_io(av_write_trailer(oc.get()), "write " + out.string());
    media::check_av_io(avio_closep(&oc->pb), "close " + out.string());
    if (::rename(tmp.c_str(), out.c_str()) != 0) throw IoError(out.string() + ": rename: " + errno_text(errno));
  } catch (...) {
    fs::remove(tmp, ec);
    throw;
  }
  const uintmax_t size = fs::file_size(out, ec);
  if (ec) throw IoError(out.string() + ": " + ec.message());
  return size;
}

// ---------------------------------------------------------------------------

namespace {

class Fd {
 public:
  Fd(const fs::path& p, int flags) : fd_(::open(p.c_str(), flags | O_CLOEXEC)) {
    if (fd_ < 0) throw IoError(p.string() + ": " + errno_text(errno));
  }
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  void close(const fs::path& p) {
    const int fd = fd_;
    fd_ = -1;
    if (::close(fd) != 0) throw IoError(p.string() + ": close: " + errno_text(errno));
  }

 private:
  int fd_;
};

void pread_all(int fd, void* buf, size_t n, uint64_t off, const fs::path& p) {
  auto* b = static_cast<uint8_t*>(buf);
  while (n) {
    const ssize_t r = ::pread(fd, b, n, static_cast<off_t>(off));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) throw IoError(p.string() + ": read: " + errno_text(errno));
    if (r == 0) throw IoError(p.string() + ": unexpected end of file");
    b += r, n -= static_cast<size_t>(r), off += static_cast<uint64_t>(r);
  }
}

void pwrite_all(int fd, const void* buf, size_t n, uint64_t off, const fs::path& p) {
  const auto* b = static_cast<const uint8_t*>(buf);
  while (n) {
    const ssize_t r = ::pwrite(fd, b, n, static_cast<off_t>(off));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) throw IoError(p.string() + ": write: " + errno_text(errno));
    b += r, n -= static_cast<size_t>(r), off += static_cast<uint64_t>(r);
  }
}

uint32_t rb32(const uint8_t* p) { return uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | p[3]; }
void wb32(uint8_t* p, uint32_t v) {
  p[0] = uint8_t(v >> 24), p[1] = uint8_t(v >> 16), p[2] = uint8_t(v >> 8), p[3] = uint8_t(v);
}

}  // namespace

void cut_power(const fs::path& file, double keep_fraction) {
  if (std::isnan(keep_fraction)) throw IoError(file.string() + ": cut_power: keep fraction is not a number");
  keep_fraction = std::clamp(keep_fraction, 0.0, 1.0);
  Fd fd(file, O_RDWR);
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) throw IoError(file.string() + ": " + errno_text(errno));
  const uint64_t file_size = static_cast<uint64_t>(st.st_size);

  // Walk the top-level boxes. A moov before the mdat (faststart files) is
  // blanked into a 'free' box; one after the mdat goes with the truncation.
  uint64_t off = 0;
  uint64_t mdat_header = 0, mdat_payload = 0, mdat_payload_size = 0;
  bool have_mdat = false;
  while (off + 8 <= file_size) {
    uint8_t h[16];
    pread_all(fd.get(), h, 8, off, file);
    uint64_t size = rb32(h);
    uint64_t header = 8;
    if (size == 1) {
      if (off + 16 > file_size) break;
      pread_all(fd.get(), h + 8, 8, off + 8, file);
      size = uint64_t(rb32(h + 8)) << 32 | rb32(h + 12);
      header = 16;
    } else if (size == 0) {
      size = file_size - off;  // box runs to the end of the file
    }
    if (size < header) throw IoError(file.string() + ": cut_power: malformed MP4 box at offset " + std::to_string(off));
    const uint64_t end = std::min(file_size, off + size);
    if (!have_mdat && std::memcmp(h + 4, "mdat", 4) == 0) {
      have_mdat = true;
      mdat_header = off;
      mdat_payload = off + header;
      mdat_payload_size = end - mdat_payload;
      if (header == 16) {
        // 64-bit mdat: rewrite [1 'mdat' largesize] as [8 'free'][0 'mdat'],
        // which keeps the payload where it is.
        uint8_t repl[16];
        wb32(repl, 8);
        std::memcpy(repl + 4, "free", 4);
        wb32(repl + 8, 0);
        std::memcpy(repl + 12, "mdat", 4);
        pwrite_all(fd.get(), repl, sizeof repl, off, file);
        mdat_header = off + 8;
      }
    } else if (!have_mdat && std::memcmp(h + 4, "moov", 4) == 0) {
      std::memcpy(h + 4, "free", 4);
      pwrite_all(fd.get(), h + 4, 4, off + 4, file);
      std::vector<uint8_t> zeros(static_cast<size_t>(std::min<uint64_t>(end - off - header, 1 << 20)));
      for (uint64_t p = off + header; p < end; p += zeros.size())
        pwrite_all(fd.get(), zeros.data(), static_cast<size_t>(std::min<uint64_t>(zeros.size(), end - p)), p, file);
    }
    if (have_mdat) break;
    off += size;
  }
  if (!have_mdat) throw IoError(file.string() + ": cut_power: no mdat box (not an MP4 recording?)");

  const uint64_t keep = static_cast<uint64_t>(std::floor(keep_fraction * static_cast<double>(mdat_payload_size)));
  if (::ftruncate(fd.get(), static_cast<off_t>(mdat_payload + keep)) != 0)
    throw IoError(file.string() + ": truncate: " + errno_text(errno));
  uint8_t zero[4] = {0, 0, 0, 0};
  pwrite_all(fd.get(), zero, 4, mdat_header, file);
  fd.close(file);
}

}  // namespace nex
