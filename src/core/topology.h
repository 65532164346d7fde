// The facility's topology as the devices' records do not carry it: which racks each CRAH unit's
// zone holds, and which devices are the meters and the chiller plant. The detectors, the alert
// engine (CRAH incidents) and the KPIs (RTI per zone) take it; sim::LoadTopology builds it from a
// facility description (serve: `alert.facility`). Plain value type.
//
//   Topology t{.zones = {{.crah = "room-1-crah-2", .room = "room-1", .racks = {"room-1-a03"}}}};
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace dcmon {

struct Topology {
  struct Zone {
    std::string crah;                // the unit's device id, "room-1-crah-2"
    std::string room;                // "room-1"
    std::vector<std::string> racks;  // the rack ids it serves, "room-1-a03", ...
  };
  std::vector<Zone> zones;  // empty: no zones known
  std::string facility_meter = "meter_facility";
  std::string it_meter = "meter_it";
  std::string plant = "chiller-plant";
};

// A rack's key across the site: its room and its name (a site may name its racks alike in every
// room). The zones' racks and the records' placement are matched on it.
inline std::string RackKey(std::string_view room, std::string_view rack) {
  std::string key;
  key.reserve(room.size() + 1 + rack.size());
  key.append(room).push_back('\n');
  key.append(rack);
  return key;
}

}  // namespace dcmon
