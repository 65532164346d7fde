// Logging: one named spdlog logger per component, all writing to stderr (stdout is for data).
//
//   auto log = Logger("bus");
//   log->info("embedded broker ready on {}", bootstrap);
#pragma once

#include <spdlog/spdlog.h>

#include <memory>
#include <string>

namespace dcmon {

// The logger named `component`, created on first use. Thread-safe.
std::shared_ptr<spdlog::logger> Logger(const std::string& component);

}  // namespace dcmon
