#pragma once
// Retention under a quota (the storage tier, DESIGN.md §3): events and clips
// stay until deleted, continuous footage rolls over FIFO (the newest that
// fits stays), a starred item is never rolled over. A pure function, so the
// rule can be checked without a server.
#include <cstdint>
#include <string>
#include <vector>

#include "nex/backup_layout.hpp"
#include "nex/timeutil.hpp"

namespace nex::sync {

struct QuotaItem {
  ItemRef ref;
  ItemKind kind = ItemKind::Event;
  LocalTime time;
  uint64_t bytes = 0;
  bool starred = false;
};

struct QuotaDecision {
  // Per pending item: "" (it goes), "left out" (no room: the run exits 3),
  // "rolled over" (continuous footage older than what the quota keeps).
  std::vector<std::string> pending_verdict;
  std::vector<ItemRef> victims;  // items at the destination to roll over, oldest first
  // What may not roll over (events, clips, starred items, leftovers) already
  // takes more than the quota: footage waits, the run exits 3.
  bool over = false;
};

// pending: items to upload, in upload order; existing: items at the
// destination (not those being replaced); used: bytes at the destination now
// (items, footage, leftovers). Events and clips are kept first, in order, and
// never rolled over; then continuous footage, newest first, while it fits.
QuotaDecision plan_quota(const std::vector<QuotaItem>& pending, const std::vector<QuotaItem>& existing,
                         uint64_t used, uint64_t quota);

}  // namespace nex::sync
