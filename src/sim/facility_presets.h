// The facility presets compiled into the binary (generated from config/facility/*.toml at build
// time), by name without the extension.
#pragma once

#include <cstddef>

#include "core/embedded.h"

namespace dcmon::sim {

extern const EmbeddedFile kFacilityPresets[];
extern const size_t kFacilityPresetsCount;

}  // namespace dcmon::sim
