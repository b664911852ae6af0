// nexcut salvage: rebuild a playable MP4/MOV from a recording without its
// moov, using a healthy recording of the same camera as the reference for
// the codec parameters (avcC/hvcC), frame duration and audio format.
//
// salvage_walk.cpp walks the mdat into video access units and audio frames;
// salvage_order.cpp gives the pictures their display order (B-frames, HEVC)
// from their order counts. Here: the boxes of the damaged file, the
// reference, and the output: video with pts != dts where the stream
// reorders (the muxer writes a ctts and an edit list), sync samples at IDR /
// open-GOP I-frames / HEVC IRAPs, audio between the video as the camera
// interleaved it, timestamps rebuilt from the reference's frame rate, AAC
// frame size and priming, or PCM sample count.
#include "nex/salvage.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <map>
#include <set>

#include "cut/h264.hpp"
#include "cut/internal.hpp"
#include "cut/salvage_walk.hpp"
#include "nex/camera.hpp"
#include "nex/error.hpp"
#include "nex/mp4.hpp"
#include "nex/naming.hpp"
#include "nex/telemetry.hpp"

namespace nex::cut {

using namespace detail;
using namespace salvage_detail;
namespace h = h264;

ojson SalvageReport::to_json() const {
  ojson j;
  j["input"] = input.string();
  j["output"] = output.string();
  j["reference"] = reference.string();
  j["codec"] = codec;
  j["video_frames"] = video_frames;
  j["keyframes"] = keyframes;
  j["dropped_frames"] = dropped_frames;
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

struct Reference {
  CodecParPtr vpar, apar;
  StreamInfo info;
  AVRational vtb{1, 90000}, atb{1, 48000};
  int64_t frame_dur = 3000;
  int64_t priming = 0;
  std::string make, model;
};

bool is_pcm(AVCodecID id) {
  switch (id) {
    case AV_CODEC_ID_PCM_S16LE: case AV_CODEC_ID_PCM_S16BE: case AV_CODEC_ID_PCM_S24LE: case AV_CODEC_ID_PCM_S24BE:
    case AV_CODEC_ID_PCM_S32LE: case AV_CODEC_ID_PCM_S32BE: case AV_CODEC_ID_PCM_F32LE: case AV_CODEC_ID_PCM_F32BE:
    case AV_CODEC_ID_PCM_F64LE: case AV_CODEC_ID_PCM_F64BE: case AV_CODEC_ID_PCM_S8: case AV_CODEC_ID_PCM_U8:
      return true;
    default: return false;
  }
}

Reference load_reference(const fs::path& file) {
  Reference r;
  auto in = open_source(file, LocalTime{});
  AVStream* vs = in->vst();
  const AVCodecParameters* vp = vs->codecpar;
  const std::span<const uint8_t> extra(vp->extradata, static_cast<size_t>(std::max(0, vp->extradata_size)));
  if (vp->codec_id == AV_CODEC_ID_H264) {
    auto c = h::parse_avcc(extra);
    if (!c) throw InputError(file.string() + ": the reference's H.264 sample entry has no avcC record (avc3 streams cannot be salvaged)");
    r.info.codec = VideoCodec::H264;
    r.info.length_size = c->length_size;
    for (auto& s : c->sps) r.info.param_sets.push_back(s);
    for (auto& p : c->pps) r.info.param_sets.push_back(p);
  } else if (vp->codec_id == AV_CODEC_ID_HEVC) {
    auto c = h::parse_hvcc(extra);
    if (!c) throw InputError(file.string() + ": the reference's HEVC sample entry has no hvcC record");
    r.info.codec = VideoCodec::Hevc;
    r.info.length_size = c->length_size;
    r.info.param_sets = c->nals;
  } else {
    const char* name = avcodec_get_name(vp->codec_id);
    throw InputError(file.string() + ": reference video is " + (name ? name : "of an unknown codec") +
                     ": nexcut salvage rebuilds H.264 and HEVC recordings");
  }
  r.vpar.reset(avcodec_parameters_alloc());
  if (!r.vpar) throw IoError("out of memory");
  media::check_av_io(avcodec_parameters_copy(r.vpar.get(), vp), "codec parameters");
  r.vtb = vs->time_base;
  // The frame duration: the most common step between frames on screen.
  r.frame_dur = std::max<int64_t>(1, av_rescale_q(1, av_inv_q(in->fps), r.vtb));
  std::map<int64_t, size_t> steps;
  for (size_t k = 1; k < in->frames.size(); ++k) ++steps[in->frames[k].ts - in->frames[k - 1].ts];
  size_t best = 0;
  for (const auto& [d, n] : steps)
    if (d > 0 && n > best) best = n, r.frame_dur = d;

  size_t max_sample = 0;
  struct Entry {
    int64_t pos, size;
    bool audio;
  };
  std::vector<Entry> entries;
  for (int k = 0; k < avformat_index_get_entries_count(vs); ++k)
    if (const AVIndexEntry* e = avformat_index_get_entry(vs, k)) {
      max_sample = std::max<size_t>(max_sample, static_cast<size_t>(e->size));
      entries.push_back({e->pos, e->size, false});
    }
  // 4x the reference's largest sample (a busier scene, a higher bitrate)
  r.info.max_nal = std::max<size_t>(4 * max_sample, 256u << 10);
  r.make = in->make;
  r.model = in->model;
  if (in->a >= 0) {
    AVStream* as = in->fmt->streams[in->a];
    const AVCodecParameters* ap = as->codecpar;
    r.apar.reset(avcodec_parameters_alloc());
    if (!r.apar) throw IoError("out of memory");
    media::check_av_io(avcodec_parameters_copy(r.apar.get(), ap), "codec parameters");
    r.atb = {1, ap->sample_rate};
    if (ap->codec_id == AV_CODEC_ID_AAC) {
      r.info.audio = AudioKind::Aac;
      if (ap->frame_size > 0) r.info.aac_frame_size = ap->frame_size;
    } else if (is_pcm(ap->codec_id) && ap->ch_layout.nb_channels > 0) {
      r.info.audio = AudioKind::Pcm;
      r.info.pcm_block =
          static_cast<size_t>(ap->ch_layout.nb_channels) * static_cast<size_t>(av_get_bits_per_sample(ap->codec_id) / 8);
      // The runs of audio bytes between video samples, as the camera wrote them.
      for (int k = 0; k < avformat_index_get_entries_count(as); ++k)
        if (const AVIndexEntry* e = avformat_index_get_entry(as, k)) entries.push_back({e->pos, e->size, true});
      std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) { return a.pos < b.pos; });
      std::set<size_t> runs;
      for (size_t k = 0; k < entries.size();) {
        if (!entries[k].audio) {
          ++k;
          continue;
        }
        int64_t end = entries[k].pos + entries[k].size;
        size_t j = k + 1;
        while (j < entries.size() && entries[j].audio && entries[j].pos == end) end += entries[j].size, ++j;
        const auto len = static_cast<size_t>(end - entries[k].pos);
        if (len % r.info.pcm_block == 0) runs.insert(len);
        k = j;
      }
      r.info.pcm_runs.assign(runs.begin(), runs.end());
      if (r.info.pcm_runs.empty()) r.info.pcm_runs.push_back(r.info.pcm_block * 1024);
    } else {
      const char* name = avcodec_get_name(ap->codec_id);
      throw InputError(file.string() + ": reference audio is " + (name ? name : "of an unknown codec") +
                       ": nexcut salvage reads AAC and PCM audio");
    }
    r.info.apar = r.apar.get();
    if (r.info.audio == AudioKind::Aac) {
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
  }
  return r;
}

bool ends_with_mov(const fs::path& p) {
  std::string e = p.extension().string();
  std::transform(e.begin(), e.end(), e.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return e == ".mov";
}

// The reference must describe this stream: its first keyframe has to decode
// with the reference's parameter sets.
void check_decodes(const Reference& ref, const uint8_t* data, const Sample& key, const fs::path& input,
                   const fs::path& ref_path) {
  const AVCodec* dc = avcodec_find_decoder(ref.vpar->codec_id);
  media::CodecContextPtr dec(dc ? avcodec_alloc_context3(dc) : nullptr);
  if (!dec) throw IoError(std::string("FFmpeg has no ") + avcodec_get_name(ref.vpar->codec_id) + " decoder");
  media::check_av_io(avcodec_parameters_to_context(dec.get(), ref.vpar.get()), "video parameters");
  dec->err_recognition = AV_EF_EXPLODE;
  media::check_av_io(avcodec_open2(dec.get(), dc, nullptr), "open video decoder");
  media::PacketPtr pkt(av_packet_alloc());
  media::FramePtr f(av_frame_alloc());
  if (!pkt || !f) throw IoError("out of memory");
  media::check_av_io(av_new_packet(pkt.get(), static_cast<int>(key.size)), "packet");
  std::memcpy(pkt->data, data + key.off, key.size);
  pkt->flags = AV_PKT_FLAG_KEY;
  const bool ok = avcodec_send_packet(dec.get(), pkt.get()) >= 0 && avcodec_send_packet(dec.get(), nullptr) >= 0 &&
                  avcodec_receive_frame(dec.get(), f.get()) >= 0 && f->width == ref.vpar->width &&
                  f->height == ref.vpar->height;
  if (!ok)
    throw InputError(input.string() + " does not decode with the parameters of " + ref_path.string(),
                     "give --reference a healthy recording of the same camera");
}

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
  const bool mov = ends_with_mov(o.output);
  if (ref.info.audio == AudioKind::Pcm && !mov)
    throw InputError("the recording's audio is PCM, which an MP4 file cannot hold: cannot write " + o.output.string(),
                     "name the output .mov");

  rep.media_bytes = mdat_end - mdat;
  const uint8_t* base = m.data() + mdat;
  Walk w = walk(base, mdat_end - mdat, ref.info, ctx);
  rep.skipped_bytes = w.skipped;
  rep.tail_bytes = w.tail;
  if (w.video.empty()) throw InputError(o.input.string() + ": no complete video frame found");
  const Order ord = picture_order(base, w.video, ref.info, ctx);
  check_decodes(ref, base, w.video[ord.kept.front()], o.input, *ref_path);
  for (size_t k = 0; k < ord.kept.size(); ++k) rep.used_bytes += w.video[ord.kept[k]].size, rep.keyframes += ord.key[k];
  for (const auto& s : w.audio) rep.used_bytes += s.size;
  rep.dropped_frames = static_cast<int64_t>(ord.dropped);

  Muxer mux(o.output, o.overwrite, mov ? "mov" : "mp4");
  AVRational fps = av_inv_q(av_make_q(static_cast<int>(ref.frame_dur), ref.vtb.den));
  av_reduce(&fps.num, &fps.den, fps.num, fps.den, 1 << 20);
  mux.add_stream(ref.vpar.get(), ref.vtb, fps);
  const bool with_audio = ref.apar && !w.audio.empty();
  if (with_audio) mux.add_stream(ref.apar.get(), ref.atb);
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
  mux.start(meta, static_cast<int64_t>(ord.kept.size() + w.audio.size()));

  media::PacketPtr pkt(av_packet_alloc());
  if (!pkt) throw IoError("out of memory");
  size_t vi = 0, ai = 0;
  int64_t audio_ts = -ref.priming;
  // In file order, as the camera interleaved them.
  while (vi < ord.kept.size() || (with_audio && ai < w.audio.size())) {
    const bool take_video = vi < ord.kept.size() &&
                            (!with_audio || ai >= w.audio.size() || w.video[ord.kept[vi]].off < w.audio[ai].off);
    const Sample& s = take_video ? w.video[ord.kept[vi]] : w.audio[ai];
    media::check_av_io(av_new_packet(pkt.get(), static_cast<int>(s.size)), "packet");
    std::memcpy(pkt->data, base + s.off, s.size);
    if (take_video) {
      pkt->pts = ord.pts[vi] * ref.frame_dur;
      pkt->dts = ord.dts[vi] * ref.frame_dur;
      pkt->duration = ref.frame_dur;
      pkt->flags = ord.key[vi] ? AV_PKT_FLAG_KEY : 0;
      mux.write(pkt.get(), 0);
      ++vi;
    } else {
      const int64_t n = ref.info.audio == AudioKind::Pcm ? static_cast<int64_t>(s.size / ref.info.pcm_block)
                                                         : ref.info.aac_frame_size;
      pkt->pts = pkt->dts = audio_ts;
      pkt->duration = n;
      pkt->flags = AV_PKT_FLAG_KEY;
      audio_ts += n;
      mux.write(pkt.get(), 1);
      ++ai;
    }
    av_packet_unref(pkt.get());
  }
  mux.finish();
  rep.codec = ref.info.codec == VideoCodec::Hevc ? "hevc" : "h264";
  rep.video_frames = static_cast<int64_t>(ord.kept.size());
  // AAC frames, or PCM sample frames (what ffprobe counts as frames of either)
  rep.audio_frames = !with_audio ? 0
                     : ref.info.audio == AudioKind::Pcm ? audio_ts
                                                        : static_cast<int64_t>(w.audio.size());
  rep.duration_ms = av_rescale_q(ord.end * ref.frame_dur, ref.vtb, {1, 1000});
  return rep;
}

}  // namespace nex::cut
