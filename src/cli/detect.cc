#include "cli/detect.h"

#include <fmt/format.h>

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "cli/exit.h"
#include "core/record_json.h"
#include "core/time.h"
#include "detect/facility_detector.h"

namespace dcmon::cli {
namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '"')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '"' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

// The timestamp forms recorded series come in: RFC 3339; "YYYY-MM-DD HH:MM:SS[.f]" or the same
// with a T and no zone (taken as UTC, as NAB's files are); epoch seconds, or milliseconds when the
// number is too large for seconds in our range.
Result<int64_t> ParseCsvTimestamp(std::string_view text) {
  double number = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), number);
  if (ec == std::errc() && end == text.data() + text.size()) {
    const bool millis = number > 1e11;  // 1e11 s is the year 5138; 1e11 ms is 1973
    return static_cast<int64_t>(number * (millis ? 1e3 : 1e6));
  }
  if (text.size() >= 19 && text[4] == '-' && text[7] == '-' &&
      (text[10] == ' ' || text[10] == 'T')) {
    std::string rfc(text);
    rfc[10] = 'T';
    const std::string_view tail = std::string_view(rfc).substr(19);
    const bool zoned = tail.find_first_of("Zz+-") != std::string_view::npos;
    if (!zoned) rfc += 'Z';
    return ParseRfc3339(rfc);
  }
  return InvalidArgument(
      "expected RFC 3339, YYYY-MM-DD HH:MM:SS, or epoch seconds or milliseconds");
}

struct Point {
  int64_t micros;
  double value;
};

Result<std::vector<Point>> ReadCsv(const std::string& path, std::istream& in) {
  std::vector<Point> points;
  std::string line;
  if (!std::getline(in, line)) return InvalidArgument(path + ": empty file (expected a header)");
  int64_t n = 1;
  while (std::getline(in, line)) {
    ++n;
    if (Trim(line).empty()) continue;
    const size_t comma = line.find(',');
    if (comma == std::string::npos)
      return InvalidArgument(fmt::format("{}: line {}: expected timestamp,value", path, n));
    const std::string_view ts = Trim(std::string_view(line).substr(0, comma));
    std::string_view value = Trim(std::string_view(line).substr(comma + 1));
    value = value.substr(0, value.find(','));
    Result<int64_t> t = ParseCsvTimestamp(ts);
    if (!t.ok())
      return InvalidArgument(
          fmt::format("{}: line {}: timestamp \"{}\": {}", path, n, ts, t.status().message()));
    double v = 0;
    auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
    if (ec != std::errc() || end != value.data() + value.size() || !std::isfinite(v))
      return InvalidArgument(
          fmt::format("{}: line {}: value \"{}\": expected a finite number", path, n, value));
    points.push_back({*t, v});
  }
  return points;
}

std::string FormatFromName(const std::string& path, std::string_view first_bytes) {
  const std::string ext = std::filesystem::path(path).extension().string();
  if (ext == ".csv") return "csv";
  if (ext == ".ndjson" || ext == ".jsonl" || ext == ".json") return "ndjson";
  return Trim(first_bytes).starts_with("{") ? "ndjson" : "csv";
}

void PrintAnomaly(const detect::Anomaly& a, bool with_device) {
  std::string line = FormatRfc3339(a.timestamp_micros);
  if (with_device) line += " " + a.device;
  fmt::print("{} {:.6g} {:.3f} {}  {}\n", line, a.value, a.score, detect::DetectorName(a.detector),
             a.explanation);
}

}  // namespace

CLI::App* AddDetect(CLI::App& app, DetectFlags& f) {
  CLI::App* cmd = app.add_subcommand(
      "detect", "Run the anomaly detectors over a recorded series and print one line per anomaly");
  cmd->add_option("--input", f.input, "A timestamp,value CSV with a header, or seed-schema NDJSON")
      ->required();
  cmd->add_option("--format", f.format, "csv or ndjson (default: from the file name)")
      ->check(CLI::IsMember({"csv", "ndjson"}));
  cmd->add_option("--scores", f.scores, "Write every point's score to this CSV");
  return cmd;
}

int RunDetect(const DetectFlags& f) {
  std::ifstream in(f.input, std::ios::binary);
  if (!in) return Fail("detect", 2, fmt::format("--input {}: {}", f.input, std::strerror(errno)));
  std::ostringstream body;
  body << in.rdbuf();
  const std::string text = std::move(body).str();
  const std::string format =
      f.format.empty() ? FormatFromName(f.input, std::string_view(text).substr(0, 64)) : f.format;
  std::FILE* scores = nullptr;
  if (!f.scores.empty()) {
    scores = std::fopen(f.scores.c_str(), "w");
    if (scores == nullptr)
      return Fail("detect", 1, fmt::format("--scores {}: {}", f.scores, std::strerror(errno)));
  }
  const bool ndjson = format == "ndjson";
  int64_t anomalies = 0;
  // Without a facility file there is no topology: every device is judged by its own level and
  // health, and the meters by PUE.
  detect::FacilityDetector detector({}, Topology{}, [&](const detect::Anomaly& a) {
    ++anomalies;
    PrintAnomaly(a, ndjson);
  });
  int64_t points = 0;
  std::string ts;
  if (ndjson) {
    NdjsonBatch batch;
    RecordDecoder().DecodeNdjson(text, batch);
    for (const RejectedLine& r : batch.rejects)
      std::fprintf(stderr, "dcmon detect: skipped %s\n", r.reason.c_str());
    if (scores) std::fputs("timestamp,device,value,score\n", scores);
    for (const Record& r : batch.records) {
      const double score = detector.Observe(r);
      ++points;
      if (!scores) continue;
      const auto* s = std::get_if<SensorReading>(&r);
      const int64_t t = s ? s->timestamp_micros : std::get<CoolingMetric>(r).timestamp_micros;
      const double v = s ? s->value : std::get<CoolingMetric>(r).power_consumption_watts;
      fmt::print(scores, "{},{},{},{:.6f}\n", FormatRfc3339(t), DeviceIdOf(r), v, score);
    }
  } else {
    std::istringstream lines(text);
    Result<std::vector<Point>> series = ReadCsv(f.input, lines);
    if (!series.ok()) return Fail("detect", 2, series.status().message());
    const std::string device = std::filesystem::path(f.input).stem().string();
    if (scores) std::fputs("timestamp,value,score\n", scores);
    for (const Point& p : *series) {
      const double score = detector.Observe(
          SensorReading{.device_id = device, .value = p.value, .timestamp_micros = p.micros});
      ++points;
      if (scores) fmt::print(scores, "{},{},{:.6f}\n", FormatRfc3339(p.micros), p.value, score);
    }
  }
  if (scores && std::fclose(scores) != 0)
    return Fail("detect", 1, fmt::format("--scores {}: {}", f.scores, std::strerror(errno)));
  std::fprintf(stderr, "dcmon detect: %lld points, %lld anomalies\n",
               static_cast<long long>(points), static_cast<long long>(anomalies));
  return 0;
}

}  // namespace dcmon::cli
