#pragma once
// Camera model profiles (libnex/data/models.yaml, compiled in).
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "nex/naming.hpp"

namespace nex {

enum class CloudPolicy { Full, ClipsOnly };

struct ModelProfile {
  std::string id;            // "pro", "beam", "nexc1", "nexc2", "nexs1", "one"
  std::string name;          // "Nexar Pro"
  std::string storage;       // "sd" or "builtin"
  bool readable = true;      // false: built-in memory a card reader cannot see
  char road_tag = '1';
  char interior_tag = '2';
  char parking_road_tag = 'U';
  char parking_interior_tag = 0;  // 0: no interior parking clip
  std::string parking_dir;   // "drive" or "sos"
  bool interior_camera = true;
  CloudPolicy cloud = CloudPolicy::Full;
  double sos_quota_fraction = 0.10;

  char tag_for(Camera c, bool parking) const;
  bool uses_tag(char tag) const;
  bool has_sos() const { return parking_dir == "sos"; }
};

// All models in the order of models.yaml.
const std::vector<ModelProfile>& all_models();
// By id or display name, case-insensitive; nullopt if unknown.
const ModelProfile* find_model(std::string_view id_or_name);
// Parse a models.yaml document (exposed for tests and fuzzers).
std::vector<ModelProfile> parse_models_yaml(const std::string& yaml);
std::string model_ids_joined(const char* sep = ", ");

}  // namespace nex
