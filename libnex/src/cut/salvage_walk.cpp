// nexcut salvage: the mdat walk. From the start of the media data:
//  - video: access units of length-prefixed NAL units (H.264 or HEVC; the
//    length size comes from the reference's avcC/hvcC). A NAL unit is
//    accepted when its length fits, its header is valid for its type and,
//    for slices, the slice header parses and names a PPS the reference (or
//    the stream itself, hev1/avc3) defines. A new access unit starts at a
//    picture's first slice (H.264 first_mb_in_slice == 0, HEVC
//    first_slice_segment_in_pic_flag) or at a prefix NAL unit after a slice
//    (H.264 AUD/SPS/PPS/SEI, HEVC AUD/VPS/SPS/PPS/prefix SEI).
//  - audio between video samples: AAC frames carry no length: a frame is the
//    shortest prefix FFmpeg's decoder decodes (one byte less leaves its END
//    element unread, which the decoder rejects), found by bisection. PCM
//    (sowt/twos/lpcm) has no structure at all: a run of it ends where the
//    next access unit starts, at one of the run lengths the reference's
//    chunks have (else at the first block boundary where one starts).
//  - anything else: skipped to the next valid access unit (counted).
// The incomplete frame at the end of the file is dropped.
#include <algorithm>
#include <cstring>
#include <set>

#include "cut/internal.hpp"
#include "cut/order.hpp"
#include "cut/salvage_walk.hpp"
#include "nex/error.hpp"

namespace nex::cut::salvage_detail {

using namespace detail;
namespace h = h264;

namespace {

uint64_t be(const uint8_t* p, int n) {
  uint64_t v = 0;
  for (int i = 0; i < n; ++i) v = v << 8 | p[i];
  return v;
}

class Walker {
 public:
  Walker(const uint8_t* d, size_t n, const StreamInfo& info, const Context& ctx)
      : d_(d), n_(n), info_(info), ctx_(ctx), ls_(info.length_size), hevc_(info.codec == VideoCodec::Hevc) {
    for (const auto& p : info.param_sets) learn(p);
    if (info.audio == AudioKind::Aac) {
      const AVCodec* dc = avcodec_find_decoder(AV_CODEC_ID_AAC);
      if (!dc) throw IoError("FFmpeg has no AAC decoder");
      dec_.reset(avcodec_alloc_context3(dc));
      if (!dec_) throw IoError("out of memory");
      media::check_av_io(avcodec_parameters_to_context(dec_.get(), info.apar), "audio parameters");
      media::check_av_io(avcodec_open2(dec_.get(), dc, nullptr), "open AAC decoder");
      max_audio_ = static_cast<size_t>(768 * std::max(1, info.apar->ch_layout.nb_channels) + 64);
      pkt_.reset(av_packet_alloc());
      frame_.reset(av_frame_alloc());
      if (!pkt_ || !frame_) throw IoError("out of memory");
    }
    for (size_t r : info.pcm_runs) max_run_ = std::max(max_run_, r);
  }

  void run(Walk& w) {
    size_t p = 0, steps = 0;
    while (p < n_) {
      if ((++steps & 255) == 0) ctx_.check_interrupt();
      size_t end = 0;
      bool key = false;
      int v = video_au(p, &end, &key);
      // Audio that happens to look like a NAL unit (PCM near silence reads
      // as a small length) is told apart by what follows: a real access
      // unit ends where the next sample starts.
      if (v > 0 && !follows_well(end, 1)) v = 0;
      if (v > 0) {
        w.video.push_back({p, end - p, key});
        // parameter sets in the stream (avc3/hev1) name PPS ids slices may use
        if (auto nals = h::split_lengths({d_ + p, end - p}, ls_))
          for (auto nal : *nals) learn(nal);
        p = end;
        continue;
      }
      if (v < 0) break;  // torn access unit at the end
      if (info_.audio == AudioKind::Aac) {
        size_t len = 0;
        const int a = aac_frame(p, &len);
        if (a > 0) {
          w.audio.push_back({p, len, true});
          p += len;
          continue;
        }
        if (a < 0) break;  // torn audio frame at the end
      } else if (info_.audio == AudioKind::Pcm) {
        size_t len = 0;
        const int a = pcm_run(p, &len, 1);
        if (a != 0 && len > 0) w.audio.push_back({p, len, true});
        if (a > 0) {
          p += len;
          continue;
        }
        if (a < 0) {  // the torn run at the end: its whole sample frames are kept
          p += len;
          break;
        }
      }
      // Unrecognised bytes: resynchronise on the next access unit.
      size_t q = p + 1;
      while (q < n_ && video_au(q, &end, &key) <= 0) ++q;
      ctx_.log->warn("skipped {} unrecognised bytes at media offset {}", q - p, p);
      w.skipped += q - p;
      p = q;
    }
    w.tail = n_ - std::min(n_, p);
  }

 private:
  // Whether a sample can start at q: the end, an access unit (or one torn
  // by the end), an AAC frame, or a PCM run.
  // `depth` bounds the look-ahead (a PCM run is itself checked by what
  // follows it).
  bool follows_well(size_t q, int depth) {
    if (q >= n_) return true;
    size_t end = 0, len = 0;
    bool key = false;
    if (video_au(q, &end, &key) != 0) return true;
    if (info_.audio == AudioKind::Aac) return aac_frame(q, &len) != 0;
    if (info_.audio == AudioKind::Pcm) return pcm_run(q, &len, depth) != 0;
    return false;
  }

  // A parameter set: remember the ids slices may name.
  void learn(std::span<const uint8_t> nal) {
    if (hevc_) {
      if (auto pps = order::hevc_pps(nal)) pps_.insert(pps->id);
    } else if (auto ids = h::pps_ids(nal)) {
      pps_.insert(ids->first);
    }
  }

  int type_at(size_t body) const { return hevc_ ? (d_[body] >> 1) & 0x3F : d_[body] & 0x1F; }

  // Header checks of one NAL unit (its first bytes present): 1 + its type, or 0.
  int check_header(size_t body, size_t l, size_t avail, const std::set<unsigned>& pending) const {
    const uint8_t hdr = d_[body];
    if (hdr & 0x80) return 0;
    if (!hevc_) {
      const int type = hdr & 0x1F, ref_idc = hdr >> 5 & 3;
      switch (type) {
        case 1:
        case 5: {
          if (type == 5 && ref_idc == 0) return 0;
          auto sh = h::slice_head({d_ + body, std::min<size_t>(avail, 16)});
          if (!sh || !(pps_.count(sh->pps_id) || pending.count(sh->pps_id))) return 0;
          break;
        }
        case 6:
        case 9:
        case 10:
        case 11:
        case 12:
          if (ref_idc != 0) return 0;
          if (type == 9 && l != 2) return 0;
          if ((type == 10 || type == 11) && l != 1) return 0;
          break;
        case 7:
        case 8:
          if (ref_idc == 0) return 0;
          break;
        default: return 0;
      }
      return 1 + type;
    }
    if (l < 2 || avail < 2) return 0;
    const int type = (hdr >> 1) & 0x3F;
    const unsigned layer = (hdr & 1u) << 5 | d_[body + 1] >> 3, tid1 = d_[body + 1] & 7u;
    if (layer != 0 || tid1 == 0) return 0;
    if ((type >= 0 && type <= 9) || (type >= 16 && type <= 21)) {
      auto sh = order::hevc_slice_head({d_ + body, std::min<size_t>(avail, 16)});
      if (!sh || !(pps_.count(sh->pps_id) || pending.count(sh->pps_id))) return 0;
      if (order::hevc_irap(type) && tid1 != 1) return 0;
    } else if (type >= 32 && type <= 34) {
      if (tid1 != 1) return 0;
    } else if (type == 35) {
      if (l != 3) return 0;
    } else if (type == 36 || type == 37) {
      if (l != 2) return 0;
    } else if (type < 38 || type > 40) {
      return 0;
    }
    return 1 + type;
  }

  // >0: 1 + the NAL type; 0: not a NAL unit here; -1: a plausible NAL unit cut off by the end.
  int nal_at(size_t q, size_t* len, const std::set<unsigned>& pending) const {
    const size_t ls = static_cast<size_t>(ls_);
    if (q + ls + (hevc_ ? 2 : 1) > n_) return q < n_ ? -1 : 0;
    const size_t l = static_cast<size_t>(be(d_ + q, ls_));
    if (l < 1 || l > info_.max_nal) return 0;
    const size_t body = q + ls;
    const int t = check_header(body, l, std::min(l, n_ - body), pending);
    if (t == 0) return 0;
    if (body + l > n_) return -1;
    *len = l;
    return t;
  }

  bool is_vcl(int t) const { return hevc_ ? t <= 31 : (t == 1 || t == 5); }
  bool is_key(int t) const { return hevc_ ? (t >= 16 && t <= 21) : t == 5; }
  // A non-VCL NAL unit of this type after a slice begins the next access unit.
  bool starts_au(int t) const {
    if (!hevc_) return t == 6 || t == 7 || t == 8 || t == 9 || (t >= 14 && t <= 18);
    return (t >= 32 && t <= 35) || t == 39 || (t >= 41 && t <= 44) || (t >= 48 && t <= 55);
  }
  bool first_in_pic(size_t body, size_t avail) const {
    if (hevc_) {
      auto sh = order::hevc_slice_head({d_ + body, std::min<size_t>(avail, 16)});
      return sh && sh->first_in_pic;
    }
    auto sh = h::slice_head({d_ + body, std::min<size_t>(avail, 16)});
    return sh && sh->first_mb == 0;
  }

  // 1: an access unit [p, *end); 0: none here; -1: one cut off by the end.
  int video_au(size_t p, size_t* end, bool* key) const {
    size_t q = p;
    bool slice = false;
    *key = false;
    std::set<unsigned> pending;  // PPS ids defined in this access unit
    for (;;) {
      size_t len = 0;
      const int code = nal_at(q, &len, pending);
      if (code == -1) {
        if (q == p) return plausible_start(p) ? -1 : 0;
        if (slice && starts_new_au(q)) break;  // this access unit is whole; the next one is torn
        return -1;
      }
      if (code == 0) break;
      const int t = code - 1;
      const size_t body = q + static_cast<size_t>(ls_);
      if (is_vcl(t)) {
        const bool first = first_in_pic(body, len);
        if (slice && first) break;
        if (!slice && !first) return 0;
        slice = true;
        *key = *key || is_key(t);
      } else if (slice && starts_au(t)) {
        break;
      } else if (!slice && (hevc_ ? t == 34 : t == 8)) {
        if (hevc_) {
          if (auto pps = order::hevc_pps({d_ + body, len})) pending.insert(pps->id);
        } else if (auto ids = h::pps_ids({d_ + body, len})) {
          pending.insert(ids->first);
        }
      }
      q += static_cast<size_t>(ls_) + len;
    }
    if (!slice) return 0;
    *end = q;
    return 1;
  }

  // Whether the (torn) NAL unit at q would begin a new access unit.
  bool starts_new_au(size_t q) const {
    const size_t body = q + static_cast<size_t>(ls_);
    if (body + (hevc_ ? 2 : 1) > n_) return false;
    const int t = type_at(body);
    if (starts_au(t)) return true;
    if (!is_vcl(t)) return false;
    return first_in_pic(body, n_ - body);
  }

  // A NAL unit whose length runs past the end: a torn frame (not garbage).
  bool plausible_start(size_t p) const {
    if (p + static_cast<size_t>(ls_) + 2 > n_) return true;  // too short to tell: treat as torn
    const size_t l = static_cast<size_t>(be(d_ + p, ls_));
    const size_t body = p + static_cast<size_t>(ls_);
    if (l < 1 || l > info_.max_nal || (d_[body] & 0x80)) return false;
    const int t = type_at(body);
    if (hevc_) return (t <= 9 || (t >= 16 && t <= 21) || (t >= 32 && t <= 35) || t == 39) && (d_[body + 1] & 7) != 0;
    return t == 1 || t == 5 || t == 6 || t == 7 || t == 9;
  }

  bool decodes(size_t p, size_t len) {
    avcodec_flush_buffers(dec_.get());
    if (av_new_packet(pkt_.get(), static_cast<int>(len)) < 0) throw IoError("out of memory");
    std::memcpy(pkt_->data, d_ + p, len);
    int ret = avcodec_send_packet(dec_.get(), pkt_.get());
    av_packet_unref(pkt_.get());
    if (ret < 0) return false;
    ret = avcodec_receive_frame(dec_.get(), frame_.get());
    const bool ok = ret == 0 && frame_->nb_samples == info_.aac_frame_size;
    av_frame_unref(frame_.get());
    return ok;
  }

  // 1: an AAC frame of *len bytes at p; 0: none; -1: one cut off by the end.
  int aac_frame(size_t p, size_t* len) {
    const size_t room = n_ - p;
    const size_t hi0 = std::min(room, max_audio_);
    if (!decodes(p, hi0)) return room < max_audio_ ? -1 : 0;
    size_t lo = 1, hi = hi0;  // decodes(hi) holds
    while (lo < hi) {
      const size_t mid = lo + (hi - lo) / 2;
      if (decodes(p, mid)) hi = mid;
      else lo = mid + 1;
    }
    if (hi > 1 && decodes(p, hi - 1)) return 0;
    *len = hi;
    return 1;
  }

  // A PCM run at p. 1: *len bytes up to the next access unit (or exactly the
  // end); -1: a run torn by the end (*len: its whole sample frames); 0: none.
  // The access unit after a PCM run must itself be followed by a sample
  // (`depth` more levels deep; at 0 only the reference's run lengths are
  // tried): PCM near silence can pass for a NAL unit.
  int pcm_run(size_t p, size_t* len, int depth) {
    const size_t block = info_.pcm_block;
    if (block == 0 || max_run_ == 0) return 0;
    size_t end = 0;
    bool key = false;
    auto au_after = [&](size_t l) {
      return p + l == n_ ||
             (p + l < n_ && video_au(p + l, &end, &key) > 0 && (depth <= 0 || follows_well(end, depth - 1)));
    };
    // The reference's run lengths first (the camera writes the same chunks),
    // then any block boundary up to twice the longest.
    for (size_t l : info_.pcm_runs) {
      if (au_after(l)) {
        *len = l;
        return 1;
      }
    }
    for (size_t l : info_.pcm_runs) {  // a whole run before a torn access unit
      if (p + l < n_ && video_au(p + l, &end, &key) < 0 && plausible_start(p + l)) {
        *len = l;
        return 1;
      }
    }
    // (not in a look-ahead: so many places would let noise pass)
    for (size_t l = block; depth > 0 && l <= 2 * max_run_ && p + l <= n_; l += block) {
      if (au_after(l)) {
        *len = l;
        return 1;
      }
    }
    if (n_ - p < 2 * max_run_) {
      *len = (n_ - p) / block * block;
      return -1;
    }
    return 0;
  }

  const uint8_t* d_;
  size_t n_;
  const StreamInfo& info_;
  const Context& ctx_;
  int ls_ = 4;
  bool hevc_ = false;
  std::set<unsigned> pps_;
  media::CodecContextPtr dec_;
  media::PacketPtr pkt_;
  media::FramePtr frame_;
  size_t max_audio_ = 0, max_run_ = 0;
};

}  // namespace

Walk walk(const uint8_t* data, size_t size, const StreamInfo& info, const Context& ctx) {
  Walk w;
  Walker(data, size, info, ctx).run(w);
  return w;
}

}  // namespace nex::cut::salvage_detail
