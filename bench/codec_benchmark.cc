// Codec throughput on realistic telemetry: rack sensors with placement and sequence numbers, and
// cooling units with supply/return temperatures and fan speed, as the simulator emits them (9
// sensor : 1 cooling).
#include <benchmark/benchmark.h>
#include <simdjson.h>

#include <cstring>
#include <random>

#include "core/line_protocol.h"
#include "core/record_json.h"

namespace dcmon {
namespace {

std::vector<Record> RealisticRecords(size_t n) {
  std::mt19937_64 rng(1);
  std::normal_distribution<double> noise(0, 0.3);
  static const char* kPositions[] = {"inlet_bottom", "inlet_middle", "inlet_top", "exhaust"};
  std::vector<Record> out;
  int64_t t = 1755794880LL * 1000000;
  for (size_t i = 0; i < n; ++i) {
    const int rack = static_cast<int>(i / 10 % 40);
    const std::string rack_id =
        "R" + std::to_string(rack / 10 + 1) + "-" + std::to_string(rack % 10 + 1);
    if (i % 10 == 9) {
      out.push_back(CoolingMetric{.system_id = "crah-" + std::to_string(rack % 4 + 1),
                                  .efficiency_percent = 88.4 + noise(rng),
                                  .power_consumption_watts = 7421.5 + 100 * noise(rng),
                                  .timestamp_micros = t,
                                  .seq = static_cast<int64_t>(i),
                                  .placement = {"dc1", "room-1", "", ""},
                                  .supply_air_temp_celsius = 18.0 + noise(rng),
                                  .return_air_temp_celsius = 31.2 + noise(rng),
                                  .fan_speed_percent = 64.0 + noise(rng)});
    } else {
      const char* pos = kPositions[i % 4];
      out.push_back(SensorReading{.device_id = rack_id + "-" + pos,
                                  .location = "Room 1",
                                  .measurement_type = "temperature",
                                  .value = 22.0 + noise(rng),
                                  .timestamp_micros = t,
                                  .unit = "celsius",
                                  .seq = static_cast<int64_t>(i),
                                  .placement = {"dc1", "room-1", rack_id.substr(0, 2), rack_id},
                                  .position = pos});
    }
    t += 1000;
  }
  return out;
}

std::string Ndjson(const std::vector<Record>& records) {
  std::string body;
  for (const auto& r : records) {
    AppendRecordJson(r, body);
    body += '\n';
  }
  return body;
}

void BM_DecodeNdjson(benchmark::State& state) {
  const auto records = RealisticRecords(static_cast<size_t>(state.range(0)));
  std::string body = Ndjson(records);
  RecordDecoder decoder;
  NdjsonBatch batch;
  batch.records.reserve(records.size());
  for (auto _ : state) {
    batch.records.clear();
    decoder.DecodeNdjson(body, batch);
    benchmark::DoNotOptimize(batch.records.data());
  }
  if (!batch.rejects.empty()) state.SkipWithError(batch.rejects[0].reason.c_str());
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * records.size()));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * body.size()));
  state.counters["bytes_per_record"] = static_cast<double>(body.size()) / records.size();
}
BENCHMARK(BM_DecodeNdjson)->Arg(1000)->Arg(100000);

// The floor for any simdjson On-Demand decoder on this machine: visit every field of every line and
// read each value (strings unescaped, numbers parsed) without validating or keeping anything.
// BM_DecodeNdjson divided by this is the cost of strictness and of materialising records.
void BM_SimdjsonVisitFloor(benchmark::State& state) {
  const auto records = RealisticRecords(static_cast<size_t>(state.range(0)));
  std::string body = Ndjson(records);
  const size_t size = body.size();
  body.resize(size + simdjson::SIMDJSON_PADDING);
  simdjson::ondemand::parser parser;
  for (auto _ : state) {
    size_t pos = 0;
    double sum = 0;
    while (pos < size) {
      const char* nl = static_cast<const char*>(std::memchr(body.data() + pos, '\n', size - pos));
      const size_t len = static_cast<size_t>(nl - body.data()) - pos;
      simdjson::ondemand::document doc;
      if (parser.iterate(body.data() + pos, len, body.size() - pos).get(doc)) break;
      for (auto field : doc.get_object()) {
        std::string_view key;
        if (field.unescaped_key().get(key)) break;
        simdjson::ondemand::value v = field.value();
        std::string_view str;
        double d;
        if (!v.get_string().get(str)) {
          sum += static_cast<double>(str.size());
        } else if (!v.get_double().get(d)) {
          sum += d;
        }
      }
      pos += len + 1;
    }
    benchmark::DoNotOptimize(sum);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * records.size()));
}
BENCHMARK(BM_SimdjsonVisitFloor)->Arg(1000);

void BM_DecodeOne(benchmark::State& state) {
  const auto records = RealisticRecords(1000);
  std::vector<std::string> lines;
  for (const auto& r : records) lines.push_back(RecordToJson(r));
  RecordDecoder decoder;
  size_t i = 0;
  for (auto _ : state) {
    Result<Record> r = decoder.Decode(lines[i++ % lines.size()]);
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_DecodeOne);

// What the loader calls per Kafka message: one record at a time, into a reused record (batch after
// batch, the loader decodes into the records of the batch before).
void BM_DecodeInto(benchmark::State& state) {
  const auto records = RealisticRecords(1000);
  std::vector<std::string> lines;
  for (const auto& r : records) lines.push_back(RecordToJson(r));
  RecordDecoder decoder;
  std::vector<Record> reused(lines.size());
  size_t i = 0;
  for (auto _ : state) {
    const size_t k = i++ % lines.size();
    if (Status s = decoder.DecodeInto(lines[k], reused[k]); !s.ok()) {
      state.SkipWithError(s.message().c_str());
      break;
    }
    benchmark::DoNotOptimize(reused[k]);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_DecodeInto);

// Batch size is the argument: 1,000 records (what a producer encodes between flushes) stay in
// cache; 100,000 do not.
void BM_Encode(benchmark::State& state) {
  const auto records = RealisticRecords(static_cast<size_t>(state.range(0)));
  std::string out;
  out.reserve(4 << 20);
  for (auto _ : state) {
    out.clear();
    for (const auto& r : records) {
      AppendRecordJson(r, out);
      out += '\n';
    }
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * records.size()));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * out.size()));
}
BENCHMARK(BM_Encode)->Arg(1000)->Arg(100000);

// What Telegraf sends to POST /write: cpu, mem and disk lines with tags, floats, integers, a
// string and nanosecond timestamps; one tag value with an escaped space. The argument is the
// number of lines in the body.
void BM_ParseLineProtocol(benchmark::State& state) {
  const auto n = static_cast<size_t>(state.range(0));
  std::mt19937_64 rng(1);
  std::uniform_real_distribution<double> pct(0, 100);
  std::string body;
  const int64_t t = 1755794880LL * 1000000000;
  for (size_t i = 0; i < n; ++i) {
    const std::string host = "rack" + std::to_string(i % 40) + "-node" + std::to_string(i % 7);
    const std::string ts = std::to_string(t + static_cast<int64_t>(i) * 1000);
    switch (i % 3) {
      case 0:
        body += "cpu,cpu=cpu-total,host=" + host + " usage_idle=" + std::to_string(pct(rng)) +
                ",usage_user=" + std::to_string(pct(rng)) +
                ",usage_system=" + std::to_string(pct(rng)) + " " + ts + "\n";
        break;
      case 1:
        body += "mem,host=" + host + " used=" + std::to_string(rng() % 68719476736) +
                "i,available_percent=" + std::to_string(pct(rng)) + " " + ts + "\n";
        break;
      default:
        body += "disk,host=" + host +
                ",path=/var/lib/data\\ set,fstype=ext4 used_percent=" + std::to_string(pct(rng)) +
                ",mode=\"rw\" " + ts + "\n";
        break;
    }
  }
  for (auto _ : state) {
    LineProtocolBatch batch = ParseLineProtocol(body, Precision::kNanoseconds, t / 1000);
    benchmark::DoNotOptimize(batch.points.data());
    if (!batch.errors.empty()) state.SkipWithError(batch.errors[0].status.message().c_str());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * n));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * body.size()));
}
BENCHMARK(BM_ParseLineProtocol)->Arg(1000);

}  // namespace
}  // namespace dcmon

BENCHMARK_MAIN();
