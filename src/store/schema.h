// The store's tables and their versioned migrations (docs/store.md has each column). Migrate() runs
// at open: it applies, each in its own transaction, the migrations a file has not had yet, and
// refuses a file written by a newer dcmon, whose schema this binary does not know.
#pragma once

#include "core/status.h"
#include "store/duckdb.h"

namespace dcmon::store {

inline constexpr int kSchemaVersion = 12;

// Brings the database to `up_to` (kSchemaVersion; an older version only to build the files of a
// previous release in tests). Returns the version it found (0 for a new database).
Result<int> Migrate(Connection& conn, int up_to = kSchemaVersion);

// A filter keeping the minutes that start in [from, until) (microseconds since the epoch) of
// dcmon_rollups_1m, dcmon_kpi_power_1m or dcmon_kpi_rack_temps_1m: bounds on `epoch_minute`, which
// is rollup_facts' own column, so that its scan skips the row groups out of range (a bound on the
// views' `minute`, an expression of it, reads every row).
std::string RollupMinutes(int64_t from, int64_t until);

}  // namespace dcmon::store
