#include "detect/series_detector.h"

#include <algorithm>
#include <cmath>

#include "detect/score.h"

namespace dcmon::detect {
namespace {

constexpr int64_t kMicros = 1'000'000;
constexpr int64_t kDayMicros = 86400 * kMicros;
constexpr double kMadToSigma = 1.2533;  // sigma / mean absolute deviation for a Gaussian

double Clip(double x, double limit) { return std::clamp(x, -limit, limit); }

}  // namespace

Status SeriesOptions::Validate() const {
  auto in = [](double v, double lo, double hi) { return v >= lo && v <= hi; };
  if (!in(level_gain, 0.001, 1)) return InvalidArgument("level_gain: must be in 0.001..1");
  if (!in(huber_k, 1, 20)) return InvalidArgument("huber_k: must be in 1..20");
  if (!in(spread_points, 2, 1e7)) return InvalidArgument("spread_points: must be in 2..1e7");
  if (!in(spread_floor_share, 0, 1)) return InvalidArgument("spread_floor_share: must be in 0..1");
  if (!in(base_time_constant_s, 1, 1e9))
    return InvalidArgument("base_time_constant_s: must be in 1..1e9");
  if (!in(season_days, 0.5, 365)) return InvalidArgument("season_days: must be in 0.5..365");
  if (warmup_points < 2) return InvalidArgument("warmup_points: must be at least 2");
  if (!in(warmup_s, 0, 1e9)) return InvalidArgument("warmup_s: must be in 0..1e9");
  if (!in(min_sigma, 0, 1e12)) return InvalidArgument("min_sigma: must be at least 0");
  if (!in(min_sigma_share, 0, 1)) return InvalidArgument("min_sigma_share: must be in 0..1");
  if (!in(change_z, 1, 100)) return InvalidArgument("change_z: must be in 1..100");
  if (change_points < 1) return InvalidArgument("change_points: must be at least 1");
  if (!in(regime_accept_s, 0, 1e9)) return InvalidArgument("regime_accept_s: must be in 0..1e9");
  return Status::Ok();
}

double DriftScore(const SeriesPoint& p) { return p.warm ? Score(p.drift_z) : 0; }

SeriesDetector::SeriesDetector(const SeriesOptions& options) : options_(options) {}

double SeriesDetector::sigma() const {
  const double floor = std::max(options_.spread_floor_share * mad_long_, 0.5 * quantum_);
  return std::max({options_.min_sigma, options_.min_sigma_share * std::fabs(level_),
                   kMadToSigma * std::max({mad_, floor, 1e-9 * std::fabs(level_), 1e-12})});
}

// The profile is interpolated between bin centres (hour h covers [h, h+1), centred at h + 0.5),
// so a smooth daily curve is not a staircase.
double SeriesDetector::Season(int64_t t) const {
  // Learned and applied from the first point: the profile grows from zero, so there is no step in
  // the prediction when it "switches on".
  const int64_t in_day = ((t % kDayMicros) + kDayMicros) % kDayMicros;
  const double h = static_cast<double>(in_day) / 3600e6 - 0.5;
  const double fl = std::floor(h);
  const double w = h - fl;
  const int lo = (static_cast<int>(fl) + 24) % 24;
  const int hi = (lo + 1) % 24;
  // 1970-01-01 was a Thursday; the offset only needs to be a fixed day of the week.
  return (1 - w) * daily_[lo] + w * daily_[hi] + weekly_[((t / kDayMicros) % 7 + 7) % 7];
}

void SeriesDetector::LearnSeason(int64_t t, double residual, double clip) {
  const double points_per_hour = std::max(1.0, 3600.0 / cadence_s_);
  const double gain = 1.0 / (options_.season_days * points_per_hour);
  const int64_t in_day = ((t % kDayMicros) + kDayMicros) % kDayMicros;
  const double h = static_cast<double>(in_day) / 3600e6 - 0.5;
  const double fl = std::floor(h);
  const double w = h - fl;
  const int lo = (static_cast<int>(fl) + 24) % 24;
  const int hi = (lo + 1) % 24;
  const int d = static_cast<int>(((t / kDayMicros) % 7 + 7) % 7);
  const double current = (1 - w) * daily_[lo] + w * daily_[hi];
  const double err = Clip(residual - current - weekly_[d], clip);
  daily_[lo] += static_cast<float>(gain * (1 - w) * err);
  daily_[hi] += static_cast<float>(gain * w * err);
  // The weekly offsets learn what the daily profile leaves, over a few weeks.
  const double points_per_day = std::max(1.0, 86400.0 / cadence_s_);
  const double werr = Clip(residual - current - weekly_[d], clip);
  weekly_[d] += static_cast<float>(werr / (3 * options_.season_days * points_per_day));
}

SeriesPoint SeriesDetector::Update(int64_t t, double x) {
  SeriesPoint out;
  if (!std::isfinite(x)) return out;
  if (points_ == 0) {
    first_micros_ = last_micros_ = t;
    last_value_ = level_ = base_ = x;
    points_ = 1;
    out.expected = x;
    return out;
  }
  if (t <= last_micros_) return out;
  const double dt = static_cast<double>(t - last_micros_) / kMicros;
  // Cadence: the first gap, then a clipped running mean, so a dropout does not stretch it.
  cadence_s_ =
      points_ == 1
          ? dt
          : cadence_s_ + 0.05 * (std::clamp(dt, 0.5 * cadence_s_, 2 * cadence_s_) - cadence_s_);
  const double change = std::fabs(x - last_value_);
  if (change > 0 && (quantum_ == 0 || change < quantum_)) quantum_ = change;

  const double season = Season(t);
  out.expected = level_ + season;
  const double r = x - out.expected;
  // After a gap the level may have wandered: widen the band as a random walk would.
  const double gap = std::clamp(dt / cadence_s_, 1.0, 100.0);
  const double sig = sigma() * std::sqrt(gap);
  out.z = r / sig;
  const bool warm = points_ >= options_.warmup_points &&
                    static_cast<double>(t - first_micros_) >= options_.warmup_s * kMicros;
  out.warm = warm;
  const double dev = x - season - base_;
  const double dev_sig = std::max({options_.min_sigma, options_.min_sigma_share * std::fabs(base_),
                                   kMadToSigma * std::max(dev_mad_, mad_long_) + 1e-12});
  out.drift_z = dev / dev_sig;
  if (warm) out.score = Score(out.z);

  // A run of same-signed outliers is a new regime, not a string of anomalies: take the new level.
  if (std::fabs(out.z) > options_.change_z) {
    run_ = (run_ != 0 && (run_ > 0) == (r > 0)) ? run_ + (r > 0 ? 1 : -1) : (r > 0 ? 1 : -1);
  } else {
    run_ = 0;
  }
  // Clipping starts once the spread has been learned from unclipped warm-up residuals.
  const double clip = warm ? options_.huber_k * sig : INFINITY;
  const double dev_clip = warm ? options_.huber_k * dev_sig : INFINITY;
  if (std::abs(run_) >= options_.change_points) {
    level_ = x - season;
    mad_ = std::max(mad_, std::fabs(r) / (4 * kMadToSigma));
    run_ = 0;
    out.regime_change = true;
  } else {
    level_ += options_.level_gain * Clip(r, clip);
  }
  // The slow baseline is not moved by an excursion that comes back (a trip and its recovery); a
  // departure held for regime_accept_s is a new regime, and the baseline takes the level.
  const int sign = !warm || std::fabs(out.drift_z) < options_.change_z / 2 ? 0
                   : std::fabs(out.drift_z) > options_.change_z            ? (dev > 0 ? 1 : -1)
                                                                           : away_sign_;
  if (sign != away_sign_) {
    away_sign_ = static_cast<int8_t>(sign);
    away_since_micros_ = t;
    away_points_ = 0;
  }
  if (away_sign_ != 0 && ++away_points_ >= options_.change_points &&
      static_cast<double>(t - away_since_micros_) >= options_.regime_accept_s * kMicros) {
    base_ = level_;
    away_sign_ = 0;
    out.regime_change = true;
  } else if (std::fabs(dev) <= dev_clip) {
    const double base_gain = std::min(1.0, dt / options_.base_time_constant_s);
    base_ += base_gain * dev;
  }
  const double a = std::fabs(Clip(r, clip));
  const double lambda = 1.0 / std::min<double>(options_.spread_points, points_);
  mad_ += lambda * (a - mad_);
  const double long_lambda = 1.0 / std::min<double>(16 * options_.spread_points, points_);
  mad_long_ += long_lambda * (a - mad_long_);
  // The departure's spread and the profile learn from ordinary points only: an excursion must not
  // widen the band that judges it, nor print itself into the daily profile.
  if (std::fabs(dev) <= dev_clip) {
    dev_mad_ += long_lambda * (std::fabs(dev) - dev_mad_);
    LearnSeason(t, x - base_, dev_clip);
  }

  last_micros_ = t;
  last_value_ = x;
  ++points_;
  return out;
}

}  // namespace dcmon::detect
