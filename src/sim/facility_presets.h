// The facility presets compiled into the binary (generated from config/facility/*.toml at build
// time).
#pragma once

#include <cstddef>
#include <string_view>

namespace dcmon::sim {

struct FacilityPreset {
  std::string_view name;
  std::string_view toml;
};

extern const FacilityPreset kFacilityPresets[];
extern const size_t kFacilityPresetCount;

}  // namespace dcmon::sim
