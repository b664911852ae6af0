// nexsim: emulates a Nexar camera writing footage onto a card folder.
#include <iostream>

#include "nex/camera_server.hpp"
#include "nex/cli.hpp"
#include "nex/error.hpp"
#include "nex/footage.hpp"
#include "nex/sim.hpp"
#include "nex/timeutil.hpp"
#include "nex/units.hpp"

namespace {

nex::LocalTime time_opt(const std::string& s) {
  auto t = nex::parse_iso(s);
  if (!t) throw nex::UsageError("bad time '" + s + "'", "use ISO 8601, e.g. 2026-11-20T08:12:00");
  return *t;
}

int64_t duration_opt(const std::string& s, const char* what) {
  auto d = nex::parse_duration(s);
  if (!d || *d <= 0) throw nex::UsageError(std::string("bad ") + what + " '" + s + "'", "e.g. 25m, 1h30m, 90s");
  return *d;
}

void print_report(nex::cli::Invocation& inv, const nex::sim::RunReport& r) {
  nex::Records rec({{"start", "START"},
                    {"end", "END"},
                    {"written", "WRITTEN", true},
                    {"deleted", "ROTATED OUT", true},
                    {"size", "SIZE", true},
                    {"events", "EVENTS"}});
  nex::ojson row;
  row["start"] = nex::format_iso(r.start);
  row["end"] = nex::format_iso(r.end);
  row["written"] = r.recordings_written;
  row["deleted"] = r.recordings_deleted;
  row["bytes"] = r.bytes_written;
  row["size"] = nex::format_size(r.bytes_written);
  nex::ojson evs = nex::ojson::array();
  for (const auto& e : r.events) evs.push_back(e.id);
  row["events"] = evs;
  rec.add(row);
  rec.write(*inv.out, inv.format);
}

}  // namespace

int main(int argc, char** argv) {
  nex::cli::Tool tool("nexsim", "nexsim - emulate a Nexar dash cam writing footage onto a card folder");
  CLI::App& app = tool.app();
  app.require_subcommand(1);
  app.footer(
      "Examples:\n"
      "  nexsim init card --model pro --capacity 32G --utc-offset +02:00\n"
      "  nexsim drive card --start 2026-11-20T08:12:00 --duration 10m --interior --event hard-brake@6m\n"
      "  nexsim park card --duration 8h --incident impact@2h\n"
      "  nexsim serve card --listen 127.0.0.1:8080  serve the card as the camera's Wi-Fi API until Ctrl-C\n");

  std::string card, model, capacity, serial, utc_offset = "+00:00", sos_quota;
  auto* init = app.add_subcommand("init", "Create an empty card for a camera model");
  init->add_option("CARD", card, "Card folder to create")->required();
  init->add_option("--model", model, "Camera model: pro, beam, nexc1, nexc2, nexs1, one")->required()
      ->check(CLI::IsMember({"pro", "beam", "nexc1", "nexc2", "nexs1", "one"}, CLI::ignore_case));
  init->add_option("--capacity", capacity, "Card capacity, e.g. 32G")->required();
  init->add_option("--serial", serial, "Camera serial (default: derived from model and folder)");
  init->add_option("--utc-offset", utc_offset, "Camera clock offset from UTC, e.g. +02:00");
  init->add_option("--sos-quota", sos_quota, "sos/ quota (default 10% of capacity)");
  // Emulate another camera's recording format (default: the model's, H.264
  // 30 fps, no B-frames, an IDR every second, MP4 with AAC).
  std::string codec, fps, bframes, gop, container;
  init->add_option("--codec", codec, "Video codec (default h264; hevc: x265, hvc1)")->type_name("CODEC:{h264,hevc}");
  init->add_option("--fps", fps, "Frame rate (default 30; 30000/1001 or 29.97 for NTSC)")
      ->type_name("RATE:{24,25,30,50,60,24000/1001,30000/1001,60000/1001}");
  init->add_option("--bframes", bframes, "Consecutive B-frames (default 0)")->type_name("N:{0,1,2,3,4}");
  init->add_option("--gop", gop, "Keyframe interval, e.g. 0.5s, 1s (default), 2s")->type_name("DURATION");
  init->add_option("--container", container,
                   "Container (default mp4 with AAC; mov: .MOV files with PCM audio, as Novatek-based cameras)")
      ->type_name("FORMAT:{mp4,mov}");

  std::string start, duration, seed_s;
  bool interior = false, night = false, power_cut = false, clock_reset = false;
  std::vector<std::string> events;
  uint64_t seed = 1;
  auto* drive = app.add_subcommand("drive", "Record a drive: 60 s segments, sidecars, G-sensor events");
  drive->add_option("CARD", card, "Card folder")->required();
  drive->add_option("--start", start, "Camera-local start time (ISO 8601); default: after the newest footage");
  drive->add_option("--duration", duration, "Drive length, e.g. 25m")->required();
  drive->add_flag("--interior", interior, "Record the interior camera too (720p with audio)");
  drive->add_flag("--night", night, "Interior camera in night (IR) mode");
  drive->add_option("--event", events, "Driving event KIND@TIME: hard-brake@6m, collision@14m30s (repeatable)");
  drive->add_option("--seed", seed, "Seed for route and sensor noise");
  drive->add_flag("--power-cut", power_cut, "Lose power at the end: the last segment is left without its index");
  drive->add_flag("--clock-reset", clock_reset, "The camera clock starts at 2000-01-01 (dead RTC battery)");
  std::string pace;
  drive->add_option("--pace", pace,
                    "Record in real time or a multiple of it (1x, 10x): each segment stays open\n"
                    "(temporary names) for its length / FACTOR; default: as fast as it can")
      ->type_name("FACTOR");

  std::string clip_len = "20s";
  std::vector<std::string> incidents;
  auto* park = app.add_subcommand("park", "Park: record clips on impacts and motion");
  park->add_option("CARD", card, "Card folder")->required();
  park->add_option("--start", start, "Camera-local start (default: when the newest drive ended)");
  park->add_option("--duration", duration, "Parking period, e.g. 8h")->required();
  park->add_option("--incident", incidents, "Incident KIND@TIME: impact@2h, motion@5h10m (repeatable)");
  park->add_option("--clip-length", clip_len, "Length of each parking clip");
  park->add_option("--seed", seed, "Seed for sensor noise");

  bool warm = false, show_path = false;
  auto* cache = app.add_subcommand("cache", "Manage the cache of encoded footage templates");
  cache->add_flag("--warm", warm, "Encode every template now (with CARD: those of its recording format)");
  std::string warm_card;
  cache->add_option("CARD", warm_card, "A card made by 'nexsim init' (--codec, --fps, ...): warm its camera's templates");
  cache->add_flag("--path", show_path, "Print the cache folder");

  std::string listen = "127.0.0.1:8080", ready_file;
  std::vector<std::string> faults;
  int max_clients = 3, live_fps = 5;
  auto* serve = app.add_subcommand("serve", "Serve the card over HTTP as the camera's Wi-Fi API (docs/camera-api.md)");
  serve->add_option("CARD", card, "Card folder")->required();
  serve->add_option("--listen", listen, "Address HOST:PORT (port 0: a free port); not loopback: a warning")
      ->type_name("HOST:PORT");
  serve->add_option("--ready-file", ready_file, "Write the base URL to FILE once listening (removed on exit)")
      ->type_name("FILE");
  serve->add_option("--max-clients", max_clients, "Concurrent requests; one more gets 503")->check(CLI::Range(1, 64));
  serve->add_option("--fault", faults,
                    "Misbehave: drop-after=SIZE, power-off=SIZE, stall=SECONDS, reset=P, http500=P, ignore-range, short-range, "
                    "stale-size, empty-listing-once, clock-skew=SECONDS (comma-separated, repeatable)")
      ->type_name("SPEC");
  serve->add_option("--seed", seed, "Seed for the faults that fire by chance");
  serve->add_option("--live-fps", live_fps, "Frames a second of /live.mjpg")->check(CLI::Range(1, 30));
  std::string rate;
  serve->add_option("--rate", rate, "The Wi-Fi link: file bodies share SIZE bytes a second (20M); default unlimited")
      ->type_name("SIZE");
  std::string record, speed = "10x";
  serve->add_option("--record", record,
                    "Keep recording while serving: a drive of DURATION (new segments, loop\n"
                    "overwrite, events), paced by --speed")
      ->type_name("DURATION");
  serve->add_option("--speed", speed, "Pace of --record: 10x (the default) closes a 60 s segment every 6 s")
      ->type_name("FACTOR");
  serve->add_option("--event", events, "With --record: a driving event KIND@TIME, e.g. hard-brake@1m (repeatable)");

  for (auto* sub : {init, drive, park, cache, serve}) tool.add_common_options(*sub);

  return tool.run(argc, argv, [&](nex::cli::Invocation& inv) {
    const auto cache_dir = nex::default_cache_dir();
    if (init->parsed()) {
      nex::sim::InitOptions o;
      o.card = card;
      o.model = model;
      auto cap = nex::parse_size(capacity);
      if (!cap) throw nex::UsageError("bad capacity '" + capacity + "'", "e.g. 32G, 256G, 500M");
      o.capacity = *cap;
      o.serial = serial;
      auto off = nex::parse_utc_offset(utc_offset);
      if (!off) throw nex::UsageError("bad UTC offset '" + utc_offset + "'", "e.g. +02:00, -05:00, Z");
      o.utc_offset_min = *off;
      if (!sos_quota.empty()) {
        auto q = nex::parse_size(sos_quota);
        if (!q) throw nex::UsageError("bad sos quota '" + sos_quota + "'");
        o.sos_quota = *q;
      }
      // One line for a bad value: what was given and what is accepted.
      auto bad = [](const std::string& opt, const std::string& v, const char* accepted) {
        return nex::UsageError("bad " + opt + " '" + v + "': " + accepted);
      };
      if (!codec.empty() && !(o.format.codec = nex::parse_video_codec(codec)))
        throw bad("--codec", codec, nex::kCodecHint);
      if (!fps.empty() && !(o.format.fps = nex::parse_frame_rate(fps))) throw bad("--fps", fps, nex::kFpsHint);
      if (!bframes.empty() && !(o.format.bframes = nex::parse_bframes(bframes)))
        throw bad("--bframes", bframes, nex::kBframesHint);
      if (!gop.empty() && !(o.format.gop_ms = nex::parse_gop(gop))) throw bad("--gop", gop, nex::kGopHint);
      if (!container.empty() && !(o.format.container = nex::parse_container(container)))
        throw bad("--container", container, nex::kContainerHint);
      nex::sim::init_card(o, inv.ctx);
      return 0;
    }
    if (drive->parsed()) {
      nex::sim::DriveOptions o;
      o.card = card;
      if (!start.empty()) o.start = time_opt(start);
      o.duration_ms = duration_opt(duration, "duration");
      o.interior = interior;
      o.night = night;
      if (night && !interior) throw nex::UsageError("--night applies to the interior camera", "add --interior");
      for (const auto& e : events) o.events.push_back(nex::sim::parse_planned_event(e));
      o.seed = seed;
      o.power_cut = power_cut;
      o.clock_reset = clock_reset;
      o.cache_dir = cache_dir;
      if (!pace.empty()) o.pace = nex::sim::parse_pace(pace);
      print_report(inv, nex::sim::simulate_drive(o, inv.ctx));
      return 0;
    }
    if (park->parsed()) {
      nex::sim::ParkOptions o;
      o.card = card;
      if (!start.empty()) o.start = time_opt(start);
      o.duration_ms = duration_opt(duration, "duration");
      o.clip_ms = duration_opt(clip_len, "clip length");
      for (const auto& e : incidents) o.incidents.push_back(nex::sim::parse_planned_event(e));
      o.seed = seed;
      o.cache_dir = cache_dir;
      print_report(inv, nex::sim::simulate_park(o, inv.ctx));
      return 0;
    }
    if (serve->parsed()) {
      nex::serve::ServeOptions o;
      o.card = card;
      o.listen = nex::serve::parse_listen(listen);
      o.ready_file = ready_file;
      o.max_clients = max_clients;
      std::string spec;
      for (const auto& f : faults) spec += (spec.empty() ? "" : ",") + f;
      if (!faults.empty()) o.faults = nex::serve::parse_faults(spec);
      o.seed = seed;
      o.live_fps = live_fps;
      if (!rate.empty()) {
        const auto r = nex::parse_size(rate);
        if (!r || *r == 0) throw nex::UsageError("bad --rate '" + rate + "'", "bytes a second: 20M, 2.5M");
        o.rate = *r;
      }
      if (!record.empty()) {
        nex::sim::DriveOptions d;
        d.card = card;
        d.duration_ms = duration_opt(record, "--record");
        for (const auto& e : events) d.events.push_back(nex::sim::parse_planned_event(e));
        d.seed = seed;
        d.cache_dir = cache_dir;
        d.pace = nex::sim::parse_pace(speed);
        o.record = d;
      } else if (!events.empty()) {
        throw nex::UsageError("--event needs --record", "e.g. --record 10m --event hard-brake@2m");
      }
      inv.signal_is_normal_stop = true;
      return nex::serve::serve_camera(o, inv.ctx, *inv.out);
    }
    if (!warm_card.empty() && !warm) throw nex::UsageError("a CARD is only for --warm", "nexsim cache --warm CARD");
    if (show_path) *inv.out << cache_dir.string() << '\n';
    if (warm) {
      std::optional<nex::CameraIdentity> id;
      if (!warm_card.empty()) id = nex::load_camera_yaml(warm_card);
      for (const auto& p : nex::sim::camera_templates(id)) {
        nex::Progress bar(inv.ctx, "encoding " + p.cache_key(), 100);
        nex::ensure_template(p, cache_dir, [&](double f) { bar.update(static_cast<uint64_t>(f * 100)); });
      }
    }
    return 0;
  });
}
