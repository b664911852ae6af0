// nexcut: frame-exact clips from a card's segment files (road and/or
// interior camera), stills, telemetry, and salvage of truncated recordings.
#include <cmath>
#include <iostream>

#include "nex/cli.hpp"
#include "nex/cut.hpp"
#include "nex/error.hpp"
#include "nex/evidence.hpp"
#include "nex/salvage.hpp"
#include "nex/units.hpp"

namespace {

int64_t bitrate_opt(const std::string& s) {
  char* end = nullptr;
  const double v = std::strtod(s.c_str(), &end);
  double mul = 1;
  const std::string unit = end ? std::string(end) : "";
  if (unit == "k" || unit == "K") mul = 1e3;
  else if (unit == "m" || unit == "M") mul = 1e6;
  else if (!unit.empty()) throw nex::UsageError("bad bitrate '" + s + "'", "e.g. 8M, 6000k");
  if (!(v > 0) || end == s.c_str()) throw nex::UsageError("bad bitrate '" + s + "'", "e.g. 8M, 6000k");
  return static_cast<int64_t>(std::llround(v * mul));
}

int timelapse_opt(std::string s) {
  if (!s.empty() && (s.back() == 'x' || s.back() == 'X')) s.pop_back();
  char* end = nullptr;
  const long v = std::strtol(s.c_str(), &end, 10);
  if (s.empty() || *end || v < 2 || v > 100000) throw nex::UsageError("bad timelapse factor '" + s + "'", "e.g. 30x");
  return static_cast<int>(v);
}

void print_clips(nex::cli::Invocation& inv, const std::vector<nex::cut::ClipResult>& clips) {
  nex::Records rec({{"file", "FILE"},
                    {"camera", "CAMERA"},
                    {"mode", "MODE"},
                    {"start", "START"},
                    {"end", "END"},
                    {"frames", "FRAMES", true},
                    {"size", "SIZE", true}});
  for (const auto& c : clips) {
    nex::ojson j = c.to_json();
    j["size"] = nex::format_size(c.bytes);
    rec.add(std::move(j));
  }
  rec.write(*inv.out, inv.format);
}

}  // namespace

int main(int argc, char** argv) {
  nex::cli::Tool tool("nexcut", "nexcut - frame-exact clips from dash-cam footage, stills, and salvage of truncated recordings");
  CLI::App& app = tool.app();
  app.footer(
      "Times: ISO 8601 (2026-11-20T08:13:05.5), a time of day in a drive (08:13:05) or relative\n"
      "(+90s: from the start of --drive or of the newest drive; for --to: after --from).\n"
      "\n"
      "Examples:\n"
      "  nexcut /media/card --from 08:13:05 --to +30s -o clip.mp4\n"
      "  nexcut /media/card --event 20261120_081800_hard-brake --camera both --telemetry -o event.mp4\n"
      "  nexcut /media/card --at 08:14:00 --before 5s --after 5s --layout pip -o pip.mp4\n"
      "  nexcut /media/card --drive 20261120_081200 --timelapse 30x -o drive.mp4\n"
      "  nexls /media/card --events --format ndjson | nexcut /media/card --items - -o clips/\n"
      "  nexcut /media/card --at 08:18:00 --before 2s --after 3s --overlay time,speed,g,gps,event -o burned.mp4\n"
      "  nexcut /media/card --still 08:14:00.5 -o frame.jpg\n"
      "  nexcut salvage /media/customer-card/drive/20261120_090100_1.mp4 -o rescued.mp4\n"
      "\n"
      "Exit status: 0 ok, 1 error, 2 usage error, 3 some --items failed, 130 interrupted.\n");

  nex::cut::Options o;
  std::string card, camera = "road", layout, timelapse, bitrate, items;
  bool copy = false, exact = false, reencode = false, no_audio = false;
  app.add_option("CARD", card, "Card folder (SD card, card reader mount or a copy), or a camera at http://HOST[:PORT]");
  auto* sel = app.add_option_group("Selection");
  sel->add_option("--from", o.selection.from, "Clip start")->type_name("T");
  sel->add_option("--to", o.selection.to, "Clip end (exclusive); relative to --from when a duration")->type_name("T");
  sel->add_option("--at", o.selection.at, "A moment: the clip runs from --before it to --after it")->type_name("T");
  sel->add_option("--before", o.selection.before, "With --at or --event: time before (default 20s)")->type_name("DUR");
  sel->add_option("--after", o.selection.after, "With --at or --event: time after (default 10s)")->type_name("DUR");
  sel->add_option("--event", o.selection.event, "An event id as nexls names it")->type_name("ID");
  sel->add_option("--drive", o.selection.drive, "A whole drive (or the drive times refer to)")->type_name("ID");
  sel->add_option("--items", items, "nexls NDJSON lines (FILE or - for stdin): one clip per line into folder -o")
      ->type_name("FILE");
  sel->add_option("--still", o.still, "Write a JPEG of the frame shown at T (EXIF time + GPS)")->type_name("T");
  bool live = false;
  std::string live_duration;
  sel->add_flag("--live", live, "Record a camera's live view (CARD is http://HOST[:PORT]) for --duration");
  sel->add_option("--duration", live_duration, "With --live: how long to record, e.g. 30s")->type_name("DUR");
  auto* camera_opt =
      app.add_option("--camera", camera, "road, interior or both (default road; both with --layout)")
          ->check(CLI::IsMember({"road", "interior", "both"}));
  app.add_option("--layout", layout, "Both cameras in one picture (pip, side, stack); implies --camera both")
      ->check(CLI::IsMember({"pip", "side", "stack"}));
  auto* modes = app.add_option_group("Mode");
  modes->add_flag("--copy", copy, "Stream copy from the keyframe at or before the start (fastest)");
  modes->add_flag("--exact", exact, "Frame-exact smart cut: re-encode only the partial GOPs at the ends (default)");
  modes->add_flag("--reencode", reencode, "Re-encode every frame (see --preset, --crf, --bitrate)");
  modes->add_option("--timelapse", timelapse, "Speed up N times (e.g. 30x): every Nth frame")->type_name("Nx");
  modes->require_option(0, 1);
  app.add_option("--codec", o.clip.encode.codec,
                 "Codec of a re-encode: h264 or hevc (default: the footage's; another with --exact re-encodes all)")
      ->check(CLI::IsMember({"h264", "hevc"}));
  app.add_option("--preset", o.clip.encode.preset, "x264/x265 preset for re-encoding")
      ->check(CLI::IsMember({"ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower",
                             "veryslow"}));
  app.add_option("--crf", o.clip.encode.crf, "x264/x265 quality for re-encoding (0-51, lower is better)")
      ->check(CLI::Range(0, 51));
  app.add_option("--bitrate", bitrate, "Average bitrate for re-encoding instead of --crf (e.g. 8M)");
  app.add_flag("--no-audio", no_audio, "Leave the interior audio out");
  std::string overlay;
  app.add_option("--overlay", overlay,
                 "Draw on every frame, at its capture time: time,speed,g,gps,event (any of them; re-encodes)")
      ->type_name("FIELDS");
  app.add_flag("--overlay-ms", o.clip.overlay.millis, "The overlay's time to the millisecond");
  app.add_flag("--telemetry", o.telemetry, "Write the window's GPS (.gpx) and G-sensor (.csv) next to the clip");
  app.add_option("-o,--output", o.output,
                 "Output file: .mp4, or .mov for QuickTime (PCM footage keeps its PCM sound); a folder with --items")
      ->type_name("PATH");
  app.add_flag("-y,--force", o.clip.overwrite, "Replace existing output files");
  std::string evidence_dir, sign_key;
  app.add_option("--evidence", evidence_dir,
                 "Write an evidence bundle into the new folder DIR instead of -o: the clip(s) of both cameras,\n"
                 "the source segments and sidecars, telemetry, evidence.json, SHA256SUMS (nexls verify DIR)")
      ->type_name("DIR");
  app.add_option("--sign-key", sign_key, "With --evidence: sign evidence.json with this Ed25519 private key (PEM)")
      ->type_name("KEY.pem");

  nex::cut::SalvageOptions so;
  std::string reference;
  auto* salvage = app.add_subcommand("salvage", "Rebuild a playable MP4 from a truncated recording (no moov)");
  salvage->add_option("FILE", so.input, "The truncated recording")->required();
  salvage->add_option("-o,--output", so.output, "Output MP4")->required()->type_name("FILE");
  salvage->add_option("--reference", reference,
                      "A healthy recording of the same camera (default: the nearest one next to FILE)")
      ->type_name("FILE");
  salvage->add_flag("-y,--force", so.overwrite, "Replace an existing output file");
  tool.add_common_options(*salvage);

  return tool.run(argc, argv, [&](nex::cli::Invocation& inv) {
    if (salvage->parsed()) {
      if (!reference.empty()) so.reference = reference;
      const nex::cut::SalvageReport r = nex::cut::salvage(so, inv.ctx);
      nex::Records rec({{"output", "OUTPUT"},
                        {"video_frames", "VIDEO FRAMES", true},
                        {"audio_frames", "AUDIO FRAMES", true},
                        {"duration_s", "SECONDS", true},
                        {"tail_bytes", "TORN TAIL (B)", true},
                        {"reference", "REFERENCE"}});
      rec.add(r.to_json());
      rec.write(*inv.out, inv.format);
      return 0;
    }
    if (card.empty()) throw nex::UsageError("no card given", "nexcut CARD --from T --to T -o FILE (see --help)");
    if (live || !live_duration.empty()) {
      if (!live) throw nex::UsageError("--duration is for --live", "add --live, or give --from/--to for a clip");
      if (!o.selection.from.empty() || !o.selection.at.empty() || !o.selection.event.empty() ||
          !o.selection.drive.empty() || !items.empty() || !o.still.empty() || !evidence_dir.empty())
        throw nex::UsageError("--live records what the camera sees now: drop the other selections");
      if (camera == "both" || !layout.empty())
        throw nex::UsageError("--live records one camera's view", "--camera road or --camera interior");
      if (o.output.empty()) throw nex::UsageError("no output given", "add -o FILE");
      nex::cut::LiveOptions lo;
      lo.camera = card;
      lo.which = camera == "interior" ? nex::Camera::Interior : nex::Camera::Road;
      const auto d = nex::parse_duration(live_duration);
      if (live_duration.empty() || !d || *d <= 0)
        throw nex::UsageError("--live needs --duration", "e.g. --duration 30s");
      lo.duration_ms = *d;
      lo.output = o.output;
      lo.overwrite = o.clip.overwrite;
      print_clips(inv, {nex::cut::record_live(lo, inv.ctx)});
      return int{nex::kExitOk};
    }
    if (!sign_key.empty() && evidence_dir.empty()) throw nex::UsageError("--sign-key signs an evidence bundle", "add --evidence DIR");
    if (!evidence_dir.empty() && !o.output.empty()) throw nex::UsageError("--evidence DIR holds the clips; drop -o");
    if (o.output.empty() && evidence_dir.empty())
      throw nex::UsageError("no output given", "add -o FILE (a folder with --items)");
    o.card = card;
    // A layout always means both cameras; naming one camera with it is a contradiction.
    if (!layout.empty() && camera_opt->count() == 0) camera = "both";
    if (!layout.empty() && camera != "both")
      throw nex::UsageError("--layout " + layout + " combines both cameras, --camera " + camera + " names one",
                            "drop --camera (or use --camera both)");
    o.cameras = camera == "both" ? nex::cut::Cameras::Both
                                 : camera == "interior" ? nex::cut::Cameras::Interior : nex::cut::Cameras::Road;
    if (!layout.empty()) o.layout = *nex::cut::parse_layout(layout);
    if (copy) o.clip.mode = nex::cut::Mode::Copy;
    if (reencode) o.clip.mode = nex::cut::Mode::Reencode;
    if (!timelapse.empty()) {
      o.clip.mode = nex::cut::Mode::Timelapse;
      o.clip.timelapse = timelapse_opt(timelapse);
    }
    (void)exact;
    if (!bitrate.empty()) o.clip.encode.bitrate = bitrate_opt(bitrate);
    if (!overlay.empty()) {
      const bool ms = o.clip.overlay.millis;
      o.clip.overlay = nex::cut::parse_overlay(overlay);
      o.clip.overlay.millis = ms;
      if (copy) throw nex::UsageError("--overlay draws on the picture: --copy cannot", "drop --copy (the clip is re-encoded)");
      if (!o.still.empty()) throw nex::UsageError("--overlay is for clips, not --still");
    } else if (o.clip.overlay.millis) {
      throw nex::UsageError("--overlay-ms needs --overlay time");
    }
    o.clip.audio = !no_audio;
    if (!items.empty()) {
      o.items = items;
      o.items_in = &std::cin;
      if (!o.selection.from.empty() || !o.selection.at.empty() || !o.selection.event.empty())
        throw nex::UsageError("--items takes its windows from the lines; drop --from/--at/--event");
    }
    if (!evidence_dir.empty()) {
      if (!items.empty()) throw nex::UsageError("--evidence takes one selection, not --items", "make one bundle per item");
      nex::evidence::Options eo;
      eo.cut = o;
      eo.cameras_given = camera_opt->count() > 0 || !layout.empty();
      eo.dir = evidence_dir;
      if (!sign_key.empty()) eo.sign_key = sign_key;
      const nex::evidence::Report er = nex::evidence::build(eo, inv.ctx);
      print_clips(inv, er.clips);
      inv.ctx.log->info("evidence bundle {}: {} files, {}{}", er.dir.string(), er.files.size() + 2,
                        nex::format_size(er.bytes), er.fingerprint.empty() ? ", unsigned" : ", signed " + er.fingerprint);
      return int{nex::kExitOk};
    }
    const nex::cut::Report rep = nex::cut::run(o, inv.ctx);
    print_clips(inv, rep.clips);
    if (rep.failed.empty()) return int{nex::kExitOk};
    return rep.clips.empty() ? int{nex::kExitError} : int{nex::kExitPartial};
  });
}
