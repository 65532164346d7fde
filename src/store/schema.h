// The store's tables and their versioned migrations (docs/store.md has each column). Migrate() runs
// at open: it applies, each in its own transaction, the migrations a file has not had yet, and
// refuses a file written by a newer dcmon, whose schema this binary does not know.
#pragma once

#include "core/status.h"
#include "store/duckdb.h"

namespace dcmon::store {

inline constexpr int kSchemaVersion = 11;

// Brings the database to `up_to` (kSchemaVersion; an older version only to build the files of a
// previous release in tests). Returns the version it found (0 for a new database).
Result<int> Migrate(Connection& conn, int up_to = kSchemaVersion);

}  // namespace dcmon::store
