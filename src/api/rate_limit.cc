#include "api/rate_limit.h"

#include <algorithm>
#include <functional>

namespace dcmon::api {

std::optional<double> RateLimiter::Take(std::string_view key, Clock::time_point now) {
  if (options_.rate <= 0) return std::nullopt;
  Shard& shard = shards_[std::hash<std::string_view>{}(key) % shards_.size()];
  std::lock_guard lock(shard.mu);
  if (now - shard.swept > std::chrono::minutes(1)) {
    std::erase_if(shard.buckets, [&](const auto& kv) {
      return now - kv.second.updated > std::chrono::minutes(1);
    });
    shard.swept = now;
  }
  auto [it, inserted] = shard.buckets.try_emplace(std::string(key), Bucket{options_.burst, now});
  Bucket& b = it->second;
  const double elapsed = std::chrono::duration<double>(now - b.updated).count();
  b.tokens = std::min(options_.burst, b.tokens + elapsed * options_.rate);
  b.updated = now;
  if (b.tokens >= 1) {
    b.tokens -= 1;
    return std::nullopt;
  }
  return (1 - b.tokens) / options_.rate;
}

}  // namespace dcmon::api
