#include "nex/models.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>

#include "nex/error.hpp"

namespace nex {
namespace detail {
extern const char* const kModelsYaml;
}

namespace {

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

char tag_of(const YAML::Node& n, const char* what, bool allow_empty) {
  const std::string s = n ? n.as<std::string>() : std::string();
  if (s.empty() && allow_empty) return 0;
  if (s.size() != 1 || !is_known_tag(s[0])) throw InputError(std::string("models.yaml: bad tag for ") + what);
  return s[0];
}

}  // namespace

char ModelProfile::tag_for(Camera c, bool parking) const {
  if (parking) return c == Camera::Road ? parking_road_tag : parking_interior_tag;
  return c == Camera::Road ? road_tag : interior_tag;
}

bool ModelProfile::uses_tag(char tag) const {
  return tag && (tag == road_tag || tag == interior_tag || tag == parking_road_tag || tag == parking_interior_tag);
}

std::vector<ModelProfile> parse_models_yaml(const std::string& yaml) {
  std::vector<ModelProfile> out;
  try {
    const YAML::Node root = YAML::Load(yaml);
    const YAML::Node list = root["models"];
    if (!list || !list.IsSequence()) throw InputError("models.yaml: no 'models' list");
    for (const auto& m : list) {
      ModelProfile p;
      p.id = m["id"].as<std::string>();
      p.name = m["name"].as<std::string>();
      p.storage = m["storage"].as<std::string>("sd");
      p.readable = m["readable"].as<bool>(true);
      p.road_tag = tag_of(m["tags"]["road"], "road", false);
      p.interior_tag = tag_of(m["tags"]["interior"], "interior", false);
      p.parking_road_tag = tag_of(m["parking"]["road"], "parking road", false);
      p.parking_interior_tag = tag_of(m["parking"]["interior"], "parking interior", true);
      p.parking_dir = m["parking"]["dir"].as<std::string>("drive");
      if (p.parking_dir != "drive" && p.parking_dir != "sos") throw InputError("models.yaml: parking dir must be drive or sos");
      p.interior_camera = m["interior_camera"].as<bool>(true);
      const std::string cloud = m["cloud"].as<std::string>("full");
      if (cloud == "full") p.cloud = CloudPolicy::Full;
      else if (cloud == "clips") p.cloud = CloudPolicy::ClipsOnly;
      else throw InputError("models.yaml: cloud must be full or clips");
      p.sos_quota_fraction = m["sos_quota"].as<double>(0.10);
      out.push_back(std::move(p));
    }
  } catch (const YAML::Exception& e) {
    throw InputError(std::string("models.yaml: ") + e.what());
  }
  return out;
}

const std::vector<ModelProfile>& all_models() {
  static const std::vector<ModelProfile> models = parse_models_yaml(detail::kModelsYaml);
  return models;
}

const ModelProfile* find_model(std::string_view id_or_name) {
  for (const auto& m : all_models())
    if (iequals(m.id, id_or_name) || iequals(m.name, id_or_name)) return &m;
  return nullptr;
}

std::string model_ids_joined(const char* sep) {
  std::string s;
  for (const auto& m : all_models()) {
    if (!s.empty()) s += sep;
    s += m.id;
  }
  return s;
}

}  // namespace nex
