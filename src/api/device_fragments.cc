#include "api/device_fragments.h"

#include <fmt/format.h>

#include <string_view>

#include "core/json_writer.h"

namespace dcmon::api {
namespace {

// The members `write` puts in an object, as a fragment that follows other members (,"a":1,"b":2),
// or "" when it puts none.
template <typename Write>
std::string MembersOf(Write&& write) {
  std::string out;
  {
    JsonWriter w(out);
    w.BeginObject();
    write(w);
    w.EndObject();
  }
  if (out.size() <= 2) return {};
  out[0] = ',';
  out.pop_back();
  return out;
}

// Absent optional fields are left out, as AppendRecordJson leaves them out (an empty string is
// absent there too).
void OptionalString(JsonWriter& w, const JsonKey& key, const std::optional<std::string>& value) {
  if (!value || value->empty()) return;
  w.Key(key);
  w.String(*value);
}

// The device_keys columns Refresh reads, in order.
enum Column {
  kKey,
  kKind,
  kDeviceId,
  kLocation,
  kMeasurement,
  kUnit,
  kSite,
  kRoom,
  kRow,
  kRack,
  kPosition
};

DeviceFragments Render(store::QueryResult& r, size_t row) {
  auto text = [&r, row](Column c) { return r.Text(c, row); };
  DeviceFragments d;
  d.cooling = text(kKind) == "cooling";
  const JsonKey value_key = d.cooling ? JsonKey("efficiency_percent") : JsonKey("value");
  d.head = MembersOf([&](JsonWriter& w) {
    w.Key("source_type");
    w.String(d.cooling ? "cooling" : "sensor");
    w.Key(d.cooling ? JsonKey("system_id") : JsonKey("device_id"));
    w.String(text(kDeviceId).value_or(""));
    if (d.cooling) return;
    w.Key("location");
    w.String(text(kLocation).value_or(""));
    w.Key("measurement_type");
    w.String(text(kMeasurement).value_or(""));
  });
  d.head += ',';
  d.head.append(value_key.quoted(), value_key.size());
  if (!d.cooling)
    d.unit = MembersOf([&](JsonWriter& w) { OptionalString(w, "unit", text(kUnit)); });
  d.tail = MembersOf([&](JsonWriter& w) {
    OptionalString(w, "site", text(kSite));
    OptionalString(w, "room", text(kRoom));
    OptionalString(w, "row", text(kRow));
    OptionalString(w, "rack", text(kRack));
    if (!d.cooling) OptionalString(w, "position", text(kPosition));
  });
  return d;
}

}  // namespace

std::shared_ptr<const DeviceFragmentCache::Snapshot> DeviceFragmentCache::Get() const {
  std::lock_guard lock(mu_);
  return snapshot_;
}

Status DeviceFragmentCache::Refresh(store::Connection& conn) {
  std::lock_guard refresh(refresh_mu_);
  const std::shared_ptr<const Snapshot> old = Get();
  const int64_t held = old->by_key.empty() ? 0 : static_cast<int64_t>(old->by_key.size()) - 1;
  Result<store::QueryResult> r = conn.Query(fmt::format(
      "SELECT device_key, kind, device_id, location, measurement_type, unit, site, room, \"row\", "
      "rack, position FROM device_keys WHERE device_key > {} ORDER BY device_key",
      held));
  if (!r.ok()) return r.status();
  if (r->rows() == 0) return Status::Ok();
  auto next = std::make_shared<Snapshot>(*old);
  for (size_t i = 0; i < r->rows(); ++i) {
    const int64_t key = r->Int64(kKey, i);
    if (static_cast<uint64_t>(key) >= next->by_key.size()) next->by_key.resize(key + 1);
    next->by_key[key] = std::make_shared<const DeviceFragments>(Render(*r, i));
  }
  std::lock_guard lock(mu_);
  snapshot_ = std::move(next);
  return Status::Ok();
}

}  // namespace dcmon::api
