// Sources and plans: which recordings hold a window, their frame index (from
// the moov, no media data read) and the frames a clip takes from each.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <span>
#include <vector>

#include "cut/h264.hpp"
#include "cut/internal.hpp"
#include "nex/error.hpp"
#include "nex/mp4.hpp"
#include "nex/telemetry.hpp"

namespace nex::cut::detail {

LocalTime Input::time_of(int64_t ts) const {
  return start + av_rescale_q_rnd(ts - origin, vtb, AVRational{1, 1000},
                                  static_cast<AVRounding>(AV_ROUND_DOWN | AV_ROUND_PASS_MINMAX));
}

// The index is built from the packets themselves, read once: the MP4 index
// FFmpeg exposes carries decode timestamps only, and B-frame footage needs
// every frame's presentation time (dts + ctts, after the edit list) to put
// frames in display order. Reading a 60 s 1080p segment's packets from the
// page cache takes a few tens of milliseconds.
MediaRef media_ref(const CardScan& scan, const CardFile& f) {
  if (!f.path.empty()) return MediaRef{f.path, nullptr, {}, f.size};
  return MediaRef{fs::path(scan.where() + "/" + f.rel), scan.source, f.rel, f.size};
}

media::InputFormatPtr open_media(const MediaRef& m, bool probe) {
  if (!m.source) return media::open_input(m.file, probe);
  std::shared_ptr<Source> src = m.source;
  const std::string rel = m.rel;
  media::ByteReader r;
  r.size = m.size;
  r.read = [src, rel](void* buf, size_t n, uint64_t off) { return src->read_at(rel, off, buf, n); };
  return media::open_input_reader(std::move(r), m.file.string(), probe);
}

namespace {

// An H.264 access unit holds an IDR slice (NAL type 5).
bool h264_has_idr(std::span<const uint8_t> data, int length_size) {
  std::vector<std::span<const uint8_t>> nals;
  if (length_size > 0) {
    auto v = h264::split_lengths(data, length_size);
    if (v) nals = std::move(*v);
  } else {
    nals = h264::split_annexb(data);
  }
  for (auto n : nals)
    if (h264::nal_type(n) == 5) return true;
  return false;
}

// Over a camera, every packet read for the index is a ranged GET: a cut of
// 30 s would pull whole segments. For streams without B-frames (no ctts in
// the moov: presentation = decode time) the index comes from the sample
// table FFmpeg's demuxer built when it opened the file (times, sizes,
// positions, sync samples); whether a keyframe is an IDR is read lazily,
// for the keyframes a cut asks about (Input::joinable_at). The first packets
// are read and compared with the table; any difference, B-frames, or a
// table FFmpeg did not build: false, and the packets are read as before.
bool index_from_table(Input& in, std::vector<FrameEntry>& out) {
  if (!in.media.source || !in.media.source->remote()) return false;
  AVFormatContext* f = in.fmt.get();
  AVStream* st = f->streams[in.v];
  const int n = avformat_index_get_entries_count(st);
  if (n < 2) return false;
  std::shared_ptr<Source> src = in.media.source;
  const std::string rel = in.media.rel;
  const Mp4Info info =
      read_mp4_info([&](void* buf, size_t len, uint64_t off) { return src->read_at(rel, off, buf, len); },
                    in.media.size);
  const Mp4Track* vt = info.video();
  if (info.state != Mp4State::Ok || !vt || vt->reordered) return false;
  const bool h264 = st->codecpar->codec_id == AV_CODEC_ID_H264;
  std::vector<FrameEntry> v;
  v.reserve(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) {
    const AVIndexEntry* e = avformat_index_get_entry(st, i);
    if (!e) return false;
    if (e->flags & AVINDEX_DISCARD_FRAME) continue;
    FrameEntry fe;
    fe.dts = fe.ts = e->timestamp;
    fe.key = (e->flags & AVINDEX_KEYFRAME) != 0;
    fe.pos = e->pos;
    fe.size = e->size;
    fe.joinable = fe.key && !h264;
    fe.joinable_known = !(fe.key && h264);
    if (!v.empty() && fe.dts <= v.back().dts) return false;
    if (!v.empty()) v.back().dur = fe.dts - v.back().dts;
    fe.dec = static_cast<uint32_t>(v.size());
    v.push_back(fe);
  }
  if (v.size() < 2) return false;
  v.back().dur = v[v.size() - 2].dur;
  // The table must say what the packets say.
  media::PacketPtr pkt(av_packet_alloc());
  if (!pkt) throw IoError("out of memory");
  size_t checked = 0;
  while (checked < std::min<size_t>(3, v.size())) {
    const int ret = av_read_frame(f, pkt.get());
    if (ret < 0) break;
    const bool ours = pkt->stream_index == in.v && !(pkt->flags & AV_PKT_FLAG_DISCARD);
    if (ours) {
      const FrameEntry& e = v[checked];
      const bool key = (pkt->flags & AV_PKT_FLAG_KEY) != 0;
      if (pkt->pts != e.ts || pkt->dts != e.dts || key != e.key || pkt->size != e.size) {
        av_packet_unref(pkt.get());
        return false;
      }
      ++checked;
    }
    av_packet_unref(pkt.get());
  }
  if (checked < std::min<size_t>(3, v.size())) return false;
  out = std::move(v);
  return true;
}

// Over a camera, footage whose index the sample table cannot give (B-frames:
// FFmpeg's table holds decode times only, and the presentation times come
// from the ctts and the edit list as the demuxer applies them) is indexed
// by reading its packets through a reader that answers every read inside
// an mdat payload with zeros: the demuxer fills each packet's times, flags,
// position and size from the sample tables, exactly as for a local file,
// and no media byte crosses the link (only the headers and the moov). The
// packets' bytes are read later, lazily, for the keyframes a cut asks about
// (Input::joinable_at). nullptr: not a camera, or no moov to go by.
media::InputFormatPtr open_sparse(const MediaRef& m) {
  if (!m.source || !m.source->remote()) return nullptr;
  std::shared_ptr<Source> src = m.source;
  const std::string rel = m.rel;
  const Mp4Info info =
      read_mp4_info([&](void* buf, size_t len, uint64_t off) { return src->read_at(rel, off, buf, len); }, m.size);
  if (info.state != Mp4State::Ok || info.mdat_payloads.empty()) return nullptr;
  auto payloads = info.mdat_payloads;
  media::ByteReader r;
  r.size = m.size;
  r.read = [src, rel, payloads, size = m.size](void* buf, size_t n, uint64_t off) -> size_t {
    if (off >= size) return 0;
    n = static_cast<size_t>(std::min<uint64_t>(n, size - off));
    auto* out = static_cast<uint8_t*>(buf);
    size_t done = 0;
    while (done < n) {
      const uint64_t pos = off + done;
      // Inside a payload: zeros up to its end; outside: real bytes up to the next one.
      uint64_t until = off + n;
      bool zero = false;
      for (const auto& [a, len] : payloads) {
        if (pos >= a && pos < a + len) {
          zero = true;
          until = std::min(until, a + len);
        } else if (a > pos) {
          until = std::min(until, a);
        }
      }
      const size_t want = static_cast<size_t>(until - pos);
      if (zero) {
        std::memset(out + done, 0, want);
        done += want;
      } else {
        const size_t got = src->read_at(rel, pos, out + done, want);
        done += got;
        if (got < want) break;
      }
    }
    return done;
  };
  return media::open_input_reader(std::move(r), m.file.string(), /*probe=*/false);
}

}  // namespace

bool Input::joinable_at(size_t k) const {
  const FrameEntry& e = frames[k];
  if (e.joinable_known) return e.joinable;
  bool idr = false;
  if (media.source && e.pos >= 0 && e.size > 0) {
    std::vector<uint8_t> buf(static_cast<size_t>(e.size));
    const size_t got = media.source->read_at(media.rel, static_cast<uint64_t>(e.pos), buf.data(), buf.size());
    idr = got == buf.size() && h264_has_idr(buf, nal_length_size);
  }
  e.joinable = e.key && idr;
  e.joinable_known = true;
  return e.joinable;
}

// FFmpeg's MP4 demuxer takes an HEVC seek time as a presentation time: it
// does not land on a keyframe shown after that time (an open-GOP CRA is
// decoded before its leading pictures, so its dts is earlier than its pts),
// and asked for a CRA's dts it lands a whole GOP earlier, whose packets a
// reader then decodes or skips for nothing. Asked for the CRA's pts it lands
// on the CRA, unless another keyframe is decoded between the two times (then
// the dts, as for every other codec).
int64_t Input::seek_ts(size_t k) const {
  const FrameEntry& e = frames[k];
  if (vst()->codecpar->codec_id != AV_CODEC_ID_HEVC || e.ts <= e.dts) return e.dts;
  for (size_t d = e.dec + 1; d < decode.size(); ++d) {
    const FrameEntry& n = frames[decode[d]];
    if (n.dts > e.ts) break;
    if (n.key) return e.dts;
  }
  return e.ts;
}

std::unique_ptr<Input> open_source(const MediaRef& media, LocalTime start) {
  auto in = std::make_unique<Input>();
  const fs::path& file = media.file;
  in->file = file;
  in->media = media;
  in->start = start;
  in->fmt = open_media(media, /*probe=*/false);
  AVFormatContext* f = in->fmt.get();
  for (unsigned i = 0; i < f->nb_streams; ++i) {
    const AVMediaType t = f->streams[i]->codecpar->codec_type;
    if (t == AVMEDIA_TYPE_VIDEO && in->v < 0 && !(f->streams[i]->disposition & AV_DISPOSITION_ATTACHED_PIC))
      in->v = static_cast<int>(i);
    else if (t == AVMEDIA_TYPE_AUDIO && in->a < 0) in->a = static_cast<int>(i);
  }
  if (in->v < 0) throw InputError(file.string() + ": no video stream");
  for (unsigned i = 0; i < f->nb_streams; ++i)
    if (static_cast<int>(i) != in->v) f->streams[i]->discard = AVDISCARD_ALL;
  AVStream* st = f->streams[in->v];
  in->vtb = st->time_base;
  if (st->avg_frame_rate.num > 0 && st->avg_frame_rate.den > 0) in->fps = st->avg_frame_rate;
  else if (st->r_frame_rate.num > 0 && st->r_frame_rate.den > 0) in->fps = st->r_frame_rate;

  // NAL length size of the sample entry (avcC / hvcC), to tell IDRs.
  const AVCodecParameters* cp = st->codecpar;
  int length_size = 0;
  if (cp->extradata_size > 4 && cp->extradata[0] == 1) {
    if (cp->codec_id == AV_CODEC_ID_H264) length_size = (cp->extradata[4] & 3) + 1;
    else if (cp->codec_id == AV_CODEC_ID_HEVC && cp->extradata_size > 22) length_size = (cp->extradata[21] & 3) + 1;
  }
  in->nal_length_size = length_size;
  auto joinable = [&](const AVPacket* p) {
    return cp->codec_id != AV_CODEC_ID_H264 ||
           h264_has_idr({p->data, static_cast<size_t>(p->size)}, length_size);
  };

  media::PacketPtr pkt(av_packet_alloc());
  if (!pkt) throw IoError("out of memory");
  std::vector<FrameEntry> dec_order;
  dec_order.reserve(static_cast<size_t>(std::max(avformat_index_get_entries_count(st), 0)));
  int64_t last_dts = INT64_MIN;
  in->from_table = index_from_table(*in, dec_order);
  // The packets are read for their times: from the file itself, or over a
  // camera through the sparse reader (nothing of the media data fetched).
  media::InputFormatPtr sparse = in->from_table ? nullptr : open_sparse(media);
  AVFormatContext* pf = f;
  if (sparse) {
    pf = sparse.get();
    if (pf->nb_streams != f->nb_streams || pf->streams[in->v]->time_base.num != in->vtb.num ||
        pf->streams[in->v]->time_base.den != in->vtb.den)
      throw IoError(file.string() + ": the file changed while it was being read");
    for (unsigned i = 0; i < pf->nb_streams; ++i)
      if (static_cast<int>(i) != in->v) pf->streams[i]->discard = AVDISCARD_ALL;
    // No parser may look at the zeros: flags and times from the tables only.
    pf->flags |= AVFMT_FLAG_NOPARSE | AVFMT_FLAG_NOFILLIN;
  }
  for (; !in->from_table;) {
    const int ret = av_read_frame(pf, pkt.get());
    if (ret == AVERROR_EOF) break;
    if (ret < 0) {
      if (ret == AVERROR_INVALIDDATA || ret == AVERROR(EIO)) break;  // a cut-short file: what was indexed
      media::throw_av(ret, file.string() + ": read");
    }
    if (pkt->stream_index == in->v && !(pkt->flags & AV_PKT_FLAG_DISCARD)) {
      FrameEntry e;
      e.dts = pkt->dts != AV_NOPTS_VALUE ? pkt->dts : pkt->pts;
      e.ts = pkt->pts != AV_NOPTS_VALUE ? pkt->pts : e.dts;
      e.dur = std::max<int64_t>(pkt->duration, 0);
      e.key = (pkt->flags & AV_PKT_FLAG_KEY) != 0;
      if (sparse) {
        // No bytes to look at: an H.264 keyframe's IDR-ness is read when asked.
        const bool h264 = cp->codec_id == AV_CODEC_ID_H264;
        e.joinable = e.key && !h264;
        e.joinable_known = !(e.key && h264);
        e.pos = pkt->pos;
        e.size = pkt->size;
      } else {
        e.joinable = e.key && joinable(pkt.get());
      }
      if (e.ts != AV_NOPTS_VALUE && e.dts != AV_NOPTS_VALUE && e.dts > last_dts) {
        last_dts = e.dts;
        e.dec = static_cast<uint32_t>(dec_order.size());
        dec_order.push_back(e);
      }
    }
    av_packet_unref(pkt.get());
  }
  if (sparse && !dec_order.empty()) {
    // The tables must say what the packets say: the first ones, read for real.
    size_t checked = 0;
    while (checked < std::min<size_t>(3, dec_order.size())) {
      const int ret = av_read_frame(f, pkt.get());
      if (ret < 0) break;
      if (pkt->stream_index == in->v && !(pkt->flags & AV_PKT_FLAG_DISCARD)) {
        const FrameEntry& e = dec_order[checked];
        const int64_t dts = pkt->dts != AV_NOPTS_VALUE ? pkt->dts : pkt->pts;
        if (pkt->pts != e.ts || dts != e.dts || ((pkt->flags & AV_PKT_FLAG_KEY) != 0) != e.key ||
            pkt->size != e.size) {
          av_packet_unref(pkt.get());
          throw IoError(file.string() + ": its sample tables and its packets disagree");
        }
        ++checked;
      }
      av_packet_unref(pkt.get());
    }
  }
  if (dec_order.empty()) throw InputError(file.string() + ": no video frames");
  in->frames = dec_order;
  std::stable_sort(in->frames.begin(), in->frames.end(),
                   [](const FrameEntry& x, const FrameEntry& y) { return x.ts < y.ts; });
  for (size_t k = 1; k < in->frames.size(); ++k)
    if (in->frames[k].ts == in->frames[k - 1].ts)
      throw InputError(file.string() + ": two frames share the presentation time " + std::to_string(in->frames[k].ts),
                       "the file's timestamps are damaged");
  // The recording's instant is its first presented frame, whatever its pts:
  // without an edit list a B-frame stream's first frame is shown at the
  // B-frame delay, and the audio keeps its place against the video on the
  // file's own timeline (AudioSpan::src_from is a pts of the file).
  in->origin = in->frames.front().ts;
  in->decode.resize(in->frames.size());
  for (size_t k = 0; k < in->frames.size(); ++k) {
    in->decode[in->frames[k].dec] = static_cast<uint32_t>(k);
    if (in->frames[k].dec != k) in->reorder = true;
  }
  const FrameEntry& lastf = in->frames.back();
  int64_t step = lastf.dur;
  if (step <= 0) step = in->frames.size() > 1 ? lastf.ts - in->frames[in->frames.size() - 2].ts
                                              : av_rescale_q(1, av_inv_q(in->fps), in->vtb);
  in->v_end = lastf.ts + std::max<int64_t>(step, 1);
  // The container's own frame rate when the stream gives none: frames over duration.
  if (!(st->avg_frame_rate.num > 0) && in->frames.size() > 1 && in->v_end > in->frames.front().ts)
    in->fps = av_d2q(static_cast<double>(in->frames.size()) /
                         (static_cast<double>(in->v_end - in->frames.front().ts) * av_q2d(in->vtb)),
                     100000);
  auto tag = [&](const char* k) -> std::string {
    const AVDictionaryEntry* e = av_dict_get(f->metadata, k, nullptr, 0);
    return e ? e->value : "";
  };
  in->make = tag("make");
  in->model = tag("model");
  in->location = tag("location");
  return in;
}

std::unique_ptr<Input> reopen(const Input& in) {
  auto c = std::make_unique<Input>();
  c->file = in.file;
  c->media = in.media;
  c->start = in.start;
  c->fmt = open_media(in.media, /*probe=*/false);
  AVFormatContext* f = c->fmt.get();
  if (in.v < 0 || static_cast<unsigned>(in.v) >= f->nb_streams)
    throw IoError(in.file.string() + ": the file changed while it was being cut");
  for (unsigned i = 0; i < f->nb_streams; ++i)
    if (static_cast<int>(i) != in.v) f->streams[i]->discard = AVDISCARD_ALL;
  c->v = in.v, c->a = in.a;
  c->vtb = in.vtb, c->fps = in.fps;
  c->frames = in.frames;
  c->decode = in.decode;
  c->v_end = in.v_end;
  c->origin = in.origin;
  c->reorder = in.reorder;
  c->nal_length_size = in.nal_length_size;
  c->from_table = in.from_table;
  c->make = in.make, c->model = in.model, c->location = in.location;
  return c;
}

size_t Input::max_dec(size_t from, size_t to) const {
  size_t m = 0;
  for (size_t i = from; i <= to && i < frames.size(); ++i) m = std::max<size_t>(m, frames[i].dec);
  return m;
}

std::vector<size_t> Input::clean_ends(size_t k, size_t limit) const {
  std::vector<size_t> ends;
  size_t count = 0, hi = k;
  bool any = false;
  for (size_t d = frames[k].dec; d < decode.size(); ++d) {
    const size_t i = decode[d];
    if (i < k) continue;  // a leading picture of k: shown before it, left out of a copy from k
    if (i > limit) break;  // a copy ending at or before `limit` cannot take this packet
    ++count;
    hi = std::max(hi, i);
    any = true;
    if (any && hi - k + 1 == count) ends.push_back(hi);
  }
  return ends;
}

int64_t Plan::frames() const {
  int64_t n = 0;
  for (const auto& p : pieces) n += static_cast<int64_t>(p.last - p.first + 1);
  return n;
}

int64_t Plan::duration() const {
  int64_t d = 0;
  for (const auto& p : pieces) d += p.duration();
  return d;
}

LocalTime Plan::end() const {
  const Piece& p = pieces.back();
  return p.in->time_of(p.in->end_ts(p.last));
}

void Plan::layout() {
  int64_t off = 0;
  for (auto& p : pieces) {
    p.out_offset = off;
    off += p.duration();
  }
}

std::vector<const Recording*> footage_for(const CardScan& scan, LocalTime& from, LocalTime& to, Camera camera,
                                          const Context& ctx) {
  if (to <= from)
    throw UsageError("empty time window " + format_iso(from, true) + " to " + format_iso(to, true),
                     "the end must come after the start");
  const int64_t nominal = 60000;
  auto end_of = [&](const Recording& r) { return r.start + (r.duration_known ? r.duration_ms : nominal); };
  std::vector<const Recording*> hit;
  for (const auto* list : {&scan.recordings, &scan.parking}) {
    for (const auto& r : *list)
      if (r.start < to && end_of(r) > from) hit.push_back(&r);
    if (!hit.empty()) break;  // a window is either in drive footage or in one parking clip
  }
  if (hit.empty()) {
    std::string hint;
    if (!scan.drives.empty())
      hint = "the card holds footage from " + format_iso(scan.drives.front().start) + " to " +
             format_iso(scan.drives.back().end) + " ('nexls " + scan.where() + "' lists it)";
    throw InputError("no footage between " + format_iso(from, true) + " and " + format_iso(to, true), hint);
  }
  std::sort(hit.begin(), hit.end(), [](const Recording* a, const Recording* b) { return a->start < b->start; });
  for (size_t i = 0; i < hit.size(); ++i) {
    const Recording& r = *hit[i];
    const auto& f = camera == Camera::Road ? r.road : r.interior;
    const Mp4Info& info = camera == Camera::Road ? r.road_info : r.interior_info;
    if (!f)
      throw InputError("no " + std::string(to_string(camera)) + " camera footage in recording " + r.key,
                       camera == Camera::Interior ? "this camera or drive has no interior camera; try --camera road"
                                                  : "");
    if (info.state == Mp4State::NoMoov)
      throw InputError(f->rel + " is truncated (no moov index, power cut while recording)",
                       "rebuild it first: nexcut salvage " + (f->path.empty() ? f->rel : f->path.string()) + " -o repaired.mp4");
    if (info.state != Mp4State::Ok && info.state != Mp4State::Malformed)
      throw InputError(f->rel + " is not playable: " + std::string(to_string(info.state)) +
                       (info.problem.empty() ? "" : " (" + info.problem + ")"));
    if (info.state == Mp4State::Malformed && info.problem != "not probed")
      throw InputError(f->rel + " is not playable: " + info.problem);
    if (i > 0) {
      const Recording& p = *hit[i - 1];
      const int64_t gap = r.start - end_of(p);
      if (gap > 2000)
        throw InputError("footage has a gap from " + format_iso(end_of(p), true) + " to " + format_iso(r.start, true),
                         "cut the two parts separately");
      if (gap < -2000)
        throw InputError("recordings " + p.key + " and " + r.key + " overlap", "cut them separately");
    }
  }
  const LocalTime first = hit.front()->start, last = end_of(*hit.back());
  if (from < first) {
    ctx.log->warn("the footage starts at {}: clip starts there instead of at {}", format_iso(first, true),
                  format_iso(from, true));
    from = first;
  }
  if (to > last) {
    ctx.log->warn("the footage ends at {}: clip ends there instead of at {}", format_iso(last, true),
                  format_iso(to, true));
    to = last;
  }
  return hit;
}

Plan plan_clip(const CardScan& scan, LocalTime from, LocalTime to, Camera camera, bool snap, const Context& ctx) {
  Plan plan;
  plan.camera = camera;
  const auto recs = footage_for(scan, from, to, camera, ctx);
  plan.from = from;
  plan.to = to;
  for (const Recording* r : recs) {
    ctx.check_interrupt();
    const CardFile& f = camera == Camera::Road ? *r->road : *r->interior;
    Piece p;
    p.rec = r;
    p.in = open_source(media_ref(scan, f), r->start);
    const Input& in = *p.in;
    const AVRational ms{1, 1000};
    size_t i = 0;
    const auto& fr = in.frames;
    while (i < fr.size() && av_compare_ts(fr[i].ts - in.origin, in.vtb, from - r->start, ms) < 0) ++i;
    size_t j = i;
    while (j < fr.size() && av_compare_ts(fr[j].ts - in.origin, in.vtb, to - r->start, ms) < 0) ++j;
    if (j == i) continue;  // no frame of this file in the window
    p.first = i;
    p.last = j - 1;
    if (!plan.pieces.empty()) {
      const AVCodecParameters* a = plan.pieces.front().in->vst()->codecpar;
      const AVCodecParameters* b = in.vst()->codecpar;
      // A change of picture size mid-drive (a camera setting): one clip
      // cannot hold both without scaling one of them, which no evidence
      // should do quietly.
      if (a->width != b->width || a->height != b->height) {
        auto size = [](const AVCodecParameters* c) { return std::to_string(c->width) + "x" + std::to_string(c->height); };
        throw InputError(f.rel + " is " + size(b) + ", the footage before it " + size(a) +
                             ": a clip cannot cross a change of picture size",
                         "cut up to " + format_iso(r->start) + " and from it as two clips");
      }
    }
    plan.pieces.push_back(std::move(p));
  }
  if (plan.pieces.empty())
    throw InputError("no " + std::string(to_string(camera)) + " frame between " + format_iso(from, true) + " and " +
                     format_iso(to, true));
  if (snap) {
    Piece& p = plan.pieces.front();
    while (p.first > 0 && !p.in->frames[p.first].key) --p.first;
  }
  // One time base for the clip: the files' own when they share one (their
  // packets keep their timestamps), else 1/90000, which holds every frame
  // step of 24, 25, 30, 60 and 30000/1001 fps exactly.
  plan.tb = plan.pieces.front().in->vtb;
  for (const Piece& p : plan.pieces)
    if (av_cmp_q(p.in->vtb, plan.tb) != 0) plan.tb = AVRational{1, 90000};
  if (av_cmp_q(plan.tb, plan.pieces.front().in->vtb) != 0) {
    ctx.log->debug("the files' video time bases differ: the clip's is 1/90000");
    for (Piece& p : plan.pieces) p.otb = plan.tb;
  }
  plan.layout();
  return plan;
}

std::vector<Range> whole(Plan& plan) {
  std::vector<Range> r;
  for (auto& p : plan.pieces) r.push_back({&p, p.first, p.last});
  return r;
}

std::optional<std::pair<double, double>> position_at(const CardScan& scan, LocalTime t) {
  const Recording* r = scan.recording_at(t);
  if (!r) {
    // The end of the last segment: its own sidecar still applies.
    for (const auto& x : scan.recordings)
      if (t >= x.start && t <= x.end()) r = &x;
  }
  if (!r || !r->gps) return std::nullopt;
  std::vector<GpsFix> fixes;
  try {
    fixes = parse_nmea(scan.read(*r->gps));
  } catch (const Error&) {
    return std::nullopt;
  }
  if (fixes.empty()) return std::nullopt;
  // Fixes are 1 Hz from the segment's start; place them on the camera clock
  // by their offset from the first (robust to a reset camera clock).
  const double rel = static_cast<double>(t - r->start) / 1000.0;
  const GpsFix* prev = nullptr;
  for (const auto& g : fixes) {
    if (!g.valid) continue;
    const double gt = static_cast<double>(g.utc - fixes.front().utc) / 1000.0;
    if (gt <= rel) {
      prev = &g;
      continue;
    }
    if (!prev) return std::pair{g.lat, g.lon};
    const double pt = static_cast<double>(prev->utc - fixes.front().utc) / 1000.0;
    const double a = (rel - pt) / std::max(gt - pt, 1e-9);
    return std::pair{prev->lat + a * (g.lat - prev->lat), prev->lon + a * (g.lon - prev->lon)};
  }
  if (prev) return std::pair{prev->lat, prev->lon};
  return std::nullopt;
}

MuxMeta meta_for(const CardScan& scan, const Plan& plan, const std::string& what) {
  MuxMeta m;
  m.start = plan.start();
  m.utc_offset_min = scan.camera ? scan.camera->utc_offset_min : 0;
  if (auto pos = position_at(scan, m.start)) m.lat = pos->first, m.lon = pos->second;
  const Input& in = *plan.pieces.front().in;
  m.location = in.location;
  m.make = !in.make.empty() ? in.make : "Nexar";
  m.model = !in.model.empty() ? in.model : (scan.model ? scan.model->name : "");
  m.comment = "nexcut " + what + " " + format_iso(m.start, true) + " to " + format_iso(plan.end(), true);
  return m;
}

}  // namespace nex::cut::detail
