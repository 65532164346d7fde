#include "cli/topology.h"

#include "sim/model.h"

namespace dcmon::cli {

Result<Topology> TopologyFrom(const Config& c) {
  const std::optional<std::string> name = c.Get("alert.facility");
  if (!name || name->empty()) return Topology{};
  Result<Topology> t = sim::LoadTopology(*name);
  if (!t.ok()) return t.status().WithPrefix("alert.facility: ");
  return t;
}

}  // namespace dcmon::cli
