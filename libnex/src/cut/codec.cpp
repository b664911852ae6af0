// Decoding, encoding, packet copying, the clip's audio and the MP4 writer.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstring>

extern "C" {
#include <libavutil/channel_layout.h>
#include <libavutil/opt.h>
}

#include "cut/h264.hpp"
#include "cut/internal.hpp"
#include "nex/error.hpp"

namespace nex::cut::detail {

// --- FrameReader -------------------------------------------------------------

FrameReader::FrameReader(std::vector<Range> ranges, bool keys_only, const Context& ctx)
    : ranges_(std::move(ranges)), keys_only_(keys_only), ctx_(ctx) {
  pkt_.reset(av_packet_alloc());
  frame_.reset(av_frame_alloc());
  if (!pkt_ || !frame_) throw IoError("out of memory");
}

FrameReader::~FrameReader() = default;

// Decoding starts at the keyframe at or before the range's first frame (in
// display order: a frame shown after an open-GOP I-frame decodes from it;
// one of its leading pictures, shown before it, from the keyframe before),
// and packets are fed in decode order up to the last one any frame of the
// range needs; frames come out in display order.
void FrameReader::start_range() {
  const Range& r = ranges_[cur_];
  Input& in = *r.piece->in;
  AVStream* st = in.vst();
  const AVCodec* codec = avcodec_find_decoder(st->codecpar->codec_id);
  if (!codec) {
    char tag[AV_FOURCC_MAX_STRING_SIZE] = {};
    av_fourcc_make_string(tag, st->codecpar->codec_tag);
    const std::string what = st->codecpar->codec_id != AV_CODEC_ID_NONE ? avcodec_get_name(st->codecpar->codec_id)
                                                                       : std::string("'") + tag + "'";
    throw InputError(in.file.string() + ": this FFmpeg has no decoder for its video (" + what + ")");
  }
  dec_.reset(avcodec_alloc_context3(codec));
  if (!dec_) throw IoError("out of memory");
  media::check_av(avcodec_parameters_to_context(dec_.get(), st->codecpar), in.file.string() + ": decoder parameters");
  dec_->pkt_timebase = st->time_base;
  dec_->thread_count = 2;
  dec_->thread_type = FF_THREAD_FRAME | FF_THREAD_SLICE;
  if (keys_only_) dec_->skip_frame = AVDISCARD_NONKEY;
  media::check_av(avcodec_open2(dec_.get(), codec, nullptr), in.file.string() + ": open decoder");
  size_t k = r.from;
  while (k > 0 && !in.frames[k].key) --k;
  // An open-GOP keyframe whose leading pictures are wanted: start one GOP earlier.
  while (k > 0 && in.frames[k].dec > in.frames[r.from].dec) {
    --k;
    while (k > 0 && !in.frames[k].key) --k;
  }
  feed_dec_ = in.frames[k].dec;
  last_dec_ = in.max_dec(r.from, r.to);
  // Pictures decoded only to reach the range (from the keyframe) that no
  // other picture refers to are not fed at all: with B-frames, a good part of
  // the GOP before a cut. HEVC only with one temporal sub-layer (hvcC), where
  // a sub-layer non-reference picture is one for every picture.
  const AVCodecParameters* cp = st->codecpar;
  skip_nonref_ = 0;
  if (!keys_only_ && in.reorder && in.nal_length_size > 0) {
    if (cp->codec_id == AV_CODEC_ID_H264) skip_nonref_ = 1;
    else if (cp->codec_id == AV_CODEC_ID_HEVC && cp->extradata_size > 22 && ((cp->extradata[21] >> 3) & 7) == 1)
      skip_nonref_ = 2;
  }
  media::check_av(av_seek_frame(in.fmt.get(), in.v, in.seek_ts(k), AVSEEK_FLAG_BACKWARD),
                  in.file.string() + ": seek");
  started_ = true;
  flushing_ = false;
}

AVFrame* FrameReader::next(int64_t* out_ts, size_t* index) {
  av_frame_unref(frame_.get());
  for (;;) {
    if (cur_ >= ranges_.size()) return nullptr;
    if (!started_) start_range();
    const Range& r = ranges_[cur_];
    Input& in = *r.piece->in;
    const int64_t lo = in.frames[r.from].ts, hi = in.frames[r.to].ts;
    int ret = avcodec_receive_frame(dec_.get(), frame_.get());
    if (ret == 0) {
      int64_t ts = frame_->pts;
      if (ts == AV_NOPTS_VALUE) ts = frame_->best_effort_timestamp;
      if (ts != AV_NOPTS_VALUE && ts >= lo && ts <= hi) {
        auto it = std::lower_bound(in.frames.begin(), in.frames.end(), ts,
                                   [](const FrameEntry& e, int64_t t) { return e.ts < t; });
        if (it != in.frames.end() && it->ts == ts) {
          *out_ts = r.piece->out_ts(ts);
          if (index) *index = static_cast<size_t>(it - in.frames.begin());
          return frame_.get();
        }
      }
      av_frame_unref(frame_.get());
      continue;
    }
    if (ret == AVERROR_EOF) {
      ++cur_;
      started_ = false;
      dec_.reset();
      continue;
    }
    if (ret != AVERROR(EAGAIN)) {
      if (ret == AVERROR_INVALIDDATA) continue;
      media::throw_av(ret, in.file.string() + ": decode");
    }
    if (flushing_) throw InputError(in.file.string() + ": decoder stalled");
    ctx_.check_interrupt();
    // Feed the next packet of the range (or flush after the last one needed).
    for (;;) {
      if (feed_dec_ > last_dec_) {
        ret = AVERROR_EOF;
        break;
      }
      ret = av_read_frame(in.fmt.get(), pkt_.get());
      if (ret == AVERROR_EOF) break;
      if (ret < 0) media::throw_av(ret, in.file.string() + ": read");
      if (pkt_->stream_index != in.v) {
        av_packet_unref(pkt_.get());
        continue;
      }
      if (!(pkt_->flags & AV_PKT_FLAG_DISCARD)) {  // (hidden by the edit list: fed, not indexed)
        // The decode position from the packet's dts (a seek may land on an
        // earlier keyframe than asked).
        const int64_t dts = pkt_->dts != AV_NOPTS_VALUE ? pkt_->dts : pkt_->pts;
        auto it = std::lower_bound(in.decode.begin(), in.decode.end(), dts,
                                   [&](uint32_t i, int64_t t) { return in.frames[i].dts < t; });
        if (it != in.decode.end() && in.frames[*it].dts == dts) feed_dec_ = static_cast<size_t>(it - in.decode.begin()) + 1;
        else ++feed_dec_;
      }
      if (keys_only_ && !(pkt_->flags & AV_PKT_FLAG_KEY)) {
        av_packet_unref(pkt_.get());
        continue;
      }
      if (skip_nonref_ && pkt_->pts != AV_NOPTS_VALUE && (pkt_->pts < lo || pkt_->pts > hi) &&
          h264::non_reference({pkt_->data, static_cast<size_t>(pkt_->size)}, in.nal_length_size, skip_nonref_ == 2)) {
        av_packet_unref(pkt_.get());
        continue;
      }
      break;
    }
    if (ret == AVERROR_EOF) {
      flushing_ = true;
      media::check_av(avcodec_send_packet(dec_.get(), nullptr), in.file.string() + ": decode");
      continue;
    }
    ret = avcodec_send_packet(dec_.get(), pkt_.get());
    av_packet_unref(pkt_.get());
    if (ret < 0 && ret != AVERROR_INVALIDDATA && ret != AVERROR(EAGAIN))
      media::throw_av(ret, in.file.string() + ": decode");
  }
}

// The packets of a range in decode order, from its first frame (a keyframe)
// to the last packet any of its frames needs; leading pictures of that
// keyframe (shown before it) are left out. The range must end at a clean
// cut point (Input::clean_ends): a packet shown after it would be an error.
void copy_packets(const std::vector<Range>& ranges, const Context& ctx, const std::function<void(AVPacket*)>& sink) {
  media::PacketPtr pkt(av_packet_alloc());
  if (!pkt) throw IoError("out of memory");
  for (const Range& r : ranges) {
    Input& in = *r.piece->in;
    const FrameEntry& k = in.frames[r.from];
    const int64_t lo = k.ts, hi = in.frames[r.to].ts;
    const size_t last = in.max_dec(r.from, r.to);
    media::check_av(av_seek_frame(in.fmt.get(), in.v, in.seek_ts(r.from), AVSEEK_FLAG_BACKWARD), in.file.string() + ": seek");
    size_t n = 0, d = k.dec;
    bool started = false;
    while (d <= last) {
      const int ret = av_read_frame(in.fmt.get(), pkt.get());
      if (ret == AVERROR_EOF) break;
      if (ret < 0) media::throw_av(ret, in.file.string() + ": read");
      if (pkt->stream_index != in.v || (pkt->flags & AV_PKT_FLAG_DISCARD)) {
        av_packet_unref(pkt.get());
        continue;
      }
      const int64_t dts = pkt->dts != AV_NOPTS_VALUE ? pkt->dts : pkt->pts;
      if (!started) {
        if (dts < k.dts) {  // the seek landed on an earlier keyframe
          av_packet_unref(pkt.get());
          continue;
        }
        if (dts != k.dts) throw InputError(in.file.string() + ": cannot seek to the keyframe at " + std::to_string(k.ts));
        started = true;
      }
      ++d;
      const int64_t ts = pkt->pts != AV_NOPTS_VALUE ? pkt->pts : dts;
      if (ts > hi) throw IoError(in.file.string() + ": internal: copy would end inside a reordered group");
      if (ts >= lo) {
        auto it = std::lower_bound(in.frames.begin(), in.frames.end(), ts,
                                   [](const FrameEntry& e, int64_t t) { return e.ts < t; });
        const size_t idx = static_cast<size_t>(it - in.frames.begin());
        pkt->pts = r.piece->out_ts(ts);
        pkt->dts = AV_NOPTS_VALUE;  // given by the writer (one decode timeline for the clip)
        pkt->duration = r.piece->out_span(in.end_ts(idx) - in.frames[idx].ts);
        pkt->pos = -1;
        pkt->stream_index = 0;
        sink(pkt.get());
        ++n;
        if ((n & 63) == 0) ctx.check_interrupt();
      }
      av_packet_unref(pkt.get());
    }
    if (n != r.to - r.from + 1)
      throw InputError(in.file.string() + ": expected " + std::to_string(r.to - r.from + 1) + " frames, read " +
                       std::to_string(n), "the file may be damaged; try 'nexls --check'");
  }
}

// --- x264 / x265 -------------------------------------------------------------

namespace {

// An encoder context of `name` (libx264, libx265) set up from `s`: what both
// encoders take the same way. The caller adds the encoder's private options.
media::CodecContextPtr video_encoder(const char* name, const EncoderSetup& s, const AVCodec** codec) {
  media::quiet_ffmpeg_logs();
  const AVCodec* vc = avcodec_find_encoder_by_name(name);
  if (!vc)
    throw IoError(std::string("FFmpeg has no ") + name + " encoder",
                  std::string("install libavcodec with ") + name + " (Debian: libavcodec59)");
  media::CodecContextPtr c(avcodec_alloc_context3(vc));
  if (!c) throw IoError("out of memory");
  c->width = s.width;
  c->height = s.height;
  c->pix_fmt = s.pix_fmt;
  c->time_base = s.time_base;
  c->framerate = s.fps;
  c->sample_aspect_ratio = s.sar;
  c->gop_size = s.gop;
  c->max_b_frames = 0;
  c->color_range = s.range;
  c->colorspace = s.space;
  c->color_primaries = s.primaries;
  c->color_trc = s.trc;
  c->thread_count = s.threads;
  if (s.bitrate > 0) c->bit_rate = s.bitrate;
  av_opt_set(c->priv_data, "preset", s.preset.c_str(), 0);
  if (s.bitrate <= 0) av_opt_set_double(c->priv_data, "crf", s.crf, 0);
  av_opt_set_int(c->priv_data, "forced-idr", 1, 0);
  *codec = vc;
  return c;
}

}  // namespace

media::CodecContextPtr open_x264(const EncoderSetup& s) {
  const AVCodec* vc = nullptr;
  media::CodecContextPtr c = video_encoder("libx264", s, &vc);
  c->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
  if (!s.profile.empty()) av_opt_set(c->priv_data, "profile", s.profile.c_str(), 0);
  if (!s.level.empty()) av_opt_set(c->priv_data, "level", s.level.c_str(), 0);
  if (!s.params.empty()) av_opt_set(c->priv_data, "x264-params", s.params.c_str(), 0);
  media::check_av_io(avcodec_open2(c.get(), vc, nullptr), "open libx264 (preset " + s.preset + ")");
  return c;
}

media::CodecContextPtr open_x265(const EncoderSetup& s) {
  const AVCodec* vc = nullptr;
  media::CodecContextPtr c = video_encoder("libx265", s, &vc);
  if (!s.inband) c->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;  // hvcC in the sample entry (hvc1)
  std::string params = "log-level=error";
  if (!s.profile.empty()) params += ":profile=" + s.profile;
  if (!s.level.empty()) params += ":level-idc=" + s.level;  // 10 x the level
  if (!s.params.empty()) params += ":" + s.params;
  av_opt_set(c->priv_data, "x265-params", params.c_str(), 0);
  media::check_av_io(avcodec_open2(c.get(), vc, nullptr), "open libx265 (preset " + s.preset + ")");
  return c;
}

media::CodecContextPtr open_encoder(const EncoderSetup& s, const std::string& codec) {
  if (codec == "hevc") return open_x265(s);
  return open_x264(s);
}

void encode(AVCodecContext* enc, AVFrame* frame, const std::function<void(AVPacket*)>& sink) {
  media::check_av_io(avcodec_send_frame(enc, frame), "encode");
  media::PacketPtr pkt(av_packet_alloc());
  if (!pkt) throw IoError("out of memory");
  for (;;) {
    const int ret = avcodec_receive_packet(enc, pkt.get());
    if (ret == AVERROR(EAGAIN) || ret == AVERROR_EOF) return;
    media::check_av_io(ret, "encode");
    sink(pkt.get());
    av_packet_unref(pkt.get());
  }
}

// --- audio -----------------------------------------------------------------------

std::vector<AudioSpan> audio_spans(const Plan& plan) {
  std::vector<AudioSpan> v;
  for (const auto& p : plan.pieces)
    v.push_back({p.in->media, p.in->vtb, plan.vtb(), p.in->frames[p.first].ts, p.out_offset, p.out_offset + p.duration()});
  return v;
}

namespace {

struct FifoDeleter {
  void operator()(AVAudioFifo* f) const noexcept { av_audio_fifo_free(f); }
};

}  // namespace

bool is_pcm(AVCodecID id) { return id >= AV_CODEC_ID_PCM_S16LE && id < AV_CODEC_ID_ADPCM_IMA_QT; }

bool quicktime_output(const fs::path& out) {
  std::string e = out.extension().string();
  for (char& c : e) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return e == ".mov";
}

AVCodecID kept_pcm(const Plan& plan) {
  AVCodecID id = AV_CODEC_ID_NONE;
  for (const Piece& p : plan.pieces) {
    if (p.in->a < 0) return AV_CODEC_ID_NONE;  // a segment without sound: silence, encoded as AAC
    const AVCodecID a = p.in->fmt->streams[p.in->a]->codecpar->codec_id;
    if (!is_pcm(a) || (id != AV_CODEC_ID_NONE && a != id)) return AV_CODEC_ID_NONE;
    id = a;
  }
  return id;
}

EncodedAudio build_audio(const std::vector<AudioSpan>& spans, const Context& ctx, AVCodecID pcm) {
  EncodedAudio out;
  if (spans.empty()) return out;
  media::CodecContextPtr enc;
  std::unique_ptr<AVAudioFifo, FifoDeleter> fifo;
  int rate = 0, channels = 0;
  // The samples' format between decoder and encoder: AAC's planar float, or
  // kept PCM's: the source's codec, whose encoder takes the samples its
  // decoder gives (s16 for sowt/twos, s32 for 24-bit lpcm), unchanged.
  AVSampleFormat fmt = AV_SAMPLE_FMT_FLTP;
  const AVCodec* pcm_enc = nullptr;
  if (pcm != AV_CODEC_ID_NONE) {
    pcm_enc = avcodec_find_encoder(pcm);
    if (!pcm_enc || !pcm_enc->sample_fmts) throw IoError(std::string("FFmpeg has no ") + avcodec_get_name(pcm) + " encoder");
    fmt = pcm_enc->sample_fmts[0];
  }
  int64_t pts = 0;
  media::FramePtr ef(av_frame_alloc());
  media::FramePtr df(av_frame_alloc());
  media::PacketPtr pkt(av_packet_alloc());
  if (!ef || !df || !pkt) throw IoError("out of memory");

  auto collect = [&](AVPacket* p) {
    media::PacketPtr c(av_packet_clone(p));
    if (!c) throw IoError("out of memory");
    out.packets.push_back(std::move(c));
  };
  auto encode_from_fifo = [&](bool last) {
    const int fs = enc->frame_size > 0 ? enc->frame_size : 1024;
    while (av_audio_fifo_size(fifo.get()) >= fs || (last && av_audio_fifo_size(fifo.get()) > 0)) {
      const int n = std::min(fs, av_audio_fifo_size(fifo.get()));
      av_frame_unref(ef.get());
      ef->nb_samples = n;
      ef->format = enc->sample_fmt;
      ef->sample_rate = rate;
      media::check_av_io(av_channel_layout_copy(&ef->ch_layout, &enc->ch_layout), "channel layout");
      media::check_av_io(av_frame_get_buffer(ef.get(), 0), "audio buffer");
      if (av_audio_fifo_read(fifo.get(), reinterpret_cast<void**>(ef->data), n) != n)
        throw IoError("audio buffer underrun");
      ef->pts = pts;
      pts += n;
      encode(enc.get(), ef.get(), collect);
    }
  };
  // Pointers to sample `off` of a frame in `fmt` (one per channel if planar).
  auto at = [&](uint8_t* const* data, int64_t off) {
    const bool planar = av_sample_fmt_is_planar(fmt) != 0;
    const int64_t step = av_get_bytes_per_sample(fmt) * (planar ? 1 : channels);
    std::vector<void*> planes(planar ? static_cast<size_t>(channels) : 1);
    for (size_t c = 0; c < planes.size(); ++c) planes[c] = data[c] + off * step;
    return planes;
  };
  auto silence = [&](int64_t n) {
    std::vector<uint8_t> zeros(static_cast<size_t>(4096 * channels * av_get_bytes_per_sample(fmt)));
    std::vector<uint8_t*> data(static_cast<size_t>(channels), nullptr);
    av_samples_fill_arrays(data.data(), nullptr, zeros.data(), channels, 4096, fmt, 1);
    av_samples_set_silence(data.data(), 0, 4096, channels, fmt);
    std::vector<void*> planes = at(data.data(), 0);
    while (n > 0) {
      const int k = static_cast<int>(std::min<int64_t>(n, 4096));
      av_audio_fifo_write(fifo.get(), planes.data(), k);
      n -= k;
      encode_from_fifo(false);
    }
  };

  for (const AudioSpan& s : spans) {
    ctx.check_interrupt();
    media::InputFormatPtr in = open_media(s.media, false);
    int ai = -1;
    for (unsigned i = 0; i < in->nb_streams; ++i) {
      if (in->streams[i]->codecpar->codec_type == AVMEDIA_TYPE_AUDIO && ai < 0) ai = static_cast<int>(i);
      else in->streams[i]->discard = AVDISCARD_ALL;
    }
    if (ai < 0) {
      if (!enc) return out;  // no audio in this footage
      ctx.log->warn("{} has no audio: silence in its place", s.media.file.filename().string());
      const int64_t n = av_rescale_q(s.out_to, s.otb, {1, rate}) - av_rescale_q(s.out_from, s.otb, {1, rate});
      silence(n);
      continue;
    }
    AVStream* st = in->streams[ai];
    const AVCodec* dc = avcodec_find_decoder(st->codecpar->codec_id);
    if (!dc) throw InputError(s.media.file.string() + ": no audio decoder");
    media::CodecContextPtr dec(avcodec_alloc_context3(dc));
    if (!dec) throw IoError("out of memory");
    media::check_av(avcodec_parameters_to_context(dec.get(), st->codecpar), s.media.file.string() + ": audio parameters");
    dec->pkt_timebase = st->time_base;
    media::check_av(avcodec_open2(dec.get(), dc, nullptr), s.media.file.string() + ": open audio decoder");
    // PCM (sowt/twos/lpcm), or any other decoder's format: converted to
    // planar float for the AAC encoder, sample for sample (same rate); kept
    // PCM needs no conversion.
    media::SwrPtr swr;
    media::FramePtr cf;
    if (dec->sample_fmt != fmt) {
      SwrContext* raw = nullptr;
      media::check_av(swr_alloc_set_opts2(&raw, &dec->ch_layout, fmt, dec->sample_rate, &dec->ch_layout,
                                          dec->sample_fmt, dec->sample_rate, 0, nullptr),
                      s.media.file.string() + ": audio conversion");
      swr.reset(raw);
      media::check_av(swr_init(swr.get()), s.media.file.string() + ": audio conversion");
      cf.reset(av_frame_alloc());
      if (!cf) throw IoError("out of memory");
    }

    if (!enc) {
      rate = dec->sample_rate;
      channels = dec->ch_layout.nb_channels;
      const AVCodec* ac = pcm_enc ? pcm_enc : avcodec_find_encoder(AV_CODEC_ID_AAC);
      if (!ac) throw IoError("FFmpeg has no AAC encoder");
      enc.reset(avcodec_alloc_context3(ac));
      if (!enc) throw IoError("out of memory");
      enc->sample_fmt = fmt;
      enc->sample_rate = rate;
      media::check_av_io(av_channel_layout_copy(&enc->ch_layout, &dec->ch_layout), "channel layout");
      if (!pcm_enc) {
        enc->bit_rate = st->codecpar->bit_rate > 0 ? st->codecpar->bit_rate : 64000 * channels;
        enc->profile = FF_PROFILE_AAC_LOW;
      }
      enc->time_base = {1, rate};
      enc->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
      media::check_av_io(avcodec_open2(enc.get(), ac, nullptr), std::string("open ") + ac->name + " encoder");
      fifo.reset(av_audio_fifo_alloc(fmt, channels, 4096));
      if (!fifo) throw IoError("out of memory");
      out.tb = {1, rate};
    } else if (dec->sample_rate != rate || dec->ch_layout.nb_channels != channels) {
      throw InputError(s.media.file.string() + ": audio format differs from the previous segment");
    }
    const AVRational atb{1, rate};
    // Samples wanted, on the source's own timeline (0 = its first sample after priming).
    const int64_t want_from = av_rescale_q(s.src_from, s.vtb, atb);
    const int64_t want_n = av_rescale_q(s.out_to, s.otb, atb) - av_rescale_q(s.out_from, s.otb, atb);
    const int64_t want_to = want_from + want_n;
    int64_t cursor = want_from;
    // Start a second early: AAC frames overlap, the decoder needs the one before.
    const int64_t seek_to = av_rescale_q(std::max<int64_t>(0, want_from - rate), atb, st->time_base);
    if (want_from > rate) av_seek_frame(in.get(), ai, seek_to, AVSEEK_FLAG_BACKWARD);

    auto take = [&](AVFrame* f) {
      int64_t p = f->best_effort_timestamp;
      if (p == AV_NOPTS_VALUE) p = f->pts;
      if (p == AV_NOPTS_VALUE) p = cursor;
      p = av_rescale_q(p, st->time_base, atb);
      const int64_t n = f->nb_samples;
      if (p + n <= cursor || cursor >= want_to) return;
      if (p > cursor) silence(std::min(p, want_to) - cursor), cursor = std::min(p, want_to);
      if (cursor >= want_to) return;
      const int64_t off = cursor - p;
      const int64_t k = std::min(p + n, want_to) - cursor;
      std::vector<void*> planes = at(f->extended_data, off);
      av_audio_fifo_write(fifo.get(), planes.data(), static_cast<int>(k));
      cursor += k;
      encode_from_fifo(false);
    };
    bool done = false;
    while (!done && cursor < want_to) {
      int ret = av_read_frame(in.get(), pkt.get());
      if (ret == AVERROR_EOF) {
        avcodec_send_packet(dec.get(), nullptr);
        done = true;
      } else {
        if (ret < 0) media::throw_av(ret, s.media.file.string() + ": read audio");
        if (pkt->stream_index != ai) {
          av_packet_unref(pkt.get());
          continue;
        }
        ret = avcodec_send_packet(dec.get(), pkt.get());
        av_packet_unref(pkt.get());
        if (ret < 0 && ret != AVERROR_INVALIDDATA) media::throw_av(ret, s.media.file.string() + ": decode audio");
      }
      for (;;) {
        ret = avcodec_receive_frame(dec.get(), df.get());
        if (ret == AVERROR(EAGAIN) || ret == AVERROR_EOF) break;
        if (ret == AVERROR_INVALIDDATA) continue;
        media::check_av(ret, s.media.file.string() + ": decode audio");
        if (swr) {
          av_frame_unref(cf.get());
          cf->format = fmt;
          cf->sample_rate = df->sample_rate;
          media::check_av_io(av_channel_layout_copy(&cf->ch_layout, &df->ch_layout), "channel layout");
          cf->nb_samples = df->nb_samples;
          media::check_av_io(av_frame_get_buffer(cf.get(), 0), "audio buffer");
          const int got = swr_convert(swr.get(), cf->extended_data, cf->nb_samples,
                                      const_cast<const uint8_t**>(df->extended_data), df->nb_samples);
          if (got != df->nb_samples) throw IoError(s.media.file.string() + ": audio conversion lost samples");
          cf->pts = df->pts;
          cf->best_effort_timestamp = df->best_effort_timestamp;
          take(cf.get());
        } else {
          take(df.get());
        }
        av_frame_unref(df.get());
      }
    }
    if (cursor < want_to) silence(want_to - cursor);
  }
  if (!enc) return out;
  encode_from_fifo(true);
  encode(enc.get(), nullptr, collect);
  out.samples = pts;
  out.par.reset(avcodec_parameters_alloc());
  if (!out.par) throw IoError("out of memory");
  media::check_av_io(avcodec_parameters_from_context(out.par.get(), enc.get()), "audio parameters");
  return out;
}

// --- MP4 writer ------------------------------------------------------------------

void check_output(const fs::path& out, bool overwrite) {
  std::error_code ec;
  const fs::path dir = out.has_parent_path() ? out.parent_path() : fs::path(".");
  if (!fs::is_directory(dir, ec))
    throw IoError("cannot write " + out.string() + ": folder " + dir.string() + " does not exist",
                  "create it first (mkdir -p " + dir.string() + ")");
  if (fs::is_directory(out, ec)) throw IoError("cannot write " + out.string() + ": it is a folder");
  if (!overwrite && fs::exists(out, ec))
    throw IoError("cannot write " + out.string() + ": file exists", "use --force to replace it");
}

Muxer::Muxer(const fs::path& out, bool overwrite, const char* format)
    : out_(out), tmp_(temp_path_for(out)), guard_(tmp_) {
  check_output(out, overwrite);
  if (!format) format = quicktime_output(out) ? "mov" : "mp4";
  AVFormatContext* raw = nullptr;
  media::check_av_io(avformat_alloc_output_context2(&raw, nullptr, format, nullptr), std::string(format) + " muxer");
  oc_.reset(raw);
}

Muxer::~Muxer() = default;

AVStream* Muxer::add_stream(const AVCodecParameters* par, AVRational tb, AVRational fps, uint32_t tag) {
  AVStream* st = avformat_new_stream(oc_.get(), nullptr);
  if (!st) throw IoError("out of memory");
  media::check_av_io(avcodec_parameters_copy(st->codecpar, par), "codec parameters");
  // The sample entry: the muxer's default for the codec (avc1, hvc1, mp4a),
  // or the one asked for (hev1: HEVC parameter sets in-band).
  st->codecpar->codec_tag = tag;
  if (!tag && par->codec_id == AV_CODEC_ID_HEVC) {
    // Keep the source's hev1 (sets in-band) rather than promise hvc1.
    if (par->codec_tag == MKTAG('h', 'e', 'v', '1')) st->codecpar->codec_tag = par->codec_tag;
    else st->codecpar->codec_tag = MKTAG('h', 'v', 'c', '1');
  }
  st->time_base = tb;
  if (fps.num > 0) st->avg_frame_rate = fps;
  tbs_.push_back(tb);
  return st;
}

void Muxer::start(const MuxMeta& m, int64_t total_samples) {
  const LocalTime utc = m.start - static_cast<int64_t>(m.utc_offset_min) * 60'000;
  av_dict_set(&oc_->metadata, "creation_time", iso_utc(utc).c_str(), 0);
  std::string loc = m.location;
  if (m.lat && m.lon) loc = iso6709(*m.lat, *m.lon);
  if (!loc.empty()) av_dict_set(&oc_->metadata, "location", loc.c_str(), 0);
  if (!m.make.empty()) av_dict_set(&oc_->metadata, "make", m.make.c_str(), 0);
  if (!m.model.empty()) av_dict_set(&oc_->metadata, "model", m.model.c_str(), 0);
  if (!m.comment.empty()) av_dict_set(&oc_->metadata, "comment", m.comment.c_str(), 0);
  media::check_av_io(avio_open(&oc_->pb, media::ffmpeg_url(tmp_).c_str(), AVIO_FLAG_WRITE), "create " + tmp_.string());
  media::Dict opts;
  opts.set("movflags", "use_metadata_tags");
  // Faststart in one pass: room for the moov is reserved before the mdat; the
  // moov is written there at the end (the rest becomes a 'free' box). Per
  // sample at most stsz 4 + stts 8 + stss 4 + stsc 12 + co64 8 bytes.
  const int64_t reserve = 65536 + 40 * std::max<int64_t>(total_samples, 0);
  opts.set("moov_size", std::to_string(reserve));
  media::check_av_io(avformat_write_header(oc_.get(), opts.out()), "write " + out_.string());
  started_ = true;
}

void Muxer::queue(std::vector<media::PacketPtr> pkts, int stream) {
  queued_ = std::move(pkts);
  queued_pos_ = 0;
  queued_stream_ = stream;
}

void Muxer::flush_queue_until(int64_t ts, AVRational tb) {
  while (queued_pos_ < queued_.size()) {
    AVPacket* p = queued_[queued_pos_].get();
    const AVRational qtb = tbs_[static_cast<size_t>(queued_stream_)];
    if (ts != INT64_MAX && av_compare_ts(p->dts, qtb, ts, tb) > 0) break;
    p->stream_index = queued_stream_;
    av_packet_rescale_ts(p, qtb, oc_->streams[queued_stream_]->time_base);
    media::check_av_io(av_interleaved_write_frame(oc_.get(), p), "write " + out_.string());
    ++queued_pos_;
  }
}

void Muxer::write(AVPacket* pkt, int stream) {
  const AVRational tb = tbs_[static_cast<size_t>(stream)];
  flush_queue_until(pkt->dts, tb);
  pkt->stream_index = stream;
  av_packet_rescale_ts(pkt, tb, oc_->streams[stream]->time_base);
  media::check_av_io(av_interleaved_write_frame(oc_.get(), pkt), "write " + out_.string());
}

void Muxer::writeback() {
  if (!started_ || !oc_->pb) return;
  avio_flush(oc_->pb);
  const int fd = ::open(tmp_.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;
  ::sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE);  // (a hint: errors show at finish()'s fsync)
  ::close(fd);
}

uint64_t Muxer::finish() {
  flush_queue_until(INT64_MAX, {1, 1});
  media::check_av_io(av_write_trailer(oc_.get()), "write " + out_.string());
  media::check_av_io(avio_closep(&oc_->pb), "close " + out_.string());
  fsync_path(tmp_);
  commit_rename(tmp_, out_);
  guard_.release();
  std::error_code ec;
  const auto size = fs::file_size(out_, ec);
  return ec ? 0 : static_cast<uint64_t>(size);
}

}  // namespace nex::cut::detail
