#include "core/log.h"

#include <spdlog/sinks/stdout_color_sinks.h>

namespace dcmon {

std::shared_ptr<spdlog::logger> Logger(const std::string& component) {
  if (auto existing = spdlog::get(component)) return existing;
  try {
    auto logger = spdlog::stderr_color_mt(component);
    logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ [%n] %v");
    return logger;
  } catch (const spdlog::spdlog_ex&) {
    return spdlog::get(component);  // another thread registered it first
  }
}

}  // namespace dcmon
