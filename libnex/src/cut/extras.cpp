// Stills (JPEG with Exif) and the window's telemetry (GPX + G-sensor CSV).
#include <cstdio>

#include "cut/internal.hpp"
#include "media/exif.hpp"
#include "nex/error.hpp"
#include "nex/telemetry.hpp"

namespace nex::cut {

using namespace detail;

ClipResult make_still(const CardScan& scan, LocalTime t, Camera camera, const fs::path& out, const Context& ctx,
                      bool overwrite) {
  check_output(out, overwrite);
  LocalTime a = t, b = t + 1;
  footage_for(scan, a, b, camera, ctx);  // t must lie in the footage
  // The frame shown at t: the last one captured at or before it.
  Plan plan = plan_clip(scan, t - 1000, t + 1, camera, false, Context::quiet());
  Piece& p = plan.pieces.back();
  FrameReader reader({{&p, p.last, p.last}}, false, ctx);
  int64_t ts = 0;
  AVFrame* f = reader.next(&ts);
  if (!f) throw InputError(p.in->file.string() + ": cannot decode the frame at " + format_iso(t, true));
  const LocalTime shown = p.in->time_of(p.in->frames[p.last].ts);

  media::SwsPtr sws(sws_getContext(f->width, f->height, static_cast<AVPixelFormat>(f->format), f->width, f->height,
                                   AV_PIX_FMT_YUVJ420P, SWS_BICUBIC | SWS_ACCURATE_RND, nullptr, nullptr, nullptr));
  if (!sws) throw IoError("cannot convert the frame for JPEG");
  const int* coef = sws_getCoefficients(SWS_CS_ITU709);
  sws_setColorspaceDetails(sws.get(), coef, f->color_range == AVCOL_RANGE_JPEG ? 1 : 0, coef, 1, 0, 1 << 16, 1 << 16);
  media::FramePtr j(av_frame_alloc());
  if (!j) throw IoError("out of memory");
  j->format = AV_PIX_FMT_YUVJ420P;
  j->width = f->width;
  j->height = f->height;
  j->color_range = AVCOL_RANGE_JPEG;
  media::check_av_io(av_frame_get_buffer(j.get(), 0), "frame buffer");
  sws_scale(sws.get(), f->data, f->linesize, 0, f->height, j->data, j->linesize);

  const AVCodec* codec = avcodec_find_encoder(AV_CODEC_ID_MJPEG);
  if (!codec) throw IoError("FFmpeg has no mjpeg encoder");
  media::CodecContextPtr enc(avcodec_alloc_context3(codec));
  if (!enc) throw IoError("out of memory");
  enc->width = f->width;
  enc->height = f->height;
  enc->pix_fmt = AV_PIX_FMT_YUVJ420P;
  enc->color_range = AVCOL_RANGE_JPEG;
  enc->time_base = {1, 30};
  enc->flags |= AV_CODEC_FLAG_QSCALE;
  enc->global_quality = 2 * FF_QP2LAMBDA;
  media::check_av_io(avcodec_open2(enc.get(), codec, nullptr), "open mjpeg encoder");
  j->quality = enc->global_quality;
  j->pts = 0;
  media::check_av_io(avcodec_send_frame(enc.get(), j.get()), "encode JPEG");
  media::check_av_io(avcodec_send_frame(enc.get(), nullptr), "encode JPEG");
  media::PacketPtr pkt(av_packet_alloc());
  if (!pkt) throw IoError("out of memory");
  media::check_av_io(avcodec_receive_packet(enc.get(), pkt.get()), "encode JPEG");

  media::ExifInfo ei;
  ei.time = shown;
  ei.subseconds = true;
  if (auto pos = position_at(scan, shown)) ei.lat = pos->first, ei.lon = pos->second;
  ei.make = !p.in->make.empty() ? p.in->make : "Nexar";
  ei.model = !p.in->model.empty() ? p.in->model : (scan.model ? scan.model->name : "");
  ei.width = f->width;
  ei.height = f->height;
  const std::string jpeg = media::insert_exif(
      std::string_view(reinterpret_cast<const char*>(pkt->data), static_cast<size_t>(pkt->size)),
      media::build_exif(ei));
  write_file_atomic(out, jpeg);

  ClipResult r;
  r.file = out;
  r.camera = to_string(camera);
  r.mode = Mode::Reencode;
  r.requested_from = r.requested_to = t;
  r.start = r.end = shown;
  r.frames = 1;
  r.reencoded_frames = 1;
  r.bytes = jpeg.size();
  return r;
}

std::vector<fs::path> write_telemetry(const CardScan& scan, LocalTime from, LocalTime to, const fs::path& clip,
                                      bool overwrite) {
  std::vector<const Recording*> recs;
  for (const auto* list : {&scan.recordings, &scan.parking}) {
    for (const auto& r : *list)
      if (r.start < to && r.start + std::max<int64_t>(r.duration_ms, 60000) > from) recs.push_back(&r);
    if (!recs.empty()) break;
  }
  std::vector<TelemetryText> texts;
  for (const Recording* r : recs) {
    TelemetryText t;
    t.start = r->start;
    for (auto [side, text] : {std::pair{&r->gps, &t.gps}, std::pair{&r->acc, &t.acc}}) {
      if (!*side) continue;
      try {
        *text = scan.read(**side);
      } catch (const IoError&) {
      }
    }
    texts.push_back(std::move(t));
  }
  return write_telemetry(texts, from, to, clip, overwrite);
}

std::vector<fs::path> write_telemetry(const std::vector<TelemetryText>& recs, LocalTime from, LocalTime to,
                                      const fs::path& clip, bool overwrite) {
  const fs::path gpx_path = fs::path(clip).replace_extension(".gpx");
  const fs::path csv_path = fs::path(clip).replace_extension(".csv");
  std::string gpx =
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      "<gpx version=\"1.1\" creator=\"nexcut\" xmlns=\"http://www.topografix.com/GPX/1/1\">\n"
      "  <trk>\n    <name>" + clip.stem().string() + " (" + format_iso(from, true) + " to " + format_iso(to, true) +
      ")</name>\n    <trkseg>\n";
  std::string csv = "time,ms,x,y,z\n";
  size_t npts = 0, nacc = 0;
  char buf[256];
  for (const TelemetryText& r : recs) {
    if (!r.gps.empty()) {
      const std::vector<GpsFix> fixes = parse_nmea(r.gps);
      for (const auto& g : fixes) {
        const LocalTime local = r.start + (g.utc - fixes.front().utc);
        if (!g.valid || local < from || local >= to) continue;
        const CivilTime c = to_civil(g.utc);
        std::snprintf(buf, sizeof buf,
                      "      <trkpt lat=\"%.6f\" lon=\"%.6f\"><time>%04d-%02d-%02dT%02d:%02d:%02d.%03dZ</time></trkpt>\n",
                      g.lat, g.lon, c.year, c.month, c.day, c.hour, c.minute, c.second, c.millis);
        gpx += buf;
        ++npts;
      }
    }
    if (!r.acc.empty()) {
      const std::vector<AccSample> acc = parse_acc(r.acc);
      for (const auto& s : acc) {
        const LocalTime local = r.start + s.ms;
        if (local < from || local >= to) continue;
        std::snprintf(buf, sizeof buf, "%s,%lld,%.4f,%.4f,%.4f\n", format_iso(local, true).c_str(),
                      static_cast<long long>(local - from), s.x, s.y, s.z);
        csv += buf;
        ++nacc;
      }
    }
  }
  gpx += "    </trkseg>\n  </trk>\n</gpx>\n";
  std::vector<fs::path> out;
  for (const auto& [path, has, text] : {std::tuple{gpx_path, npts > 0, &gpx}, std::tuple{csv_path, nacc > 0, &csv}}) {
    if (!has) continue;
    check_output(path, overwrite);
    write_file_atomic(path, *text);
    out.push_back(path);
  }
  return out;
}

}  // namespace nex::cut
