#include "detect/anomaly.h"

namespace dcmon::detect {

std::string_view DetectorName(DetectorKind kind) {
  switch (kind) {
    case DetectorKind::kLevel:
      return "level";
    case DetectorKind::kInletSupply:
      return "inlet-supply";
    case DetectorKind::kAirflow:
      return "airflow";
    case DetectorKind::kCrahDeltaT:
      return "crah-delta-t";
    case DetectorKind::kPue:
      return "pue";
    case DetectorKind::kDewPoint:
      return "dew-point";
    case DetectorKind::kUnitStopped:
      return "unit-stopped";
    case DetectorKind::kStuck:
      return "stuck";
    case DetectorKind::kRail:
      return "rail";
    case DetectorKind::kDrift:
      return "drift";
    case DetectorKind::kDropout:
      return "dropout";
    case DetectorKind::kBurst:
      return "burst";
    case DetectorKind::kImplausible:
      return "implausible";
  }
  return "unknown";
}

bool DetectorFromName(std::string_view name, DetectorKind& kind) {
  for (int i = 0; i <= static_cast<int>(DetectorKind::kImplausible); ++i) {
    if (DetectorName(static_cast<DetectorKind>(i)) == name) {
      kind = static_cast<DetectorKind>(i);
      return true;
    }
  }
  return false;
}

std::string_view CategoryName(Category category) {
  return category == Category::kSensor ? "sensor" : "facility";
}

}  // namespace dcmon::detect
