// The facility topology serve and report take from the configuration: the CRAH zones of the
// facility `alert.facility` names (a preset or a facility TOML; `dcmon run` sets it to its
// --facility). Records carry site/room/row/rack but not the zone, so without it a CrahUnitDown
// incident names no racks and inhibits nothing, the detectors judge every device on its own, and
// RTI is per room.
#pragma once

#include "core/config.h"
#include "core/status.h"
#include "core/topology.h"

namespace dcmon::cli {

// No zones when `alert.facility` is unset; errors name the key.
Result<Topology> TopologyFrom(const Config& config);

}  // namespace dcmon::cli
