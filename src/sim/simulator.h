// The record generator: steps the facility Model through simulated time, samples every device on
// its interval into records in the seed schema, applies scheduled faults (equipment faults to the
// physics, measurement noise and sensor faults to values, transport faults to the stream), writes
// each fault's ground-truth label when it starts, and hands encoded lines to a Sink. Deterministic:
// same facility, seed, faults and time range give byte-identical output. Not thread-safe.
//
//   auto sim = Simulator::Create(*LoadFacility("small"), {.seed = 1, .start_micros = t0});
//   (*sim)->RunUntil(t0 + 3600'000'000, records_sink, &labels_sink);   // one simulated hour
//   (*sim)->Finish(records_sink);                                      // releases held-back (late)
//   records
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/record.h"
#include "core/record_json.h"
#include "core/sink.h"
#include "core/status.h"
#include "sim/facility.h"
#include "sim/fault.h"
#include "sim/model.h"
#include "sim/rng.h"

namespace dcmon::sim {

struct SimulatorOptions {
  uint64_t seed = 1;
  int64_t start_micros = 0;
  std::vector<Fault> faults;  // targets may be empty: chosen from the seed
};

struct SimulatorCounters {
  int64_t records = 0;  // lines handed to the sink, including duplicates and malformed lines
  int64_t duplicates = 0;
  int64_t malformed = 0;  // lines sent broken (a duplicated broken line counts twice)
  int64_t dropped = 0;    // samples not sent (sensor dropout)
  int64_t late = 0;       // records held back and sent late
  int64_t labels = 0;
};

// One reporting device and where its value comes from in the model.
struct Device {
  enum class Source {
    kInletBottom,
    kInletMiddle,
    kInletTop,
    kExhaust,
    kHumidity,
    kRackPower,  // per rack (index = rack)
    kCrah,       // index = CRAH
    kPlant,
    kMeterFacility,
    kMeterIt,
    kOutdoorTemperature,
    kOutdoorHumidity,
  };
  Source source;
  int index = 0;
  int interval_s = 0;
  Record record;  // the device's fixed fields; value, timestamp and seq are set per sample
  std::optional<SensorJsonTemplate> json;  // sensors: their encoding, fixed fields done once
};

class Simulator {
 public:
  // Resolves fault targets (checking that each names a device of the right kind) and builds the
  // device catalogue. Errors name the scenario: "scenario \"crah-trip:x@1h\": TARGET: no CRAH unit
  // \"x\" (...)".
  static Result<std::unique_ptr<Simulator>> Create(const FacilityConfig& facility,
                                                   SimulatorOptions options);

  // Emits every sample with a timestamp in [now, until_micros) (from the start time on); `labels`
  // (may be null) receives each fault's label when the simulated time reaches its start.
  Status RunUntil(int64_t until_micros, Sink& records, Sink* labels);
  // Sends records still held back by a `late` fault, then flushes.
  Status Finish(Sink& records);

  int64_t now_micros() const { return now_micros_; }
  const Model& model() const { return model_; }
  const std::vector<Device>& devices() const { return devices_; }
  const std::vector<Fault>& faults() const { return faults_; }
  const SimulatorCounters& counters() const { return counters_; }

 private:
  Simulator(const FacilityConfig& facility, SimulatorOptions options);
  Status ResolveTargets();
  void BuildDevices();
  void ApplyEquipmentFaults(int64_t t);
  Status EmitDue(Sink& records);
  double SampleValue(const Device& d) const;
  // The measurement noise of `d`'s sample at `t` (`channel`: which of its values), N(0, 1).
  double Noise(const Device& d, int64_t t, uint64_t channel) const;
  Status Send(Device& d, int64_t t, Sink& records);
  Status Deliver(std::string_view key, std::string_view line, Sink& records);
  Status FlushReorderBuffer(Sink& records);
  Status WriteLabel(const Fault& f, Sink& labels);
  std::vector<std::string> AffectedDevices(const Fault& f) const;

  Model model_;
  SimulatorOptions options_;
  std::vector<Fault> faults_;
  std::vector<bool> label_written_;
  std::vector<Device> devices_;
  std::vector<bool> configured_gap_;  // blanking-panel state from the facility, before faults
  Rng rng_;                           // faults' randomness, separate from the physics'
  int64_t now_micros_;
  int64_t step_micros_;
  SimulatorCounters counters_;
  std::string line_;  // encode buffer
  std::vector<std::pair<std::string, std::string>> reorder_buffer_;
  struct Held {
    int64_t release_micros;
    std::string key;
    std::string line;
  };
  std::deque<Held> late_;
  std::vector<double>
      stuck_value_;  // per fault, the value a stuck sensor repeats (NaN until first sample)
};

// A simulator of `facility` from `options.start_micros` with the facility's own faults and the
// `scenarios` (KIND[:TARGET]@START[+DURATION], START relative to `scenario_origin`). Errors name
// the scenario.
Result<std::unique_ptr<Simulator>> CreateWithScenarios(const FacilityConfig& facility,
                                                       SimulatorOptions options,
                                                       const std::vector<std::string>& scenarios,
                                                       int64_t scenario_origin);

// Runs `s` against the wall clock until `stop()` says so: simulated time is
// `anchor_micros + speed × wall seconds since the call`, so a simulator that starts before the
// anchor first catches up (backfilled history), then keeps pace. Flushes the sinks every 100 ms.
// Then releases held-back records (Finish).
Status RunInRealTime(Simulator& s, int64_t anchor_micros, double speed, Sink& records, Sink* labels,
                     const std::function<bool()>& stop);

}  // namespace dcmon::sim
