// nexls: lists drives, segments, events and parking clips on a card, and
// diagnoses cards for support staff (--check).
#include <iostream>

#include "nex/check.hpp"
#include "nex/evidence.hpp"
#include "nex/cli.hpp"
#include "nex/error.hpp"
#include "nex/fsutil.hpp"
#include "nex/listing.hpp"
#include "nex/report.hpp"
#include "nex/destination.hpp"
#include "nex/sync.hpp"
#include "nex/units.hpp"

namespace {

void print_check(nex::cli::Invocation& inv, const nex::CardScan& scan, const nex::CheckReport& rep) {
  std::ostream& out = *inv.out;
  if (inv.format == nex::Format::Json) {
    out << rep.to_json(scan).dump(2) << '\n';
    return;
  }
  if (inv.format != nex::Format::Table) {
    nex::Records r({{"severity", "SEVERITY"}, {"code", "CODE"}, {"path", "PATH"}, {"message", "MESSAGE"}});
    for (const auto& f : rep.findings) r.add(f.to_json());
    r.write(out, inv.format);
    return;
  }
  out << "card:      " << scan.where() << '\n';
  if (scan.camera)
    out << "camera:    " << scan.model->name << ", serial " << scan.camera->serial << ", firmware "
        << scan.camera->firmware << '\n';
  out << "footage:   " << scan.drives.size() << " drives, " << scan.recordings.size() << " segments, "
      << scan.parking.size() << " parking clips, " << scan.events.size() << " events\n";
  if (rep.capacity) {
    out << "used:      " << nex::format_size(rep.used) << " of " << nex::format_size(rep.capacity) << " ("
        << (rep.used * 100 / rep.capacity) << "%)\n";
  }
  if (rep.sos_quota)
    out << "sos/:      " << nex::format_size(rep.sos_used) << " of " << nex::format_size(rep.sos_quota) << " quota ("
        << (rep.sos_used * 100 / rep.sos_quota) << "%)\n";
  if (rep.horizon_hours)
    out << "horizon:   " << *rep.horizon_hours << " h of driving until the oldest footage is overwritten (at "
        << nex::format_size(rep.bytes_per_hour) << "/h)\n";
  if (!rep.findings.empty()) out << '\n';
  for (const auto& f : rep.findings)
    out << nex::to_string(f.severity) << ": " << (f.path.empty() ? "card" : f.path) << ": " << f.message << " ["
        << f.code << "]\n";
  out << "\nverdict:   " << rep.verdict() << '\n';
}

}  // namespace

int main(int argc, char** argv) {
  nex::cli::Tool tool("nexls", "nexls - list dash-cam footage on a card and diagnose cards");
  CLI::App& app = tool.app();
  app.footer(
      "Examples:\n"
      "  nexls /media/card                      drives (trips) on a card\n"
      "  nexls /media/card --events --kind collision --format ndjson\n"
      "  nexls /media/card --segments --since 2026-11-20T08:00:00 --camera interior\n"
      "  nexls /media/card --gpx 20261120_081200 > drive.gpx\n"
      "  nexls /media/card --report 20261120_081800_hard-brake -o report.html\n"
      "  nexls s3://bucket/dashcam/PRO-33C1F740/events/20261120_081800_hard-brake --report -o report.html\n"
      "                                                     the same page of a backed-up item\n"
      "  nexls /media/card --check              support report; exit 3 when problems are found\n"
      "  nexls s3://bucket/dashcam --events     what a backup holds (nexsync), same records\n");
  std::string card, camera, since, until, kind, gpx, output;
  bool drives = false, segments = false, events = false, parking = false, clips = false, check = false;
  app.add_option("CARD", card, "Card folder (SD card, card reader mount or a copy), a camera at http://HOST[:PORT],\nor a backup: s3://BUCKET/PREFIX or a nexsync folder");
  auto* g = app.add_option_group("View");
  g->add_flag("--drives", drives, "Drives (trips) with distance, events and score (default)");
  g->add_flag("--segments", segments, "Every recording segment");
  g->add_flag("--events", events, "G-sensor events");
  g->add_flag("--parking", parking, "Parking clips");
  g->add_flag("--clips", clips, "Saved clips (backups only)");
  g->add_flag("--check", check, "Diagnose the card: report every problem; exit 3 when any is found");
  g->add_option("--gpx", gpx, "Write the GPS track of drive ID as GPX 1.1")->type_name("DRIVE");
  nex::report::Options ro;
  auto* report = g->add_option("--report", ro.event,
                               "Write an incident report of event ID (or of --from/--to) to -o: one offline HTML page "
                               "(a backup: CARD is the item, .../SERIAL/events/ID, or ID is one of its items)")
                     ->type_name("[ID]")
                     ->expected(0, 1);
  app.add_option("--from", ro.from, "With --report: window start (as nexcut: ISO, time of day)")->type_name("T");
  app.add_option("--to", ro.to, "With --report: window end (or +DURATION after --from)")->type_name("T");
  app.add_flag("--pdf", ro.pdf, "With --report: write the page as PDF (printed by headless Chromium)");
  g->require_option(0, 1);
  app.add_option("--camera", camera, "Only items with footage of this camera")
      ->check(CLI::IsMember({"road", "interior"}));
  app.add_option("--since", since, "Only items ending at or after T (ISO 8601)")->type_name("T");
  app.add_option("--until", until, "Only items starting before T (ISO 8601)")->type_name("T");
  app.add_option("--kind", kind, "Only events of this kind")
      ->check(CLI::IsMember({"hard-brake", "collision", "parking-impact", "parking-motion"}));
  app.add_option("-o,--output", output, "Write the GPX here instead of stdout (the --report page: required)")->type_name("FILE");
  std::vector<std::string> serials;
  app.add_option("--serial", serials, "Backups: only these cameras (repeatable); reads only their part of the bucket")
      ->type_name("SERIAL");
  std::string profile;
  app.add_option("--profile", profile, "s3:// backups: the AWS profile (~/.aws/config, ~/.aws/credentials; default: AWS_PROFILE)")
      ->type_name("NAME");
  std::string encrypt;
  app.add_option("--encrypt", encrypt, "Backups made with nexsync --encrypt: their key file (default: nexsync.encrypt)")
      ->type_name("KEYFILE");

  nex::evidence::VerifyOptions vo;
  std::string verify_key;
  auto* verify = app.add_subcommand("verify", "Check an evidence bundle (nexcut or nexsync pull --evidence): hashes, signature, "
                                              "copied frames; exit 3 on any mismatch");
  verify->add_option("DIR", vo.dir, "The bundle's folder")->required();
  verify->add_option("--key", verify_key, "The public key (PEM) it must be signed with")->type_name("PUB.pem");
  tool.add_common_options(*verify);

  return tool.run(argc, argv, [&](nex::cli::Invocation& inv) {
    if (!profile.empty()) inv.config.set_flag("s3.profile", profile);
    if (!encrypt.empty()) inv.config.set_flag("nexsync.encrypt", encrypt);
    if (verify->parsed()) {
      if (!verify_key.empty()) vo.key = verify_key;
      const nex::evidence::VerifyReport rep = nex::evidence::verify(vo, inv.ctx);
      if (inv.format == nex::Format::Table) {
        for (const auto& f : rep.findings)
          *inv.out << f.kind << ": " << (f.path.empty() ? "" : f.path + ": ") << f.message << '\n';
      } else {
        nex::Records r({{"kind", "KIND"}, {"path", "PATH"}, {"message", "MESSAGE"}});
        for (const auto& f : rep.findings) r.add(f.to_json());
        r.write(*inv.out, inv.format);
      }
      return rep.ok() ? int{nex::kExitOk} : int{nex::kExitPartial};
    }
    if (card.empty()) throw nex::UsageError("no CARD given", "see 'nexls --help'");
    if (report->count() == 0 && ro.pdf) throw nex::UsageError("--pdf prints a --report", "add --report EVENT");
    if (report->count() == 0 && (!ro.from.empty() || !ro.to.empty()))
      throw nex::UsageError("--from and --to choose a --report window", "to filter a listing use --since/--until");
    nex::ListFilter filter;
    if (!camera.empty()) filter.camera = nex::parse_camera(camera);
    auto time_arg = [](const std::string& s) {
      auto t = nex::parse_iso(s);
      if (!t) throw nex::UsageError("bad time '" + s + "'", "use ISO 8601, e.g. 2026-11-20T08:12:00");
      return *t;
    };
    if (!since.empty()) filter.since = time_arg(since);
    if (!until.empty()) filter.until = time_arg(until);
    if (!kind.empty()) filter.kind = nex::parse_event_kind(kind);

    auto print_report = [&](const nex::report::Result& r) {
      if (inv.format != nex::Format::Table) {
        nex::Records rec({{"file", "FILE"}, {"stills", "STILLS", true}, {"bytes", "BYTES", true}});
        rec.add(r.to_json());
        rec.write(*inv.out, inv.format);
      }
      return 0;
    };
    // An item of a backup: DEST/SERIAL/events/ID --report, or DEST --report ID.
    std::error_code ec;
    const bool item_folder = std::filesystem::exists(std::filesystem::path(card) / "event.json", ec) ||
                             std::filesystem::exists(std::filesystem::path(card) / "clip.json", ec) ||
                             std::filesystem::exists(std::filesystem::path(card) / "drive.json", ec);
    if (report->count() > 0 && (nex::sync::is_s3_url(card) || nex::sync::looks_like_backup(card) || item_folder)) {
      if (!ro.from.empty() || !ro.to.empty())
        throw nex::UsageError("--from and --to choose a window on a card",
                              "in a backup, a window is a backed-up clip: list them with --clips, report one by its id");
      ro.output = output;
      const bool by_id = !ro.event.empty();
      return print_report(nex::report::write_backup_report(by_id ? card : "", by_id ? ro.event : card, ro,
                                                           inv.config, inv.ctx));
    }
    // A backup (nexsync): the same records, read from the manifests.
    if (nex::sync::is_s3_url(card) || nex::sync::looks_like_backup(card)) {
      if (check || !gpx.empty())
        throw nex::UsageError("--check and --gpx read a card, not a backup", "pull the drive first: nexsync pull");
      nex::sync::BackupView bv = nex::sync::BackupView::Drives;
      if (segments) bv = nex::sync::BackupView::Segments;
      if (events) bv = nex::sync::BackupView::Events;
      if (parking) bv = nex::sync::BackupView::Parking;
      if (clips) bv = nex::sync::BackupView::Clips;
      nex::sync::list_backup(card, bv, filter, inv.config, inv.ctx, serials).write(*inv.out, inv.format);
      return 0;
    }
    if (clips) throw nex::UsageError("--clips lists a backup; a card has no saved clips", "cut one with nexcut");
    if (!serials.empty()) throw nex::UsageError("--serial picks cameras of a backup; a card has one camera");
    nex::ScanOptions so;
    so.read_gps = !(segments || events || parking);
    const nex::CardScan scan = nex::scan_card(card, so, inv.ctx);
    if (scan.model && !scan.model->readable && !check)
      inv.ctx.log->warn("{} keeps footage in built-in memory a card reader cannot see; this folder is a copy",
                        scan.model->name);
    if (check) {
      const nex::CheckReport rep = nex::check_card(scan);
      print_check(inv, scan, rep);
      return rep.clean() ? int{nex::kExitOk} : int{nex::kExitPartial};
    }
    if (report->count() > 0) {
      ro.output = output;
      return print_report(nex::report::write_report(scan, ro, inv.ctx));
    }
    if (!gpx.empty()) {
      const nex::Drive* d = nex::find_drive(scan, gpx);
      if (!d) throw nex::InputError("no drive '" + gpx + "' on " + card, "list drives with 'nexls " + card + "'");
      const std::string doc = nex::drive_gpx(scan, *d);
      if (output.empty()) *inv.out << doc;
      else nex::write_file_atomic(output, doc);
      return 0;
    }
    nex::View view = nex::View::Drives;
    if (segments) view = nex::View::Segments;
    if (events) view = nex::View::Events;
    if (parking) view = nex::View::Parking;
    nex::list_view(scan, view, filter).write(*inv.out, inv.format);
    return 0;
  });
}
