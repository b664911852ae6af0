// nexsync: backs dash-cam footage up to S3-compatible storage or a local
// folder, gets it back, stars and deletes backed-up items.
#include <unistd.h>

#include <iostream>
#include <mutex>

#include "nex/cli.hpp"
#include "nex/destination.hpp"
#include "nex/error.hpp"
#include "nex/sync.hpp"
#include "nex/units.hpp"

namespace {

using nex::sync::ItemResult;

nex::Records rows_table() {
  return nex::Records({{"item", "ITEM"}, {"action", "ACTION"}, {"files", "FILES", true}, {"size", "SIZE", true},
                       {"note", "NOTE"}});
}

int64_t duration_opt(const std::string& s, const char* what) {
  auto d = nex::parse_duration(s);
  if (!d || *d < 0) throw nex::UsageError(std::string("bad ") + what + " '" + s + "'", "e.g. 20s, 1m, 500ms");
  return *d;
}

uint64_t size_opt(const std::string& s, const char* what) {
  auto v = nex::parse_size(s);
  if (!v) throw nex::UsageError(std::string("bad ") + what + " '" + s + "'", "e.g. 8M, 50G");
  return *v;
}

void write_rows(nex::cli::Invocation& inv, const std::vector<ItemResult>& rows) {
  nex::Records r = rows_table();
  for (const auto& x : rows) r.add(x.to_json());
  r.write(*inv.out, inv.format);
}

}  // namespace

int main(int argc, char** argv) {
  nex::cli::Tool tool("nexsync", "nexsync - back dash-cam footage up to S3-compatible storage or a local folder");
  CLI::App& app = tool.app();
  app.require_subcommand(0, 1);
  app.footer(
      "Examples:\n"
      "  nexsync /media/card s3://my-bucket/dashcam          events, clips, drives (per model policy)\n"
      "  nexsync /media/card /mnt/nas/dashcam --drives full --max-size 50%\n"
      "  nexsync /media/card s3://b/p --link mobile --bwlimit 1M   events only, 1 MiB/s\n"
      "  nexsync /media/card s3://b/p --dry-run                the plan, in order, with sizes\n"
      "  nexls /media/card --events --format ndjson | nexsync /media/card s3://b/p --items -\n"
      "  nexsync /media/card s3://b/p --watch                  upload new events as they happen\n"
      "  nexsync pull s3://b/p/PRO-33C1F740/events/20261120_081800_hard-brake --to ./evidence\n"
      "  nexsync pull --from s3://b/p 20261120_081800_hard-brake --evidence case-4711\n"
      "  nexsync star --from s3://b/p 20261120_081200\n"
      "\n"
      "S3: AWS profiles (~/.aws/config and credentials, --profile, AWS_PROFILE), AWS_ENDPOINT_URL,\n"
      "    AWS_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_CA_BUNDLE\n"
      "    (or s3.* in the config).\n"
      "Exit codes: 0 done, 1 error, 2 usage, 3 items left out (quota) or failed, 130 interrupted.\n");

  // nexsync CARD DEST
  std::string card, dest, items, drives, before, after, quota, max_size, link, bwlimit, jobs_s, part_size,
      retries_s, work_dir, mirror;
  std::vector<std::string> clips;
  bool dry_run = false, watch = false, all = false, content_md5 = false;
  app.add_option("CARD", card, "Card folder (SD card, card reader mount or a copy), or a camera at http://HOST[:PORT]");
  app.add_option("DEST", dest, "s3://BUCKET/PREFIX or a folder (default: nexsync.destination in the config)");
  app.add_flag("-n,--dry-run", dry_run, "Print the plan in order, with sizes; change nothing")
      ->group("Run");
  app.add_option("--items", items, "Back up only these items: nexls NDJSON, '-' for stdin")->type_name("FILE")
      ->group("What");
  app.add_option("--drives", drives, "Drives as: timelapse, full (original segments), both, none")
      ->check(CLI::IsMember({"timelapse", "full", "both", "none"}))
      ->type_name("MODE")
      ->group("What");
  app.add_option("--before", before, "Event clip: footage before the event (default 20s)")->type_name("DUR")
      ->group("What");
  app.add_option("--after", after, "Event clip: footage after the event (default 10s)")->type_name("DUR")
      ->group("What");
  app.add_option("--clip", clips, "Save a clip: FROM/TO[=NAME], e.g. 08:14:00/+30s=near-miss (repeatable)")
      ->type_name("SPEC")
      ->group("What");
  app.add_option("--quota", quota, "Storage tier: drives roll over (oldest first) to stay under it")->type_name("SIZE")
      ->group("Retention");
  app.add_option("--max-size", max_size, "Local folder cap: 50% (of the free space) or a size")->type_name("SIZE")
      ->group("Retention");
  app.add_option("--link", link, "The link in use: wifi or mobile (the config says what each carries)")
      ->check(CLI::IsMember({"wifi", "mobile"}))
      ->group("Transfer");
  app.add_option("--bwlimit", bwlimit, "Upload at most RATE bytes/s, e.g. 2M")->type_name("RATE")
      ->group("Transfer");
  app.add_option("-j,--jobs", jobs_s, "Transfers in flight (default 4)")->type_name("N")
      ->group("Transfer");
  app.add_option("--part-size", part_size, "Multipart part size (default 8M, at least 5M)")->type_name("SIZE")
      ->group("Transfer");
  app.add_option("--retries", retries_s, "Attempts per request (default 5)")->type_name("N")
      ->group("Transfer");
  std::vector<std::string> storage_classes;
  app.add_option("--storage-class", storage_classes,
                 "S3 storage class of the footage: CLASS, or per kind: drives=STANDARD_IA,events=STANDARD\n"
                 "(kinds events, clips, drives; repeatable; manifests keep the bucket's default)")
      ->type_name("SPEC")
      ->group("Transfer");
  auto* md5_flag = app.add_flag("--content-md5,!--no-content-md5", content_md5,
                                "S3: the server checks each PUT and part by Content-MD5 (default) or, with\n"
                                "--no-content-md5, by the signed SHA-256 of its payload")
                       ->group("Transfer");
  app.add_option("--work-dir", work_dir, "Journal, state and cut clips (default ~/.cache/nex/sync)")->type_name("DIR")
      ->group("Transfer");
  app.add_option("--mirror", mirror, "A camera's card is pulled into DIR first (card layout; default in the work dir)")
      ->type_name("DIR")
      ->group("Transfer");
  app.add_flag("--watch", watch, "Keep following the card; upload new events within seconds")
      ->group("Run");
  app.add_flag("--all", all, "Also list items that were already up to date")
      ->group("Run");
  std::string stall_timeout;
  app.add_option("--stall-timeout", stall_timeout,
                 "S3: drop a request that moves no byte this long; retry on a fresh connection (default 60s)")
      ->type_name("DUR")
      ->group("Transfer");

  std::vector<std::string> specs;
  std::string from, to, sel_items;
  bool yes = false, overwrite = false;
  auto* pull = app.add_subcommand("pull", "Download backed-up items into a folder, verified against their manifests");
  pull->add_option("ITEM", specs, "Item location (s3://b/p/SERIAL/events/ID) or, with --from, its id");
  pull->add_option("--to", to, "Target folder (receives SERIAL/CATEGORY/ID/...)")->type_name("DIR");
  pull->add_flag("--overwrite", overwrite, "Replace local files that differ from the backup");
  std::string evidence_dir, sign_key;
  pull->add_option("--evidence", evidence_dir,
                   "Instead of --to: one event or clip as an evidence bundle in the new folder DIR")
      ->type_name("DIR");
  pull->add_option("--sign-key", sign_key, "With --evidence: sign evidence.json with this Ed25519 private key")
      ->type_name("KEY.pem");
  auto* star = app.add_subcommand("star", "Star items: never rolled over");
  star->add_option("ITEM", specs, "Item location or id");
  auto* unstar = app.add_subcommand("unstar", "Unstar items");
  unstar->add_option("ITEM", specs, "Item location or id");
  auto* rm = app.add_subcommand("rm", "Delete items from a backup for good");
  rm->add_option("ITEM", specs, "Item location or id");
  rm->add_flag("-y,--yes", yes, "Do not ask");
  std::string expires = "7d";
  auto* share = app.add_subcommand("share", "Print a link per file of backed-up items (S3 presigned GET; no credentials needed)");
  share->add_option("ITEM", specs, "Item location (s3://b/p/SERIAL/events/ID) or, with --from, its id");
  share->add_option("--expires", expires, "How long the links work: 7d (the default and S3's limit), 12h, 30m,\n"
                                          "or a UTC time (2026-12-10T00:00:00Z)")
      ->type_name("WHEN");
  for (auto* sub : {pull, star, unstar, rm, share}) {
    sub->add_option("--from", from, "The backup to look ids up in (default: nexsync.destination)")->type_name("DEST");
    sub->add_option("--items", sel_items, "Items as NDJSON ('nexls BACKUP --format ndjson'), '-' for stdin")
        ->type_name("FILE");
    tool.add_common_options(*sub);
  }

  // The key of an encrypted backup, on the sync and every subcommand that reads it.
  std::string encrypt;
  for (CLI::App* a : {&app, pull, star, unstar, rm}) {
    auto* e = a->add_option("--encrypt", encrypt,
                            a == &app ? "Encrypt every object with this key (AES-256-GCM; 32 bytes, raw or hex:\n"
                                        "openssl rand -hex 32 > KEYFILE); default: nexsync.encrypt"
                                      : "The key of a backup made with --encrypt (default: nexsync.encrypt)")
                 ->type_name("KEYFILE");
    if (a == &app) e->group("Transfer");
  }

  // The AWS profile of an s3:// backup, on the sync and on every subcommand.
  std::string profile;
  std::vector<CLI::App*> with_profile = app.get_subcommands([](CLI::App*) { return true; });
  with_profile.insert(with_profile.begin(), &app);
  for (CLI::App* a : with_profile)
    a->add_option("--profile", profile, "S3: the AWS profile (~/.aws/config, ~/.aws/credentials; default: AWS_PROFILE)")
        ->type_name("NAME");
  app.get_option("--profile")->group("Transfer");

  return tool.run(argc, argv, [&](nex::cli::Invocation& inv) -> int {
    const nex::Config& cfg = inv.config;
    auto opt = [](const std::string& s) { return s.empty() ? std::nullopt : std::optional<std::string>(s); };
    if (!profile.empty()) inv.config.set_flag("s3.profile", profile);
    if (!encrypt.empty()) inv.config.set_flag("nexsync.encrypt", encrypt);
    if (!stall_timeout.empty()) inv.config.set_flag("s3.stall_timeout", stall_timeout);

    if (pull->parsed() || star->parsed() || unstar->parsed() || rm->parsed() || share->parsed()) {
      nex::sync::ItemSelection sel;
      sel.specs = specs;
      sel.from = nex::resolve(opt(from), nullptr, cfg, "nexsync.destination", "");
      if (!sel_items.empty()) {
        sel.items = sel_items;
        sel.items_in = &std::cin;
      }
      if (specs.empty() && sel_items.empty()) throw nex::UsageError("no items given", "name items or give --items -");
      if (share->parsed()) {
        nex::sync::ShareOptions so;
        so.selection = sel;
        so.expires_seconds = nex::sync::parse_expiry(expires, std::chrono::system_clock::now());
        nex::Records r({{"item", "ITEM"}, {"file", "FILE"}, {"expires", "EXPIRES"}, {"link", "LINK"}});
        for (const auto& f : nex::sync::share_items(so, cfg, inv.ctx)) r.add(f.to_json());
        r.write(*inv.out, inv.format);
        return 0;
      }
      if (pull->parsed() && !evidence_dir.empty()) {
        if (!to.empty()) throw nex::UsageError("--evidence writes a bundle, not a backup copy: drop --to");
        if (overwrite) throw nex::UsageError("--evidence never changes a bundle: drop --overwrite", "give a new folder");
        if (!sel_items.empty() || specs.size() > 1)
          throw nex::UsageError("--evidence makes one bundle of one item", "make one bundle per item");
        nex::sync::EvidencePullOptions eo;
        eo.selection = sel;
        eo.dir = evidence_dir;
        if (!sign_key.empty()) eo.sign_key = sign_key;
        const auto rep = nex::sync::pull_evidence(eo, cfg, inv.ctx);
        nex::Records r({{"item", "ITEM"}, {"bundle", "BUNDLE"}, {"files", "FILES", true}, {"size", "SIZE", true},
                        {"sources", "SOURCES"}, {"signed_by", "SIGNED BY"}});
        r.add(rep.to_json());
        r.write(*inv.out, inv.format);
        for (const auto& n : rep.notes) inv.ctx.log->info("{}", n);
        return 0;
      }
      if (!sign_key.empty()) throw nex::UsageError("--sign-key signs an evidence bundle", "add --evidence DIR");
      if (pull->parsed()) {
        if (to.empty()) throw nex::UsageError("pull needs --to DIR", "or --evidence DIR for an evidence bundle");
        nex::sync::PullOptions po;
        po.selection = sel;
        po.to = to;
        po.overwrite = overwrite;
        auto rep = nex::sync::run_pull(po, cfg, inv.ctx);
        write_rows(inv, rep.items);
        inv.ctx.log->info("{} item(s), {} downloaded, {} resumed", rep.items.size(), nex::format_size(rep.bytes),
                          rep.files_resumed);
        return rep.exit_code();
      }
      if (star->parsed() || unstar->parsed()) {
        write_rows(inv, nex::sync::set_starred(sel, star->parsed(), cfg, inv.ctx));
        return 0;
      }
      const bool ask = !yes && ::isatty(STDIN_FILENO) == 1;
      auto rows = nex::sync::remove_items(sel, cfg, inv.ctx, [&](const std::vector<ItemResult>& list) {
        if (!ask) return true;
        uint64_t bytes = 0;
        for (const auto& r : list) {
          std::cerr << "  " << r.ref.folder() << "  " << nex::format_size(r.bytes)
                    << (r.note.empty() ? "" : "  (" + r.note + ")") << '\n';
          bytes += r.bytes;
        }
        std::cerr << "nexsync: delete " << list.size() << " item(s), " << nex::format_size(bytes)
                  << ", for good? [y/N] " << std::flush;
        std::string answer;
        std::getline(std::cin, answer);
        return answer == "y" || answer == "Y" || answer == "yes";
      });
      write_rows(inv, rows);
      return 0;
    }

    // The sync job.
    if (card.empty()) throw nex::UsageError("no CARD given", "see 'nexsync --help'");
    nex::sync::SyncOptions o;
    o.card = card;
    o.destination = nex::resolve(opt(dest), nullptr, cfg, "nexsync.destination", "");
    if (o.destination.empty())
      throw nex::UsageError("no destination", "give DEST (s3://bucket/prefix or a folder) or nexsync.destination");
    o.dry_run = dry_run;
    if (!items.empty()) {
      o.items = items;
      o.items_in = &std::cin;
    }
    if (auto d = nex::resolve(opt(drives), nullptr, cfg, "nexsync.drives", ""); !d.empty()) {
      o.drives = nex::sync::parse_drives_mode(d);
      if (!o.drives) throw nex::UsageError("bad drives mode '" + d + "'", "timelapse, full, both or none");
    }
    o.before_ms = duration_opt(nex::resolve(opt(before), nullptr, cfg, "nexsync.before", "20s"), "--before");
    o.after_ms = duration_opt(nex::resolve(opt(after), nullptr, cfg, "nexsync.after", "10s"), "--after");
    for (const auto& c : clips) o.clips.push_back(nex::sync::parse_clip_request(c));
    if (auto q = nex::resolve(opt(quota), nullptr, cfg, "nexsync.quota", ""); !q.empty()) o.quota = size_opt(q, "--quota");
    o.max_size = nex::resolve(opt(max_size), nullptr, cfg, "nexsync.max_size", "");
    o.link = nex::sync::link_policy(nex::resolve(opt(link), "NEX_LINK", cfg, "nexsync.link", "wifi"), cfg);
    if (auto b = nex::resolve(opt(bwlimit), nullptr, cfg, "nexsync.bwlimit", ""); !b.empty()) {
      auto r = nex::sync::parse_rate(b);
      if (!r) throw nex::UsageError("bad --bwlimit '" + b + "'", "bytes per second: 2M, 500K");
      o.bwlimit = *r;
    }
    auto int_opt = [&](const std::string& flag, const char* key, const char* def, const char* what) {
      const std::string v = nex::resolve(opt(flag), nullptr, cfg, key, def);
      try {
        size_t pos = 0;
        const int n = std::stoi(v, &pos);
        if (pos != v.size()) throw std::invalid_argument(v);
        return n;
      } catch (const std::exception&) {
        throw nex::UsageError(std::string("bad ") + what + " '" + v + "'");
      }
    };
    o.jobs = int_opt(jobs_s, "nexsync.jobs", "4", "--jobs");
    o.retries = int_opt(retries_s, "nexsync.retries", "5", "--retries");
    o.part_size = size_opt(nex::resolve(opt(part_size), nullptr, cfg, "nexsync.part_size", "8M"), "--part-size");
    o.work_dir = nex::resolve(opt(work_dir), "NEX_SYNC_WORK_DIR", cfg, "nexsync.work_dir", "");
    o.watch = watch;
    if (!mirror.empty()) {
      if (!nex::is_camera_url(card)) throw nex::UsageError("--mirror is for a camera", "CARD is http://HOST[:PORT]");
      o.mirror = mirror;
    }
    o.content_md5 = md5_flag->count() > 0 ? content_md5
                                           : nex::resolve(std::nullopt, nullptr, cfg, "nexsync.content_md5", "true") != "false";
    if (auto sc = nex::resolve(std::nullopt, nullptr, cfg, "nexsync.storage_class", ""); !sc.empty())
      nex::sync::parse_storage_classes(sc, o.storage_class);
    for (const auto& sc : storage_classes) nex::sync::parse_storage_classes(sc, o.storage_class);
    o.encrypt_key = nex::resolve(opt(encrypt), nullptr, cfg, "nexsync.encrypt", "");
    if (nex::sync::is_s3_url(o.destination)) o.s3 = nex::sync::s3_config(cfg, inv.ctx);

    const bool show_all = all || dry_run;
    std::mutex mu;
    std::vector<ItemResult> rows;
    bool streaming = false;  // --watch prints rows as they happen
    auto on_item = [&](const ItemResult& r) {
      // "open": a drive still being recorded with nothing new since the last pass.
      if (!show_all && (r.action == "up to date" || r.action == "rolled over" || r.action == "open")) return;
      std::lock_guard lock(mu);
      if (!streaming) {
        rows.push_back(r);
        return;
      }
      if (inv.format == nex::Format::Table)
        *inv.out << nex::format_iso(nex::LocalTime{std::chrono::duration_cast<std::chrono::milliseconds>(
                                                       std::chrono::system_clock::now().time_since_epoch())
                                                       .count()})
                 << "Z  " << r.action << "  " << r.ref.folder() << "  " << nex::format_size(r.bytes)
                 << (r.note.empty() ? "" : "  (" + r.note + ")") << std::endl;
      else *inv.out << r.to_json().dump() << std::endl;
    };
    if (watch) {
      streaming = true;
      if (inv.format == nex::Format::Json) inv.format = nex::Format::Ndjson;
    }
    nex::sync::SyncReport rep = nex::sync::run_sync(o, inv.ctx, on_item);
    if (!streaming) {
      if (inv.format == nex::Format::Json) {
        nex::ojson j;
        j["items"] = nex::ojson::array();
        for (const auto& r : rows) j["items"].push_back(r.to_json());
        j["summary"] = rep.summary.to_json();
        if (rep.camera) j["camera"] = rep.camera->to_json();
        *inv.out << j.dump(2) << '\n';
      } else if (inv.format == nex::Format::Ndjson) {
        for (const auto& r : rows) *inv.out << r.to_json().dump() << '\n';
        *inv.out << rep.summary.to_json().dump() << '\n';
        if (rep.camera) *inv.out << rep.camera->to_json().dump() << '\n';
      } else if (!rows.empty()) {  // a table of nothing says nothing: stay silent, like cp
        write_rows(inv, rows);
      }
    }
    const auto& s = rep.summary;
    if (inv.ctx.progress)
      std::cerr << "nexsync: " << s.items_uploaded << " uploaded, " << s.items_up_to_date << " up to date"
                << (s.items_left_out ? ", " + std::to_string(s.items_left_out) + " left out" : "")
                << (s.items_failed ? ", " + std::to_string(s.items_failed) + " failed" : "")
                << (s.items_waiting ? ", " + std::to_string(s.items_waiting) + " waiting" : "") << "; "
                << nex::format_size(s.bytes_sent) << " sent\n";
    if (rep.camera) {
      for (const auto& g : rep.camera->gone)
        inv.ctx.log->warn("{}: overwritten on the camera before it could be saved (not backed up)", g);
      if (rep.camera->camera_lost)
        inv.ctx.log->warn("the camera stopped answering: the next run goes on from here (exit code 3)");
    }
    if (s.items_left_out) inv.ctx.log->warn("{} item(s) left out: see the list (exit code 3)", s.items_left_out);
    if (s.over_quota)
      inv.ctx.log->warn("events, clips and starred items alone exceed the quota: footage waits (exit code 3)");
    return rep.exit_code();
  });
}
