#include "nex/camera.hpp"

#include <yaml-cpp/yaml.h>

#include <sstream>

#include "nex/error.hpp"
#include "nex/fsutil.hpp"
#include "nex/timeutil.hpp"
#include "nex/units.hpp"

namespace nex {

const ModelProfile& CameraIdentity::profile() const {
  const ModelProfile* p = find_model(model);
  if (!p) throw InputError("camera.yaml: unknown model '" + model + "'", "known models: " + model_ids_joined());
  return *p;
}

uint64_t CameraIdentity::effective_sos_quota() const {
  if (sos_quota) return sos_quota;
  return static_cast<uint64_t>(static_cast<double>(capacity) * profile().sos_quota_fraction);
}

CameraIdentity parse_camera_yaml(const std::string& text) {
  CameraIdentity id;
  try {
    const YAML::Node n = YAML::Load(text);
    if (!n.IsMap()) throw InputError("camera.yaml: not a YAML mapping");
    if (!n["model"]) throw InputError("camera.yaml: no model");
    id.model = n["model"].as<std::string>();
    if (!find_model(id.model))
      throw InputError("camera.yaml: unknown model '" + id.model + "'", "known models: " + model_ids_joined());
    id.model = find_model(id.model)->id;
    id.serial = n["serial"].as<std::string>("");
    id.firmware = n["firmware"].as<std::string>("");
    const std::string off = n["utc_offset"].as<std::string>("+00:00");
    const auto o = parse_utc_offset(off);
    if (!o) throw InputError("camera.yaml: bad utc_offset '" + off + "'");
    id.utc_offset_min = *o;
    const std::string cap = n["capacity"].as<std::string>("0");
    const auto c = parse_size(cap);
    if (!c) throw InputError("camera.yaml: bad capacity '" + cap + "'");
    id.capacity = *c;
    if (n["sos_quota"]) {
      const auto q = parse_size(n["sos_quota"].as<std::string>());
      if (!q) throw InputError("camera.yaml: bad sos_quota");
      id.sos_quota = *q;
    }
    // The recording format: optional keys, each strictly one of its values.
    auto key = [&](const char* name) -> std::optional<std::string> {
      if (!n[name]) return std::nullopt;
      if (!n[name].IsScalar()) throw InputError(std::string("camera.yaml: bad ") + name);
      return n[name].as<std::string>();
    };
    auto bad = [](const char* name, const std::string& v, const char* hint) {
      return InputError(std::string("camera.yaml: bad ") + name + " '" + v + "': " + hint);
    };
    if (auto v = key("codec")) {
      id.format.codec = parse_video_codec(*v);
      if (!id.format.codec) throw bad("codec", *v, kCodecHint);
    }
    if (auto v = key("fps")) {
      id.format.fps = parse_frame_rate(*v);
      if (!id.format.fps) throw bad("fps", *v, kFpsHint);
    }
    if (auto v = key("bframes")) {
      id.format.bframes = parse_bframes(*v);
      if (!id.format.bframes) throw bad("bframes", *v, kBframesHint);
    }
    if (auto v = key("gop")) {
      id.format.gop_ms = parse_gop(*v);
      if (!id.format.gop_ms) throw bad("gop", *v, kGopHint);
    }
    if (auto v = key("container")) {
      id.format.container = parse_container(*v);
      if (!id.format.container) throw bad("container", *v, kContainerHint);
    }
    if (const std::string why = format_problem(id.format); !why.empty()) throw InputError("camera.yaml: " + why);
  } catch (const YAML::Exception& e) {
    throw InputError(std::string("camera.yaml: ") + e.what());
  }
  return id;
}

CameraIdentity load_camera_yaml(const std::filesystem::path& card) {
  std::error_code ec;
  const auto file = card / "camera.yaml";
  if (!std::filesystem::exists(file, ec))
    throw InputError(card.string() + ": no camera.yaml", "is this a card folder? 'nexsim init' creates one");
  return parse_camera_yaml(read_file(file));
}

std::string format_camera_yaml(const CameraIdentity& id) {
  std::ostringstream os;
  os << "# written by the camera (nexsim); identity of this card\n";
  os << "model: " << id.model << "\n";
  os << "serial: \"" << id.serial << "\"\n";
  os << "firmware: \"" << id.firmware << "\"\n";
  os << "utc_offset: \"" << format_utc_offset(id.utc_offset_min) << "\"\n";
  os << "capacity: " << id.capacity << "\n";
  if (id.sos_quota) os << "sos_quota: " << id.sos_quota << "\n";
  const RecordingFormat& f = id.format;
  if (f.codec) os << "codec: " << to_string(*f.codec) << "\n";
  if (f.fps) os << "fps: \"" << format_frame_rate(*f.fps) << "\"\n";
  if (f.bframes) os << "bframes: " << *f.bframes << "\n";
  if (f.gop_ms) os << "gop: " << format_gop(*f.gop_ms) << "\n";
  if (f.container) os << "container: " << to_string(*f.container) << "\n";
  return os.str();
}

}  // namespace nex
