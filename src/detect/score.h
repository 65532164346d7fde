// The one mapping from a robust z-score (a residual in robust standard deviations of its baseline)
// to dcmon's anomaly score in [0, 1], shared by every detector so that scores compare:
//
//   score = 1 - exp(-(max(0, |z| - 3))^2 / 8)
//
// 0 within 3 robust sigmas (ordinary noise scores nothing), 0.39 at 5, 0.9 (kAlertLevel) at 7.3,
// 0.99 at 9.1. Detectors that judge by rule (a stopped unit, a stuck sensor) report the score their
// evidence is worth on the same scale.
#pragma once

#include <cmath>

namespace dcmon::detect {

inline constexpr double kAlertLevel = 0.9;  // an anomaly is reported when a score reaches this
inline constexpr double kClearLevel = 0.5;  // and may be reported again once it fell below this

inline double Score(double z) {
  const double excess = std::fabs(z) - 3.0;
  if (!(excess > 0)) return 0;  // also NaN
  return 1.0 - std::exp(-excess * excess / 8.0);
}

}  // namespace dcmon::detect
