// The store's writer alone (issue #5): simulator records, decoded once, committed through
// store::Writer in loader-sized batches (each with its Kafka origins and the next offsets of 64
// partitions of two topics) into a fresh DuckDB file. Prints the commit rate, the CPU seconds
// (all threads, from the first commit to the closing checkpoint) per million records, the peak
// RSS, the file size per million records and the median commit time; no Kafka involved, so this
// is the store's ceiling for `dcmon load`. A line on stderr says when the records are decoded and
// the commits start (for attaching a profiler to the write path alone).
//
//   build/bench/store_benchmark [records] [batch] [path] [staged]
//     (default 800,000; 50,000; /tmp/dcmon-store-bench.duckdb; "staged": through the TEMP staging
//     tables that md: stores use, here into the local file)
//
// The peer bench/load.sh holds `dcmon load` against: DuckDB's own bulk load of the same records
// from an NDJSON file already on local disk, `INSERT INTO … SELECT … FROM read_ndjson(…)` into a
// fresh store of the wide version-3 tables (one column per record field; the same threads and
// memory_limit), in one transaction, timed up to the closing checkpoint:
//
//   build/bench/store_benchmark bulk NDJSON PATH [memory_limit] [threads]
#include <fmt/format.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "core/record_json.h"
#include "core/time.h"
#include "sim/facility.h"
#include "sim/simulator.h"
#include "store/duckdb.h"
#include "store/schema.h"
#include "store/writer.h"

namespace {

using Clock = std::chrono::steady_clock;

// User plus system CPU seconds of the process so far, every thread included.
double CpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  const auto s = [](const timeval& t) { return t.tv_sec + t.tv_usec / 1e6; };
  return s(u.ru_utime) + s(u.ru_stime);
}

// Decodes the simulator's lines as they come.
class Decoded : public dcmon::Sink {
 public:
  dcmon::Status Write(std::string_view, std::string_view line) override {
    dcmon::Result<dcmon::Record> r = decoder_.Decode(line);
    if (!r.ok()) return r.status();
    records.push_back(std::move(*r));
    return dcmon::Status::Ok();
  }
  dcmon::Status Flush() override { return dcmon::Status::Ok(); }
  std::vector<dcmon::Record> records;

 private:
  dcmon::RecordDecoder decoder_;
};

// read_ndjson's view of a simulator line: every field of both record kinds, typed as stored.
constexpr const char* kNdjsonColumns = R"({
  'source_type': 'VARCHAR', 'device_id': 'VARCHAR', 'location': 'VARCHAR',
  'measurement_type': 'VARCHAR', 'value': 'DOUBLE', 'timestamp': 'TIMESTAMPTZ', 'unit': 'VARCHAR',
  'seq': 'BIGINT', 'site': 'VARCHAR', 'room': 'VARCHAR', 'row': 'VARCHAR', 'rack': 'VARCHAR',
  'position': 'VARCHAR', 'system_id': 'VARCHAR', 'efficiency_percent': 'DOUBLE',
  'power_consumption_watts': 'DOUBLE', 'supply_air_temp_celsius': 'DOUBLE',
  'return_air_temp_celsius': 'DOUBLE', 'fan_speed_percent': 'DOUBLE'})";

int BulkLoad(const std::string& ndjson, const std::string& path, const std::string& memory_limit,
             int threads) {
  using namespace dcmon;
  std::filesystem::remove(path);
  std::filesystem::remove(path + ".wal");
  auto db = store::Database::Open({.path = path, .memory_limit = memory_limit, .threads = threads});
  if (!db.ok()) return std::fprintf(stderr, "%s\n", db.status().message().c_str()), 1;
  auto conn = (*db)->Connect();
  if (!conn.ok()) return std::fprintf(stderr, "%s\n", conn.status().message().c_str()), 1;
  // The wide tables of schema version 3, one column per record field: what DuckDB loads a file
  // into by itself (since version 4 dcmon stores narrow facts behind views of that shape).
  if (Result<int> v = store::Migrate(**conn, 3); !v.ok())
    return std::fprintf(stderr, "%s\n", v.status().message().c_str()), 1;
  const std::string source =
      fmt::format("read_ndjson({}, columns = {}, format = 'newline_delimited')",
                  store::SqlString(ndjson), kNdjsonColumns);
  const auto t0 = Clock::now();
  const std::string sql = fmt::format(R"sql(
BEGIN TRANSACTION;
INSERT INTO sensor_readings
SELECT row_number() OVER (), device_id, location, measurement_type, value, "timestamp", unit, seq,
       site, room, "row", rack, position, NULL, now(), NULL, NULL, NULL
FROM {0} WHERE source_type = 'sensor';
INSERT INTO cooling_metrics
SELECT row_number() OVER (), system_id, efficiency_percent, power_consumption_watts, "timestamp",
       seq, site, room, "row", rack, supply_air_temp_celsius, return_air_temp_celsius,
       fan_speed_percent, NULL, now(), NULL, NULL, NULL
FROM {0} WHERE source_type = 'cooling';
COMMIT;)sql",
                                      source);
  if (Status s = (*conn)->Execute(sql); !s.ok())
    return std::fprintf(stderr, "%s\n", s.message().c_str()), 1;
  const int64_t rows = (*(*conn)->Query("SELECT (SELECT count(*) FROM sensor_readings) + "
                                        "(SELECT count(*) FROM cooling_metrics)"))
                           .Int64(0, 0);
  conn->reset();
  db->reset();  // closing checkpoint
  const double seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  const auto bytes = std::filesystem::file_size(path);
  std::printf("bulk: %lld records in %.2f s = %.0f records/s; %.1f MB per million records\n",
              static_cast<long long>(rows), seconds, rows / seconds,
              bytes / 1e6 / (static_cast<double>(rows) / 1e6));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace dcmon;
  if (argc > 3 && std::string(argv[1]) == "bulk")
    return BulkLoad(argv[2], argv[3], argc > 4 ? argv[4] : "1GB",
                    argc > 5 ? std::stoi(argv[5]) : 2);
  const size_t want = argc > 1 ? std::stoul(argv[1]) : 800000;
  const size_t batch_size = argc > 2 ? std::stoul(argv[2]) : 50000;
  const std::string path = argc > 3 ? argv[3] : "/tmp/dcmon-store-bench.duckdb";
  const bool staged = argc > 4 && std::string(argv[4]) == "staged";
  constexpr int kPartitions = 64;

  Decoded decoded;
  const int64_t start = *ParseRfc3339("2025-08-01T00:00:00Z");
  auto sim =
      sim::Simulator::Create(*sim::LoadFacility("small"), {.seed = 1, .start_micros = start});
  for (int64_t t = start; decoded.records.size() < want; t += 3600LL * 1000000) {
    if (Status s = (*sim)->RunUntil(t, decoded, nullptr); !s.ok())
      return std::fprintf(stderr, "%s\n", s.message().c_str()), 1;
  }
  decoded.records.resize(want);

  std::filesystem::remove(path);
  std::filesystem::remove(path + ".wal");
  auto db = store::Database::Open({.path = path, .memory_limit = "1GB", .threads = 2});
  if (!db.ok()) return std::fprintf(stderr, "%s\n", db.status().message().c_str()), 1;
  auto writer = store::Writer::Create(**db, {.staging = staged});
  if (!writer.ok()) return std::fprintf(stderr, "%s\n", writer.status().message().c_str()), 1;

  std::vector<double> commit_ms;
  store::WriteBatch batch;
  std::vector<int64_t> next(2 * kPartitions, 0);
  std::fprintf(stderr, "store_benchmark: %zu records decoded; committing\n", want);
  const auto t0 = Clock::now();
  const double cpu0 = CpuSeconds();
  for (size_t first = 0; first < want; first += batch_size) {
    batch.Clear();
    const size_t last = std::min(want, first + batch_size);
    for (size_t i = first; i < last; ++i) {
      const bool sensor = std::holds_alternative<SensorReading>(decoded.records[i]);
      const int p = static_cast<int>(i % kPartitions);
      const int slot = (sensor ? 0 : kPartitions) + p;
      batch.records.push_back(decoded.records[i]);
      batch.origins.push_back({sensor ? "dc.sensors" : "dc.cooling", p, next[slot]++});
    }
    for (int slot = 0; slot < 2 * kPartitions; ++slot) {
      if (next[slot] > 0)
        batch.offsets.push_back(
            {slot < kPartitions ? "dc.sensors" : "dc.cooling", slot % kPartitions, next[slot]});
    }
    const auto c0 = Clock::now();
    Result<store::CommitStats> stats = (*writer)->Commit(batch, NowMicros());
    if (!stats.ok()) return std::fprintf(stderr, "%s\n", stats.status().message().c_str()), 1;
    commit_ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - c0).count());
  }
  writer->reset();
  db->reset();  // closing checkpoints: the file below is what stays on disk
  const double seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  const double cpu = CpuSeconds() - cpu0;
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  const auto bytes = std::filesystem::file_size(path);
  std::sort(commit_ms.begin(), commit_ms.end());
  std::printf(
      "store%s: %zu records in batches of %zu: %.2f s including the closing checkpoint = %.0f "
      "records/s; CPU %.2f s = %.2f s per million; peak RSS %ld MB; commit median %.0f ms, max "
      "%.0f ms; file %.1f MB = %.1f MB per million records\n",
      staged ? " (staged)" : "", want, batch_size, seconds, want / seconds, cpu, cpu / (want / 1e6),
      u.ru_maxrss / 1024, commit_ms[commit_ms.size() / 2], commit_ms.back(), bytes / 1e6,
      bytes / 1e6 / (want / 1e6));
  return 0;
}
