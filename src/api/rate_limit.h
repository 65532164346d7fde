// Token-bucket rate limits, one bucket per key (an API token's name, a client address). A bucket
// holds up to `burst` requests and refills at `rate` per second; an empty bucket answers how long
// until the next request would pass (for Retry-After). Buckets idle for a minute are dropped, so
// memory follows the active clients. Thread-safe (a mutex per shard).
//
//   RateLimiter limits({.rate = 100, .burst = 200});
//   if (auto wait = limits.Take("10.0.0.7", now)) return TooManyRequests(*wait);
#pragma once

#include <array>
#include <chrono>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace dcmon::api {

struct RateLimitOptions {
  double rate = 0;   // requests per second; 0 = unlimited
  double burst = 0;  // bucket size; 0 = twice the rate
};

class RateLimiter {
 public:
  using Clock = std::chrono::steady_clock;
  explicit RateLimiter(RateLimitOptions options) : options_(options) {
    if (options_.burst <= 0) options_.burst = 2 * options_.rate;
  }
  // Takes one request from `key`'s bucket: nullopt if it may pass, else the seconds to wait.
  std::optional<double> Take(std::string_view key, Clock::time_point now);

 private:
  struct Bucket {
    double tokens;
    Clock::time_point updated;
  };
  struct Shard {
    std::mutex mu;
    std::unordered_map<std::string, Bucket> buckets;
    Clock::time_point swept;
  };
  RateLimitOptions options_;
  std::array<Shard, 16> shards_;
};

}  // namespace dcmon::api
