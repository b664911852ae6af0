// A clip's stream-copied runs against the source's packets, byte for byte.
#include <cstring>

extern "C" {
#include <libavformat/avformat.h>
}

#include "evidence/internal.hpp"
#include "media/ffmpeg_util.hpp"
#include "nex/error.hpp"

namespace nex::evidence::detail {
namespace {

// The video packets of a file in file (= decode) order; discarded packets
// are left out, as nexcut leaves them out.
class VideoPackets {
 public:
  explicit VideoPackets(const fs::path& file) : file_(file), fmt_(media::open_input(file, false)), pkt_(av_packet_alloc()) {
    if (!pkt_) throw IoError("out of memory");
    for (unsigned i = 0; i < fmt_->nb_streams; ++i)
      if (fmt_->streams[i]->codecpar->codec_type == AVMEDIA_TYPE_VIDEO) {
        v_ = static_cast<int>(i);
        break;
      }
    if (v_ < 0) throw InputError(file.string() + ": no video");
  }
  // The next video packet, or nullptr at the end. Valid until the next call.
  AVPacket* next() {
    for (;;) {
      av_packet_unref(pkt_.get());
      const int ret = av_read_frame(fmt_.get(), pkt_.get());
      if (ret == AVERROR_EOF) return nullptr;
      if (ret < 0) media::throw_av(ret, file_.string() + ": read");
      if (pkt_->stream_index != v_ || (pkt_->flags & AV_PKT_FLAG_DISCARD)) continue;
      ++index_;
      return pkt_.get();
    }
  }
  int64_t index() const { return index_; }  // of the packet next() returned last

 private:
  fs::path file_;
  media::InputFormatPtr fmt_;
  media::PacketPtr pkt_;
  int v_ = -1;
  int64_t index_ = -1;
};

}  // namespace

std::string compare_run(const fs::path& clip, const fs::path& source, const Run& run) {
  try {
    VideoPackets c(clip), s(source);
    AVPacket* cp = nullptr;
    while ((cp = c.next()) && c.index() < run.clip_first) {
    }
    AVPacket* sp = nullptr;
    while ((sp = s.next()) && s.index() < run.source_first) {
    }
    if (!sp) return "the source has no packet " + std::to_string(run.source_first);
    const int64_t lo = sp->pts != AV_NOPTS_VALUE ? sp->pts : sp->dts;
    int64_t n = 0;
    for (; sp && s.index() <= run.source_last; sp = s.next()) {
      const int64_t ts = sp->pts != AV_NOPTS_VALUE ? sp->pts : sp->dts;
      if (ts < lo) continue;  // a leading picture of the keyframe: not copied
      if (n == run.frames) return "the clip has fewer frames than the source range";
      if (!cp) return "the clip ends at frame " + std::to_string(run.clip_first + n) + " of the run";
      const auto cs = static_cast<size_t>(cp->size), ss = static_cast<size_t>(sp->size);
      // Equal, or (the first packet after a re-encoded HEVC run) the camera's
      // parameter sets in front of the very same bytes.
      const bool same = cs == ss ? std::memcmp(cp->data, sp->data, ss) == 0
                                 : n == 0 && cs > ss && std::memcmp(cp->data + (cs - ss), sp->data, ss) == 0;
      if (!same)
        return "frame " + std::to_string(run.clip_first + n) + " differs from packet " + std::to_string(s.index()) +
               " of " + source.filename().string();
      ++n;
      cp = c.next();
    }
    if (n != run.frames) return "the source range holds " + std::to_string(n) + " frames, not " + std::to_string(run.frames);
    return {};
  } catch (const Error& e) {
    return std::string("cannot read the packets: ") + e.what();
  }
}

}  // namespace nex::evidence::detail
