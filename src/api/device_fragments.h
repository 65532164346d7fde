// The paged record reads' copy of device_keys (store/schema.cc, version 4): per device key, the
// JSON a record of that device writes around its own values, rendered once by a JsonWriter, so that
// a page row (records_routes.cc) is a few numbers between copied fragments instead of a dozen
// strings looked up, escaped and keyed. A committed key never changes and is never removed (a
// device that moves or changes unit gets a new key), so the cache only grows: a page that meets a
// key it lacks calls Refresh() and is written again.
//
//   DeviceFragmentCache cache;
//   const DeviceFragments* d = cache.Get()->Find(key, /*cooling=*/false);
//   if (!d) Status s = cache.Refresh(conn);   // then Get() again
//
// Thread-safe: Get() hands out an immutable snapshot that stays valid while it is held.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/status.h"
#include "store/duckdb.h"

namespace dcmon::api {

// One device key's fragments, each starting with the comma that separates it from the member
// before it. Members a record leaves out when absent (core/record_json.cc) are left out here too.
struct DeviceFragments {
  bool cooling = false;
  // A sensor's ,"source_type":"sensor","device_id":…,"location":…,"measurement_type":…,"value":
  // a cooling unit's ,"source_type":"cooling","system_id":…,"efficiency_percent":
  std::string head;
  std::string unit;  // a sensor's ,"unit":…; empty without one
  // ,"site":…,"room":…,"row":…,"rack":… and a sensor's ,"position":…, each when present
  std::string tail;
};

class DeviceFragmentCache {
 public:
  struct Snapshot {
    std::vector<std::shared_ptr<const DeviceFragments>> by_key;  // index: device_key
    // The key's fragments if it is held and of that kind, else nullptr.
    const DeviceFragments* Find(int64_t key, bool cooling) const {
      if (key < 0 || static_cast<uint64_t>(key) >= by_key.size() || !by_key[key]) return nullptr;
      const DeviceFragments* d = by_key[key].get();
      return d->cooling == cooling ? d : nullptr;
    }
  };

  std::shared_ptr<const Snapshot> Get() const;
  // Reads the keys above the highest one held from device_keys on `conn`, which must have no
  // result streaming.
  Status Refresh(store::Connection& conn);

 private:
  std::mutex refresh_mu_;  // one Refresh at a time
  mutable std::mutex mu_;  // guards snapshot_
  std::shared_ptr<const Snapshot> snapshot_ = std::make_shared<Snapshot>();
};

}  // namespace dcmon::api
