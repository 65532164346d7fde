// The per-series streaming detector: learns a series' level, spread and daily and weekly seasonal
// profile robustly (Huber-clipped updates, so outliers do not drag the baseline), scores each point
// against the one-step prediction, and accepts a genuine change of regime after a run of
// same-signed outliers instead of alarming forever. The cadence is inferred from the timestamps,
// so the same defaults serve series sampled every second or every hour. O(1) work and
// sizeof(SeriesDetector) bytes per series (no heap). Not thread-safe; one per series.
//
//   SeriesDetector d;                          // SeriesOptions{} defaults
//   SeriesPoint p = d.Update(timestamp_micros, value);
//   if (p.score >= kAlertLevel) ...            // p.expected, p.z say how far and which way
#pragma once

#include <array>
#include <cstdint>

#include "core/status.h"

namespace dcmon::detect {

struct SeriesOptions {
  double level_gain = 0.3;              // share of each (clipped) residual the fast level takes up
  double huber_k = 3.0;                 // residuals are clipped at this many robust sigmas
  double spread_points = 64;            // the spread forgets with this time constant, in points
  double spread_floor_share = 0.5;      // the spread never falls below this share of its long run
  double base_time_constant_s = 86400;  // the slow (deseasonalised) level's time constant
  double season_days = 3;               // the daily profile forgets with this many days
  int warmup_points = 64;               // no score before this many points
  double warmup_s = 86400;              // ... nor before this much time: one daily cycle learned
  double min_sigma = 0;                 // the spread never falls below this (sensor accuracy)
  double min_sigma_share = 0;           // ... nor below this share of |level| (workload noise)
  double change_z = 4.0;                // a point this far out counts towards a regime change
  int change_points = 8;                // this many same-signed such points in a row: new level
  double regime_accept_s = 7200;        // a departure from the slow baseline held this long (and
                                        // change_points points): the baseline takes the new level
  Status Validate() const;
};

struct SeriesPoint {
  double expected = 0;  // the prediction the value was judged against
  double z = 0;         // (value - expected) / robust sigma; signed
  double score = 0;     // Score(z), 0 during warm-up
  double drift_z = 0;   // (value - slow deseasonalised level - season) / its robust sigma: slow
                        // departures (a drifting sensor) that the one-step z cannot see
  bool regime_change = false;  // this point made the detector accept a new level
  bool warm = false;           // past the warm-up: scores mean something
};

// The score of a point's slow departure (drift_z), 0 during warm-up.
double DriftScore(const SeriesPoint& p);

class SeriesDetector {
 public:
  explicit SeriesDetector(const SeriesOptions& options = {});

  // Points must come in time order; a point not later than the last one is ignored (score 0).
  SeriesPoint Update(int64_t timestamp_micros, double value);

  int64_t points() const { return points_; }
  double cadence_s() const { return cadence_s_; }
  double level() const { return level_; }
  double sigma() const;

 private:
  double Season(int64_t t) const;
  void LearnSeason(int64_t t, double residual, double clip);

  SeriesOptions options_;  // by value: ~80 bytes, no lifetime to manage
  int64_t points_ = 0;
  int64_t first_micros_ = 0;
  int64_t last_micros_ = 0;
  double last_value_ = 0;
  double cadence_s_ = 0;
  double level_ = 0;     // fast, deseasonalised
  double base_ = 0;      // slow, deseasonalised: the reference the profile is learned against
  double mad_ = 0;       // mean absolute one-step residual, short run
  double mad_long_ = 0;  // the same, long run (the spread's floor)
  double dev_mad_ = 0;   // mean absolute deviation from base_ + season, long run
  double quantum_ = 0;   // the smallest change seen: the sensor's resolution
  int run_ = 0;          // consecutive same-signed points beyond change_z (sign in the value)
  int64_t away_since_micros_ = 0;  // when the current departure from base_ began
  int32_t away_points_ = 0;
  int8_t away_sign_ = 0;           // its sign; 0: no departure
  std::array<float, 24> daily_{};  // hour-of-day profile, interpolated between hour centres
  std::array<float, 7> weekly_{};  // day-of-week offsets on top of the daily profile
};

}  // namespace dcmon::detect
