// nexcut salvage: rebuild a playable MP4 from a recording without its moov.
//
// The media data is walked from the start of the mdat:
//  - video: H.264 access units of length-prefixed NAL units (the length size
//    comes from the reference's avcC). A NAL unit is accepted when its
//    length fits, its header is valid for its type (nal_ref_idc rules) and,
//    for slices, the slice header parses and names a PPS the reference
//    knows. A new access unit starts at a slice with first_mb_in_slice == 0
//    or at an SEI/AUD/SPS/PPS after a slice.
//  - audio (interior camera): raw AAC frames between the video chunks carry
//    no length. A frame's length is the shortest prefix the AAC decoder
//    decodes: one byte less leaves its END element unread, which FFmpeg's
//    decoder rejects ("input buffer exhausted"). Found by bisection.
//  - anything else: skipped up to the next valid access unit (counted).
// The incomplete frame at the end of the file is dropped. Timestamps are
// rebuilt from the reference's frame rate and AAC frame size; the audio gets
// the reference's priming (edit list), so A/V sync matches the camera's.
#include "nex/salvage.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <set>

#include "cut/h264.hpp"
#include "cut/internal.hpp"
#include "nex/camera.hpp"
#include "nex/error.hpp"
#include "nex/mp4.hpp"
#include "nex/naming.hpp"
#include "nex/telemetry.hpp"

namespace nex::cut {

using namespace detail;
namespace h = h264;

ojson SalvageReport::to_json() const {
  ojson j;
  j["input"] = input.string();
  j["output"] = output.string();
  j["reference"] = reference.string();
  j["video_frames"] = video_frames;
  j["keyframes"] = keyframes;
  j["audio_frames"] = audio_frames;
  j["duration_s"] = static_cast<double>(duration_ms) / 1000.0;
  j["media_bytes"] = media_bytes;
  j["used_bytes"] = used_bytes;
  j["tail_bytes"] = tail_bytes;
  j["skipped_bytes"] = skipped_bytes;
  return j;
}

std::optional<fs::path> find_reference(const fs::path& damaged) {
  const auto name = parse_file_name(damaged.filename().string());
  if (!name || name->kind != FileKind::Video) return std::nullopt;
  std::error_code ec;
  std::optional<fs::path> best;
  int64_t best_d = INT64_MAX;
  for (const auto& e : fs::directory_iterator(damaged.parent_path().empty() ? fs::path(".") : damaged.parent_path(), ec)) {
    const auto n = parse_file_name(e.path().filename().string());
    if (!n || n->kind != FileKind::Video || n->tag != name->tag) continue;
    if (fs::equivalent(e.path(), damaged, ec)) continue;
    try {
      if (read_mp4_info(e.path()).state != Mp4State::Ok) continue;
    } catch (const Error&) {
      continue;
    }
    const int64_t d = std::abs(n->time - name->time);
    if (d < best_d) best_d = d, best = e.path();
  }
  return best;
}

namespace {

class Mapped {
 public:
  explicit Mapped(const fs::path& p) {
    fd_ = ::open(p.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd_ < 0) throw IoError(p.string() + ": " + errno_text(errno));
    struct stat st {};
    if (::fstat(fd_, &st) != 0) throw IoError(p.string() + ": " + errno_text(errno));
    size_ = static_cast<size_t>(st.st_size);
    if (size_ == 0) throw InputError(p.string() + " is empty (0 bytes): nothing to salvage");
    void* m = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd_, 0);
    if (m == MAP_FAILED) throw IoError(p.string() + ": mmap: " + errno_text(errno));
    data_ = static_cast<const uint8_t*>(m);
  }
  ~Mapped() {
    if (data_) ::munmap(const_cast<uint8_t*>(data_), size_);
    if (fd_ >= 0) ::close(fd_);
  }
  Mapped(const Mapped&) = delete;
  Mapped& operator=(const Mapped&) = delete;
  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }

 private:
  int fd_ = -1;
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

uint64_t be(const uint8_t* p, int n) {
  uint64_t v = 0;
  for (int i = 0; i < n; ++i) v = v << 8 | p[i];
  return v;
}

struct Sample {
  size_t off = 0, size = 0;
  bool key = false;
};

struct Reference {
  CodecParPtr vpar, apar;
  AVRational vtb{1, 90000}, atb{1, 48000};
  int64_t frame_dur = 3000;
  int64_t priming = 0;
  int frame_size = 1024;
  size_t max_nal = 0;
  std::string make, model;
};

Reference load_reference(const fs::path& file) {
  Reference r;
  auto in = open_source(file, LocalTime{});
  AVStream* vs = in->vst();
  if (vs->codecpar->codec_id != AV_CODEC_ID_H264) throw InputError(file.string() + ": reference video is not H.264");
  r.vpar.reset(avcodec_parameters_alloc());
  if (!r.vpar) throw IoError("out of memory");
  media::check_av_io(avcodec_parameters_copy(r.vpar.get(), vs->codecpar), "codec parameters");
  r.vtb = vs->time_base;
  r.frame_dur = std::max<int64_t>(1, av_rescale_q(1, av_inv_q(in->fps), r.vtb));
  if (in->frames.size() > 1) r.frame_dur = in->frames[1].ts - in->frames[0].ts;
  size_t max_sample = 0;
  for (int k = 0; k < avformat_index_get_entries_count(vs); ++k)
    if (const AVIndexEntry* e = avformat_index_get_entry(vs, k)) max_sample = std::max<size_t>(max_sample, static_cast<size_t>(e->size));
  r.max_nal = std::max<size_t>(4 * max_sample, 2u << 20);
  r.make = in->make;
  r.model = in->model;
  if (in->a >= 0) {
    AVStream* as = in->fmt->streams[in->a];
    if (as->codecpar->codec_id != AV_CODEC_ID_AAC) throw InputError(file.string() + ": reference audio is not AAC");
    r.apar.reset(avcodec_parameters_alloc());
    if (!r.apar) throw IoError("out of memory");
    media::check_av_io(avcodec_parameters_copy(r.apar.get(), as->codecpar), "codec parameters");
    r.atb = {1, as->codecpar->sample_rate};
    if (as->codecpar->frame_size > 0) r.frame_size = as->codecpar->frame_size;
    // Priming: the first packet's negative time or its skip-samples side data.
    as->discard = AVDISCARD_DEFAULT;
    vs->discard = AVDISCARD_ALL;
    media::PacketPtr pkt(av_packet_alloc());
    if (!pkt) throw IoError("out of memory");
    av_seek_frame(in->fmt.get(), in->a, INT64_MIN, AVSEEK_FLAG_BACKWARD | AVSEEK_FLAG_ANY);
    while (av_read_frame(in->fmt.get(), pkt.get()) >= 0) {
      if (pkt->stream_index != in->a) {
        av_packet_unref(pkt.get());
        continue;
      }
      const int64_t pts = av_rescale_q(pkt->pts, as->time_base, r.atb);
      size_t sz = 0;
      const uint8_t* sd = av_packet_get_side_data(pkt.get(), AV_PKT_DATA_SKIP_SAMPLES, &sz);
      if (pts < 0) r.priming = -pts;
      else if (sd && sz >= 4) r.priming = static_cast<int64_t>(sd[0] | sd[1] << 8 | sd[2] << 16 | uint32_t(sd[3]) << 24);
      av_packet_unref(pkt.get());
      break;
    }
  }
  return r;
}

class Walker {
 public:
  Walker(const uint8_t* d, size_t n, const Reference& ref, const Context& ctx) : d_(d), n_(n), ref_(ref), ctx_(ctx) {
    auto c = h::parse_avcc({ref.vpar->extradata, static_cast<size_t>(ref.vpar->extradata_size)});
    if (!c) throw InputError("the reference's H.264 parameters are not an avcC record");
    ls_ = c->length_size;
    for (const auto& p : c->pps)
      if (auto ids = h::pps_ids(p)) pps_.insert(ids->first);
    if (ref.apar) {
      const AVCodec* dc = avcodec_find_decoder(AV_CODEC_ID_AAC);
      if (!dc) throw IoError("FFmpeg has no AAC decoder");
      dec_.reset(avcodec_alloc_context3(dc));
      if (!dec_) throw IoError("out of memory");
      media::check_av_io(avcodec_parameters_to_context(dec_.get(), ref.apar.get()), "audio parameters");
      media::check_av_io(avcodec_open2(dec_.get(), dc, nullptr), "open AAC decoder");
      max_audio_ = static_cast<size_t>(768 * std::max(1, ref.apar->ch_layout.nb_channels) + 64);
      pkt_.reset(av_packet_alloc());
      frame_.reset(av_frame_alloc());
      if (!pkt_ || !frame_) throw IoError("out of memory");
    }
  }

  void run(SalvageReport& rep) {
    size_t p = 0, steps = 0;
    while (p < n_) {
      if ((++steps & 255) == 0) ctx_.check_interrupt();
      size_t end = 0;
      bool key = false;
      const int v = video_au(p, &end, &key);
      if (v > 0) {
        video.push_back({p, end - p, key});
        p = end;
        continue;
      }
      if (v < 0) break;  // torn access unit at the end
      if (dec_) {
        size_t len = 0;
        const int a = audio_frame(p, &len);
        if (a > 0) {
          audio.push_back({p, len, true});
          p += len;
          continue;
        }
        if (a < 0) break;  // torn audio frame at the end
      }
      // Unrecognised bytes: resynchronise on the next access unit.
      size_t q = p + 1;
      while (q < n_ && video_au(q, &end, &key) <= 0) ++q;
      ctx_.log->warn("skipped {} unrecognised bytes at media offset {}", q - p, p);
      rep.skipped_bytes += q - p;
      p = q;
    }
    rep.tail_bytes = n_ - std::min(n_, p);
  }

  std::vector<Sample> video, audio;

 private:
  // >0: one NAL type; 0: not a NAL unit here; -1: a plausible NAL unit cut off by the end.
  int nal_at(size_t q, size_t* len) const {
    if (q + static_cast<size_t>(ls_) + 1 > n_) return q < n_ ? -1 : 0;
    const size_t l = static_cast<size_t>(be(d_ + q, ls_));
    if (l < 1 || l > ref_.max_nal) return 0;
    const uint8_t hdr = d_[q + static_cast<size_t>(ls_)];
    if (hdr & 0x80) return 0;
    const int type = hdr & 0x1F, ref_idc = hdr >> 5 & 3;
    const size_t body = q + static_cast<size_t>(ls_);
    const size_t avail = std::min(l, n_ - body);
    switch (type) {
      case 1:
      case 5: {
        if (type == 5 && ref_idc == 0) return 0;
        auto sh = h::slice_head({d_ + body, std::min<size_t>(avail, 16)});
        if (!sh || !pps_.count(sh->pps_id)) return 0;
        break;
      }
      case 6:
      case 9:
      case 12:
        if (ref_idc != 0) return 0;
        if (type == 9 && l != 2) return 0;
        break;
      case 7:
      case 8:
        if (ref_idc == 0) return 0;
        break;
      default: return 0;
    }
    if (body + l > n_) return -1;
    *len = l;
    return type;
  }

  // 1: an access unit [p, *end); 0: none here; -1: one cut off by the end.
  int video_au(size_t p, size_t* end, bool* key) const {
    size_t q = p;
    bool slice = false;
    *key = false;
    for (;;) {
      size_t len = 0;
      const int t = nal_at(q, &len);
      if (t == -1) {
        if (q == p) return plausible_start(p) ? -1 : 0;
        if (slice && starts_new_au(q)) break;  // this access unit is whole; the next one is torn
        return -1;
      }
      if (t == 0) break;
      if (t == 1 || t == 5) {
        auto sh = h::slice_head({d_ + q + static_cast<size_t>(ls_), std::min<size_t>(len, 16)});
        if (slice && sh->first_mb == 0) break;
        if (!slice && sh->first_mb != 0) return 0;
        slice = true;
        *key = *key || t == 5;
      } else if (slice) {
        break;
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
    if (body >= n_) return false;
    const int type = d_[body] & 0x1F;
    if (type == 6 || type == 7 || type == 8 || type == 9) return true;
    if (type != 1 && type != 5) return false;
    auto sh = h::slice_head({d_ + body, std::min<size_t>(n_ - body, 16)});
    return sh && sh->first_mb == 0;
  }

  // A NAL unit whose length runs past the end: a torn frame (not garbage).
  bool plausible_start(size_t p) const {
    if (p + static_cast<size_t>(ls_) + 2 > n_) return true;  // too short to tell: treat as torn
    const size_t l = static_cast<size_t>(be(d_ + p, ls_));
    const uint8_t hdr = d_[p + static_cast<size_t>(ls_)];
    const int type = hdr & 0x1F;
    return l >= 1 && l <= ref_.max_nal && !(hdr & 0x80) && (type == 1 || type == 5 || type == 6 || type == 9);
  }

  bool decodes(size_t p, size_t len) {
    avcodec_flush_buffers(dec_.get());
    if (av_new_packet(pkt_.get(), static_cast<int>(len)) < 0) throw IoError("out of memory");
    std::memcpy(pkt_->data, d_ + p, len);
    int ret = avcodec_send_packet(dec_.get(), pkt_.get());
    av_packet_unref(pkt_.get());
    if (ret < 0) return false;
    ret = avcodec_receive_frame(dec_.get(), frame_.get());
    const bool ok = ret == 0 && frame_->nb_samples == ref_.frame_size;
    av_frame_unref(frame_.get());
    return ok;
  }

  // 1: an AAC frame of *len bytes at p; 0: none; -1: one cut off by the end.
  int audio_frame(size_t p, size_t* len) {
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

  const uint8_t* d_;
  size_t n_;
  const Reference& ref_;
  const Context& ctx_;
  int ls_ = 4;
  std::set<unsigned> pps_;
  media::CodecContextPtr dec_;
  media::PacketPtr pkt_;
  media::FramePtr frame_;
  size_t max_audio_ = 0;
};

}  // namespace

SalvageReport salvage(const SalvageOptions& o, const Context& ctx) {
  SalvageReport rep;
  rep.input = o.input;
  rep.output = o.output;
  std::error_code ec;
  if (!fs::is_regular_file(o.input, ec)) throw InputError("no such file: " + o.input.string());
  check_output(o.output, o.overwrite);
  if (fs::equivalent(o.input, o.output, ec)) throw UsageError("the output would overwrite the damaged file");

  const Mapped m(o.input);
  // Top-level boxes: find the mdat (and refuse files that still have a moov).
  size_t off = 0, mdat = SIZE_MAX, mdat_end = 0;
  bool moov = false;
  while (off + 8 <= m.size()) {
    uint64_t size = be(m.data() + off, 4);
    size_t header = 8;
    if (size == 1) {
      if (off + 16 > m.size()) break;
      size = be(m.data() + off + 8, 8);
      header = 16;
    }
    const bool to_end = size == 0 || off + size > m.size();
    if (!to_end && size < header) break;
    if (std::memcmp(m.data() + off + 4, "moov", 4) == 0) moov = true;
    if (std::memcmp(m.data() + off + 4, "mdat", 4) == 0 && mdat == SIZE_MAX) {
      mdat = off + header;
      mdat_end = to_end ? m.size() : static_cast<size_t>(off + size);
    }
    if (to_end) break;
    off += static_cast<size_t>(size);
  }
  if (mdat == SIZE_MAX) throw InputError(o.input.string() + ": no media data (mdat box) found", "is it an MP4 recording?");
  if (moov)
    throw InputError(o.input.string() + " is not truncated: it still has its moov index",
                     "it should play as it is; 'nexls --check' reports other problems");

  std::optional<fs::path> ref_path = o.reference;
  if (!ref_path) ref_path = find_reference(o.input);
  if (!ref_path)
    throw InputError("no healthy recording of the same camera next to " + o.input.string(),
                     "give one with --reference FILE (same camera, same settings)");
  rep.reference = *ref_path;
  const Reference ref = load_reference(*ref_path);
  ctx.log->info("reference: {}", ref_path->string());

  rep.media_bytes = mdat_end - mdat;
  Walker w(m.data() + mdat, mdat_end - mdat, ref, ctx);
  w.run(rep);
  if (w.video.empty()) throw InputError(o.input.string() + ": no complete video frame found");
  for (const auto& s : w.video) rep.used_bytes += s.size, rep.keyframes += s.key;
  for (const auto& s : w.audio) rep.used_bytes += s.size;
  // The reference must describe this stream: its first keyframe has to decode
  // with the reference's parameter sets.
  {
    const AVCodec* dc = avcodec_find_decoder(AV_CODEC_ID_H264);
    media::CodecContextPtr dec(dc ? avcodec_alloc_context3(dc) : nullptr);
    if (!dec) throw IoError("FFmpeg has no H.264 decoder");
    media::check_av_io(avcodec_parameters_to_context(dec.get(), ref.vpar.get()), "video parameters");
    dec->err_recognition = AV_EF_EXPLODE;
    media::check_av_io(avcodec_open2(dec.get(), dc, nullptr), "open H.264 decoder");
    auto key = std::find_if(w.video.begin(), w.video.end(), [](const Sample& s) { return s.key; });
    bool ok = false;
    if (key != w.video.end()) {
      media::PacketPtr pkt(av_packet_alloc());
      media::FramePtr f(av_frame_alloc());
      if (!pkt || !f) throw IoError("out of memory");
      media::check_av_io(av_new_packet(pkt.get(), static_cast<int>(key->size)), "packet");
      std::memcpy(pkt->data, m.data() + mdat + key->off, key->size);
      pkt->flags = AV_PKT_FLAG_KEY;
      ok = avcodec_send_packet(dec.get(), pkt.get()) >= 0 && avcodec_send_packet(dec.get(), nullptr) >= 0 &&
           avcodec_receive_frame(dec.get(), f.get()) >= 0 && f->width == ref.vpar->width &&
           f->height == ref.vpar->height;
    }
    if (!ok)
      throw InputError(o.input.string() + " does not decode with the parameters of " + ref_path->string(),
                       "give --reference a healthy recording of the same camera");
  }
  if (!w.video.front().key)
    ctx.log->warn("the first recovered frame is not a keyframe: players show it only from the first keyframe");

  Muxer mux(o.output, o.overwrite);
  AVRational fps = av_inv_q(av_make_q(static_cast<int>(ref.frame_dur), ref.vtb.den));
  av_reduce(&fps.num, &fps.den, fps.num, fps.den, 1 << 20);
  mux.add_stream(ref.vpar.get(), ref.vtb, fps);
  if (ref.apar && !w.audio.empty()) mux.add_stream(ref.apar.get(), ref.atb);
  MuxMeta meta;
  const auto name = parse_file_name(o.input.filename().string());
  if (name) meta.start = name->time;
  try {
    const fs::path card = fs::absolute(o.input).parent_path().parent_path();
    if (fs::exists(card / "camera.yaml", ec)) meta.utc_offset_min = load_camera_yaml(card).utc_offset_min;
    if (name) {
      const fs::path gps = o.input.parent_path() / (instant_key(name->time) + ".gps");
      if (fs::exists(gps, ec)) {
        auto fixes = parse_nmea(read_file(gps));
        if (!fixes.empty()) meta.lat = fixes.front().lat, meta.lon = fixes.front().lon;
      }
    }
  } catch (const Error&) {
  }
  meta.make = ref.make;
  meta.model = ref.model;
  meta.comment = "nexcut salvage of " + o.input.filename().string();
  mux.start(meta, static_cast<int64_t>(w.video.size() + w.audio.size()));

  media::PacketPtr pkt(av_packet_alloc());
  if (!pkt) throw IoError("out of memory");
  size_t vi = 0, ai = 0;
  const bool with_audio = ref.apar && !w.audio.empty();
  const uint8_t* base = m.data() + mdat;
  // In file order, as the camera interleaved them.
  while (vi < w.video.size() || (with_audio && ai < w.audio.size())) {
    const bool take_video =
        vi < w.video.size() && (!with_audio || ai >= w.audio.size() || w.video[vi].off < w.audio[ai].off);
    const Sample& s = take_video ? w.video[vi] : w.audio[ai];
    media::check_av_io(av_new_packet(pkt.get(), static_cast<int>(s.size)), "packet");
    std::memcpy(pkt->data, base + s.off, s.size);
    if (take_video) {
      pkt->pts = pkt->dts = static_cast<int64_t>(vi) * ref.frame_dur;
      pkt->duration = ref.frame_dur;
      pkt->flags = s.key ? AV_PKT_FLAG_KEY : 0;
      mux.write(pkt.get(), 0);
      ++vi;
    } else {
      pkt->pts = pkt->dts = static_cast<int64_t>(ai) * ref.frame_size - ref.priming;
      pkt->duration = ref.frame_size;
      pkt->flags = AV_PKT_FLAG_KEY;
      mux.write(pkt.get(), 1);
      ++ai;
    }
    av_packet_unref(pkt.get());
  }
  mux.finish();
  rep.video_frames = static_cast<int64_t>(w.video.size());
  rep.audio_frames = with_audio ? static_cast<int64_t>(w.audio.size()) : 0;
  rep.duration_ms = av_rescale_q(rep.video_frames * ref.frame_dur, ref.vtb, {1, 1000});
  return rep;
}

}  // namespace nex::cut
