// Seeded randomness for the simulator. std::mt19937_64's sequence is fixed by the standard, but the
// standard distributions are not, so the simulator draws through these helpers: same seed, same
// numbers, on any standard library. Value type; not thread-safe.
#pragma once

#include <cmath>
#include <cstdint>
#include <random>

namespace dcmon::sim {

class Rng {
 public:
  explicit Rng(uint64_t seed) : engine_(seed) {}

  // Uniform in [0, 1), from the top 53 bits.
  double Uniform() { return static_cast<double>(engine_() >> 11) * 0x1.0p-53; }
  double Uniform(double lo, double hi) { return lo + (hi - lo) * Uniform(); }
  // Standard normal (Box-Muller; the spare value is kept for the next call).
  double Normal() {
    if (has_spare_) {
      has_spare_ = false;
      return spare_;
    }
    const double u1 = 1.0 - Uniform();  // (0, 1]
    const double u2 = Uniform();
    const double r = std::sqrt(-2.0 * std::log(u1));
    spare_ = r * std::sin(2 * M_PI * u2);
    has_spare_ = true;
    return r * std::cos(2 * M_PI * u2);
  }
  // An independent stream derived from this one (for per-device noise that must not shift when
  // others change).
  uint64_t Next() { return engine_(); }

 private:
  std::mt19937_64 engine_;
  double spare_ = 0;
  bool has_spare_ = false;
};

// A standard normal draw that is a function of (seed, a, b) alone (SplitMix64's mix, Box-Muller):
// per-sample noise keyed by device and time does not move when other samples are dropped, held
// back or added, nor with the order they are drawn in.
inline double KeyedNormal(uint64_t seed, uint64_t a, uint64_t b) {
  auto mix = [](uint64_t x) {
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
  };
  const uint64_t h1 = mix(seed ^ mix(a ^ mix(b)));
  const uint64_t h2 = mix(h1);
  const double u1 = 1.0 - static_cast<double>(h1 >> 11) * 0x1.0p-53;  // (0, 1]
  const double u2 = static_cast<double>(h2 >> 11) * 0x1.0p-53;
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2 * M_PI * u2);
}

}  // namespace dcmon::sim
