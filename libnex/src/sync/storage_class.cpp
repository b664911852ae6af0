// --storage-class: which S3 storage class each kind of item goes to.
#include <string>

#include "nex/error.hpp"
#include "nex/s3.hpp"
#include "nex/sync.hpp"

namespace nex::sync {

const std::string& StorageClasses::of(ItemKind k) const {
  switch (k) {
    case ItemKind::Event:
    case ItemKind::Parking:
      return events;
    case ItemKind::Clip:
      return clips;
    case ItemKind::Drive:
      break;
  }
  return drives;
}

void parse_storage_classes(std::string_view spec, StorageClasses& into) {
  const std::string hint = "CLASS, or KIND=CLASS[,KIND=CLASS] with KIND events, clips or drives (drives=STANDARD_IA)";
  auto check = [&](std::string_view c) {
    if (!s3::valid_storage_class(c))
      throw UsageError("bad storage class '" + std::string(c.substr(0, 64)) + "'",
                       "S3 names them in upper case: STANDARD, STANDARD_IA, ONEZONE_IA, GLACIER_IR, ...");
    return std::string(c);
  };
  if (spec.find('=') == std::string_view::npos) {
    into.events = into.clips = into.drives = check(spec);
    return;
  }
  StorageClasses out = into;
  size_t pos = 0;
  while (pos <= spec.size()) {
    const size_t comma = spec.find(',', pos);
    std::string_view part = spec.substr(pos, comma == std::string_view::npos ? std::string_view::npos : comma - pos);
    const size_t eq = part.find('=');
    if (eq == std::string_view::npos) throw UsageError("bad --storage-class '" + std::string(spec.substr(0, 200)) + "'", hint);
    const std::string_view kind = part.substr(0, eq);
    const std::string cls = check(part.substr(eq + 1));
    if (kind == "events") out.events = cls;
    else if (kind == "clips") out.clips = cls;
    else if (kind == "drives") out.drives = cls;
    else throw UsageError("unknown item kind '" + std::string(kind.substr(0, 64)) + "' in --storage-class", hint);
    if (comma == std::string_view::npos) break;
    pos = comma + 1;
  }
  into = out;
}

}  // namespace nex::sync
