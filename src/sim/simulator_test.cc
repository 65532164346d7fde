#include "sim/simulator.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "core/record_json.h"
#include "core/time.h"

namespace dcmon::sim {
namespace {

using ::testing::HasSubstr;

// Collects lines in memory.
class MemorySink : public Sink {
 public:
  Status Write(std::string_view key, std::string_view line) override {
    keys.emplace_back(key);
    lines.emplace_back(line);
    return Status::Ok();
  }
  Status Flush() override { return Status::Ok(); }
  std::string Joined() const {
    std::string all;
    for (const auto& l : lines) all += l + "\n";
    return all;
  }
  std::vector<std::string> keys;
  std::vector<std::string> lines;
};

const int64_t kStart = *ParseRfc3339("2025-08-21T16:00:00Z");
constexpr int64_t kMinute = 60 * 1000000LL;

struct Run {
  MemorySink records, labels;
  std::unique_ptr<Simulator> sim;
};

std::unique_ptr<Run> Simulate(const std::vector<std::string>& specs, int64_t minutes,
                              uint64_t seed = 1) {
  auto run = std::make_unique<Run>();
  SimulatorOptions options{.seed = seed, .start_micros = kStart};
  for (const auto& spec : specs) {
    Result<Fault> f = ParseFault(spec, kStart);
    EXPECT_TRUE(f.ok()) << f.status().message();
    if (f.ok()) options.faults.push_back(*f);
  }
  Result<std::unique_ptr<Simulator>> sim = Simulator::Create(*LoadFacility("small"), options);
  EXPECT_TRUE(sim.ok()) << sim.status().message();
  run->sim = std::move(*sim);
  EXPECT_TRUE(run->sim->RunUntil(kStart + minutes * kMinute, run->records, &run->labels).ok());
  EXPECT_TRUE(run->sim->Finish(run->records).ok());
  return run;
}

// Decoded readings of one device, in arrival order; lines that do not decode are skipped.
std::vector<SensorReading> Readings(const Run& run, std::string_view device) {
  RecordDecoder decoder;
  std::vector<SensorReading> out;
  for (size_t i = 0; i < run.records.lines.size(); ++i) {
    if (run.records.keys[i] != device) continue;
    Result<Record> r = decoder.Decode(run.records.lines[i]);
    if (r.ok()) out.push_back(std::get<SensorReading>(*r));
  }
  return out;
}

TEST(Simulator, EveryLineIsAValidRecordOnItsSchedule) {
  auto run = Simulate({}, 10);
  RecordDecoder decoder;
  NdjsonBatch batch;
  decoder.DecodeNdjson(run->records.Joined(), batch);
  ASSERT_TRUE(batch.rejects.empty()) << batch.rejects[0].reason;
  // small over [16:00, 16:10): 40 racks × (4 temperatures every 30 s, humidity every 60 s, power
  // every 15 s), 6 CRAHs and the chiller plant every 30 s, 2 meters every 15 s, 2 weather sensors
  // every 300 s.
  const size_t expected = 40 * (4 * 20 + 10 + 40) + 7 * 20 + 2 * 40 + 2 * 2;
  EXPECT_EQ(batch.records.size(), expected);
  std::set<std::string_view> ids;
  for (const Device& d : run->sim->devices()) EXPECT_TRUE(ids.insert(DeviceIdOf(d.record)).second);
  EXPECT_TRUE(ids.count("meter_facility") && ids.count("meter_it") && ids.count("chiller-plant"));
  EXPECT_TRUE(run->labels.lines.empty());
}

TEST(Simulator, ContractFieldsOnRackSensors) {
  auto run = Simulate({}, 1);
  const auto top = Readings(*run, "room-1-a01-inlet-top");
  ASSERT_EQ(top.size(), 2u);
  EXPECT_EQ(top[0].measurement_type, "temperature");
  EXPECT_EQ(top[0].unit, "celsius");
  EXPECT_EQ(top[0].position, "inlet_top");
  EXPECT_EQ(top[0].placement.rack, "room-1-a01");
  EXPECT_EQ(top[0].placement.room, "room-1");
  EXPECT_EQ(top[0].location, "Room 1");
  EXPECT_EQ(top[0].timestamp_micros, kStart);
  EXPECT_EQ(*top[1].seq, *top[0].seq + 1);
  EXPECT_EQ(Readings(*run, "room-2-b10-humidity")[0].unit, "percent");
  EXPECT_EQ(Readings(*run, "meter_it")[0].unit, "watts");
}

TEST(Simulator, PueFromTheMetersAlone) {
  auto run = Simulate({}, 60);
  double facility = 0, it = 0;
  for (const auto& r : Readings(*run, "meter_facility")) facility += r.value;
  for (const auto& r : Readings(*run, "meter_it")) it += r.value;
  EXPECT_GT(facility / it, 1.3);
  EXPECT_LT(facility / it, 1.7);
}

TEST(Simulator, DeterministicByteForByte) {
  const std::vector<std::string> faults = {"crah-trip@10m+10m", "sensor-spike@5m+20m",
                                           "malformed@0m+30m",  "duplicates@0m+30m",
                                           "reorder@5m+5m",     "late@20m+2m"};
  auto a = Simulate(faults, 30, 42);
  auto b = Simulate(faults, 30, 42);
  auto c = Simulate(faults, 30, 43);
  EXPECT_EQ(a->records.Joined(), b->records.Joined());
  EXPECT_EQ(a->labels.Joined(), b->labels.Joined());
  EXPECT_NE(a->records.Joined(), c->records.Joined());
}

TEST(Simulator, LabelsMatchTheInjectedFaults) {
  auto run = Simulate({"crah-trip:room-1-crah-2@10m+15m", "sensor-drift:room-2-a05-inlet-top@5m+1h",
                       "blanking-gap:room-1-b03@1m+30m", "malformed@2m+3m*0.5"},
                      30);
  ASSERT_EQ(run->labels.lines.size(), 4u);
  // Written in the order the faults start.
  EXPECT_THAT(
      run->labels.lines[0],
      HasSubstr(R"("kind":"blanking-gap","target":"room-1-b03","devices":["room-1-b03-inlet-top"],)"
                R"("start":"2025-08-21T16:01:00Z","end":"2025-08-21T16:31:00Z")"));
  EXPECT_THAT(
      run->labels.lines[1],
      HasSubstr(R"("kind":"malformed","target":"*","devices":["*"],)"
                R"("start":"2025-08-21T16:02:00Z","end":"2025-08-21T16:05:00Z","rate":0.5})"));
  EXPECT_THAT(
      run->labels.lines[2],
      HasSubstr(
          R"("kind":"sensor-drift","target":"room-2-a05-inlet-top","devices":["room-2-a05-inlet-top"])"));
  EXPECT_THAT(
      run->labels.lines[3],
      HasSubstr(R"("kind":"crah-trip","target":"room-1-crah-2","devices":["room-1-crah-2",)"));
  EXPECT_THAT(run->labels.lines[3], HasSubstr(R"("end":"2025-08-21T16:25:00Z")"));
}

TEST(Simulator, CrahTripHeatsTheZoneInTheRecords) {
  auto run = Simulate({"crah-trip:room-1-crah-1@10m+20m"}, 30);
  const auto inlet = Readings(*run, "room-1-a02-inlet-middle");  // a rack in crah-1's zone
  const auto far = Readings(*run, "room-2-a02-inlet-middle");
  const double before = inlet[19].value;  // 16:09:30
  const double after = inlet[29].value;   // 16:14:30, five minutes into the trip
  EXPECT_GE((after - before) / 5, 0.5);
  EXPECT_NEAR(far[29].value, far[19].value, 0.3);
  // The unit reports itself stopped.
  RecordDecoder decoder;
  for (size_t i = 0; i < run->records.lines.size(); ++i) {
    if (run->records.keys[i] != "room-1-crah-1") continue;
    const auto c = std::get<CoolingMetric>(*decoder.Decode(run->records.lines[i]));
    const bool tripped =
        c.timestamp_micros >= kStart + 10 * kMinute && c.timestamp_micros < kStart + 30 * kMinute;
    EXPECT_EQ(c.fan_speed_percent == 0, tripped) << FormatRfc3339(c.timestamp_micros);
  }
}

TEST(Simulator, SensorFaults) {
  auto run = Simulate(
      {"sensor-stuck:room-1-a01-inlet-top@5m+10m", "sensor-dropout:room-1-a02-pdu@5m+10m",
       "unit-mixup:room-1-a03-inlet-top@5m+10m", "sensor-drift:room-1-a04-inlet-top@0m+1h"},
      20);
  const auto stuck = Readings(*run, "room-1-a01-inlet-top");
  for (int i = 11; i < 30; ++i)
    EXPECT_EQ(stuck[i].value, stuck[10].value) << i;  // 16:05:00..16:14:30
  EXPECT_EQ(run->sim->counters().dropped, 40);        // every 15 s for 10 minutes
  for (const auto& r : Readings(*run, "room-1-a02-pdu")) {
    EXPECT_TRUE(r.timestamp_micros < kStart + 5 * kMinute ||
                r.timestamp_micros >= kStart + 15 * kMinute);
  }
  const auto mixed = Readings(*run, "room-1-a03-inlet-top");
  EXPECT_LT(mixed[9].value, 30);
  EXPECT_GT(mixed[10].value, 60) << "°F sent as °C";
  EXPECT_EQ(mixed[10].unit, "celsius");
  const auto drift = Readings(*run, "room-1-a04-inlet-top");
  const auto neighbour = Readings(*run, "room-1-a05-inlet-top");
  EXPECT_NEAR((drift.back().value - drift.front().value) -
                  (neighbour.back().value - neighbour.front().value),
              19.5 / 60, 0.1);
}

// The measurement noise is on the readings, not on the physics: against the same facility without
// noise every rack temperature differs by the noise alone (mean 0, the configured spread), the
// air stays the same, and a healthy sensor changes from one sample to the next.
TEST(Simulator, MeasurementNoiseOnTheReadingsNotOnThePhysics) {
  auto run = [](const FacilityConfig& f, std::vector<Fault> faults) {
    auto sim = Simulator::Create(f, {.seed = 3, .start_micros = kStart, .faults = faults});
    EXPECT_TRUE(sim.ok()) << sim.status().message();
    MemorySink out;
    EXPECT_TRUE((*sim)->RunUntil(kStart + 30 * kMinute, out, nullptr).ok());
    RecordDecoder decoder;
    std::map<std::string, std::vector<double>> temperatures;  // device -> values in time order
    for (const std::string& line : out.lines) {
      Result<Record> r = decoder.Decode(line);
      const auto* s = r.ok() ? std::get_if<SensorReading>(&*r) : nullptr;
      if (s && s->measurement_type == "temperature" && !s->placement.rack.empty())
        temperatures[s->device_id].push_back(s->value);
    }
    return temperatures;
  };
  FacilityConfig quiet = *LoadFacility("small");
  quiet.sensors = {.temperature_noise_c = 0, .humidity_noise_percent = 0, .power_noise_share = 0};
  const auto noisy = run(*LoadFacility("small"), {}), clean = run(quiet, {});
  ASSERT_EQ(noisy.size(), clean.size());
  double sum = 0, squares = 0;
  int64_t n = 0, changed = 0, pairs = 0;
  for (const auto& [id, values] : noisy) {
    const std::vector<double>& truth = clean.at(id);
    ASSERT_EQ(values.size(), truth.size()) << id;
    for (size_t i = 0; i < values.size(); ++i) {
      const double e = values[i] - truth[i];
      sum += e;
      squares += e * e;
      ++n;
      if (i == 0) continue;
      changed += values[i] != values[i - 1];
      ++pairs;
    }
  }
  const double mean = sum / n, sd = std::sqrt(squares / n - mean * mean);
  EXPECT_NEAR(mean, 0, 0.005) << n << " samples";
  EXPECT_NEAR(sd, 0.05, 0.005);  // 0.05 °C, plus the two roundings to 0.01 °C
  EXPECT_GT(changed, pairs * 9 / 10);
  // Keyed by device and time: a dropout on one sensor moves no other sensor's noise.
  std::vector<Fault> dropout = {*ParseFault("sensor-dropout:room-1-a02-inlet-top@5m+10m", kStart)};
  const auto with_dropout = run(*LoadFacility("small"), dropout);
  EXPECT_EQ(with_dropout.at("room-1-a01-inlet-top"), noisy.at("room-1-a01-inlet-top"));
  EXPECT_LT(with_dropout.at("room-1-a02-inlet-top").size(),
            noisy.at("room-1-a02-inlet-top").size());
}

TEST(Simulator, DuplicatesAndMalformedLines) {
  auto clean = Simulate({}, 30);
  auto run = Simulate({"duplicates@0m+30m*0.1", "malformed@0m+30m*0.02"}, 30);
  const SimulatorCounters& c = run->sim->counters();
  EXPECT_GT(c.duplicates, 0);
  EXPECT_GT(c.malformed, 0);
  EXPECT_EQ(run->records.lines.size(), clean->records.lines.size() + c.duplicates);
  RecordDecoder decoder;
  NdjsonBatch batch;
  decoder.DecodeNdjson(run->records.Joined(), batch);
  EXPECT_EQ(static_cast<int64_t>(batch.rejects.size()), c.malformed)
      << "every broken line, and only those";
}

TEST(Simulator, LateRecordsArriveAfterLaterOnesAndNoneIsLost) {
  auto run = Simulate({"late:meter_it@10m+5m"}, 30);
  EXPECT_EQ(run->sim->counters().late, 20);  // 5 minutes of a 15 s meter
  const auto it = Readings(*run, "meter_it");
  EXPECT_EQ(it.size(), 120u);
  EXPECT_FALSE(std::is_sorted(it.begin(), it.end(), [](const auto& a, const auto& b) {
    return a.timestamp_micros < b.timestamp_micros;
  }));
}

TEST(Simulator, ReorderKeepsEveryRecord) {
  auto clean = Simulate({}, 10);
  auto run = Simulate({"reorder@0m+10m"}, 10);
  auto sorted = [](std::vector<std::string> v) {
    std::sort(v.begin(), v.end());
    return v;
  };
  EXPECT_NE(run->records.lines, clean->records.lines);
  EXPECT_EQ(sorted(run->records.lines), sorted(clean->records.lines));
}

TEST(Simulator, BadTargetsAreRefusedWithTheScenario) {
  SimulatorOptions options{.start_micros = kStart};
  options.faults.push_back(*ParseFault("crah-trip:room-9-crah-1@1h", kStart));
  Result<std::unique_ptr<Simulator>> sim = Simulator::Create(*LoadFacility("small"), options);
  ASSERT_FALSE(sim.ok());
  EXPECT_THAT(sim.status().message(),
              HasSubstr("scenario \"crah-trip:room-9-crah-1@1h\": TARGET: no CRAH unit"));
  options.faults[0] = *ParseFault("unit-mixup:room-1-a01-pdu@1h", kStart);
  EXPECT_THAT(Simulator::Create(*LoadFacility("small"), options).status().message(),
              HasSubstr("temperature"));
}

TEST(Fault, ParsesTheContract) {
  Result<Fault> f = ParseFault("crah-trip@2h+30m", kStart);
  ASSERT_TRUE(f.ok()) << f.status().message();
  EXPECT_EQ(f->kind, FaultKind::kCrahTrip);
  EXPECT_TRUE(f->target.empty());
  EXPECT_EQ(f->start_micros, kStart + 120 * kMinute);
  EXPECT_EQ(f->end_micros, kStart + 150 * kMinute);
  f = ParseFault("sensor-drift:room-1-a01-inlet-top@2025-08-21T18:00:00+02:00+1h30m", kStart);
  ASSERT_TRUE(f.ok()) << f.status().message();
  EXPECT_EQ(f->target, "room-1-a01-inlet-top");
  EXPECT_EQ(f->start_micros, kStart);
  EXPECT_EQ(f->end_micros, kStart + 90 * kMinute);
  f = ParseFault("malformed@90m*0.05", kStart);
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->rate, 0.05);
  EXPECT_EQ(f->end_micros - f->start_micros, 30 * kMinute) << "default duration";
  for (auto [spec, part] :
       std::vector<std::pair<const char*, const char*>>{{"crah-trip", "SPEC"},
                                                        {"fire@1h", "KIND"},
                                                        {"crah-trip:@1h", "TARGET"},
                                                        {"crah-trip@soon", "START"},
                                                        {"crah-trip@1h+0m", "DURATION"},
                                                        {"malformed@1h*2", "RATE"}}) {
    Result<Fault> bad = ParseFault(spec, kStart);
    ASSERT_FALSE(bad.ok()) << spec;
    EXPECT_THAT(bad.status().message(), HasSubstr(std::string(": ") + part + ": "))
        << bad.status().message();
  }
}

}  // namespace
}  // namespace dcmon::sim
