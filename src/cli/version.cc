#include "cli/version.h"

#include <duckdb.h>
#include <fmt/format.h>
#include <librdkafka/rdkafka.h>

namespace dcmon::cli {

extern const char kGitRevision[];  // generated at build time by cmake/git_revision.cmake

std::string VersionText() {
  // Asked of the loaded libraries, not of the headers we compiled against.
  return fmt::format("dcmon {} (git {})\nduckdb {}\nlibrdkafka {}\n", DCMON_VERSION, kGitRevision,
                     duckdb_library_version(), rd_kafka_version_str());
}

}  // namespace dcmon::cli
