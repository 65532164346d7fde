#include "sim/fault.h"

#include <fmt/format.h>

#include <array>
#include <charconv>

#include "core/time.h"

namespace dcmon::sim {
namespace {

struct KindInfo {
  FaultKind kind;
  std::string_view name;
  int64_t default_duration_s;
  double default_rate;
};

constexpr std::array<KindInfo, 13> kKinds = {{
    {FaultKind::kCrahTrip, "crah-trip", 30 * 60, 0},
    {FaultKind::kChillerTrip, "chiller-trip", 15 * 60, 0},
    {FaultKind::kUtilityOutage, "utility-outage", 2 * 60, 0},
    {FaultKind::kBlankingGap, "blanking-gap", 24 * 3600, 0},
    {FaultKind::kSensorDrift, "sensor-drift", 6 * 3600, 0},
    {FaultKind::kSensorStuck, "sensor-stuck", 2 * 3600, 0},
    {FaultKind::kSensorSpike, "sensor-spike", 3600, 0.2},
    {FaultKind::kSensorDropout, "sensor-dropout", 3600, 0},
    {FaultKind::kUnitMixup, "unit-mixup", 3600, 0},
    {FaultKind::kDuplicates, "duplicates", 30 * 60, 0.05},
    {FaultKind::kReorder, "reorder", 30 * 60, 0},
    {FaultKind::kLate, "late", 30 * 60, 0},
    {FaultKind::kMalformed, "malformed", 30 * 60, 0.01},
}};

const KindInfo* FindKind(std::string_view name) {
  for (const auto& k : kKinds) {
    if (k.name == name) return &k;
  }
  return nullptr;
}

}  // namespace

std::string_view FaultKindName(FaultKind kind) {
  for (const auto& k : kKinds) {
    if (k.kind == kind) return k.name;
  }
  return "unknown";
}

std::vector<std::string_view> FaultKindNames() {
  std::vector<std::string_view> names;
  for (const auto& k : kKinds) names.push_back(k.name);
  return names;
}

Result<int64_t> ParseDurationSeconds(std::string_view text) {
  if (text.empty()) return InvalidArgument("empty duration");
  int64_t total = 0;
  size_t i = 0;
  while (i < text.size()) {
    int64_t n = 0;
    const auto [end, ec] = std::from_chars(text.data() + i, text.data() + text.size(), n);
    if (ec != std::errc() || end == text.data() + i) {
      return InvalidArgument(
          fmt::format("\"{}\": expected a number followed by s, m, h or d", text));
    }
    i = static_cast<size_t>(end - text.data());
    if (i >= text.size())
      return InvalidArgument(fmt::format("\"{}\": missing unit (s, m, h or d)", text));
    int64_t unit;
    switch (text[i]) {
      case 's':
        unit = 1;
        break;
      case 'm':
        unit = 60;
        break;
      case 'h':
        unit = 3600;
        break;
      case 'd':
        unit = 86400;
        break;
      default:
        return InvalidArgument(
            fmt::format("\"{}\": unknown unit '{}' (s, m, h or d)", text, text[i]));
    }
    ++i;
    if (n < 0 || n > 100LL * 365 * 86400 / unit)
      return InvalidArgument(fmt::format("\"{}\": too long", text));
    total += n * unit;
  }
  return total;
}

Result<Fault> ParseFault(std::string_view spec, int64_t sim_start_micros) {
  auto bad = [&](std::string_view part, std::string_view why) {
    return InvalidArgument(fmt::format("scenario \"{}\": {}: {}", spec, part, why));
  };
  const size_t at = spec.find('@');
  if (at == std::string_view::npos)
    return bad("SPEC", "expected KIND[:TARGET]@START[+DURATION][*RATE]");
  std::string_view head = spec.substr(0, at);
  std::string_view when = spec.substr(at + 1);

  Fault f;
  f.spec = std::string(spec);
  const size_t colon = head.find(':');
  const std::string_view kind_name = head.substr(0, colon);
  const KindInfo* kind = FindKind(kind_name);
  if (!kind) {
    return bad("KIND", fmt::format("unknown \"{}\" (one of: {})", kind_name,
                                   fmt::join(FaultKindNames(), ", ")));
  }
  f.kind = kind->kind;
  f.rate = kind->default_rate;
  if (colon != std::string_view::npos) {
    f.target = std::string(head.substr(colon + 1));
    if (f.target.empty()) return bad("TARGET", "empty after ':'");
  }

  if (const size_t star = when.find('*'); star != std::string_view::npos) {
    const std::string_view rate_text = when.substr(star + 1);
    double rate = 0;
    const auto [end, ec] =
        std::from_chars(rate_text.data(), rate_text.data() + rate_text.size(), rate);
    if (ec != std::errc() || end != rate_text.data() + rate_text.size() ||
        !(rate > 0 && rate <= 1)) {
      return bad("RATE", "expected a share in (0, 1], e.g. *0.05");
    }
    f.rate = rate;
    when = when.substr(0, star);
  }
  // START may itself contain '+' (an RFC 3339 offset), so DURATION is the part after the last '+'
  // that parses as a duration.
  std::string_view start_text = when;
  int64_t duration_s = kind->default_duration_s;
  if (const size_t plus = when.rfind('+'); plus != std::string_view::npos && plus > 0) {
    if (Result<int64_t> d = ParseDurationSeconds(when.substr(plus + 1)); d.ok()) {
      duration_s = *d;
      start_text = when.substr(0, plus);
    }
  }
  if (duration_s <= 0) return bad("DURATION", "must be longer than zero");
  if (start_text.empty()) return bad("START", "missing");
  if (Result<int64_t> rel = ParseDurationSeconds(start_text); rel.ok()) {
    f.start_micros = sim_start_micros + *rel * 1000000;
  } else if (Result<int64_t> abs = ParseRfc3339(start_text); abs.ok()) {
    f.start_micros = *abs;
  } else {
    return bad("START", "expected a duration like 90m or 1h30m, or an RFC 3339 time");
  }
  f.end_micros = f.start_micros + duration_s * 1000000;
  return f;
}

}  // namespace dcmon::sim
