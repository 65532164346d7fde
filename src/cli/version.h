// What `dcmon --version` prints: our version and revision, and the library versions this binary
// runs with.
#pragma once

#include <string>

namespace dcmon::cli {

// "dcmon 0.1.0 (git 1a2b3c4d5e6f)\nduckdb v1.4.4\nlibrdkafka 2.0.2\n"
std::string VersionText();

}  // namespace dcmon::cli
