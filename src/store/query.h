// Analysts' read-only SQL, shared by `dcmon sql` and POST /api/v1/query: exactly one statement, and
// it must be a query (SELECT, WITH … SELECT, VALUES, FROM …); anything else (SET, ATTACH, COPY,
// PRAGMA, INSTALL, several statements) is refused with the reason before it runs. Every value comes
// back as text, with each column's kind so writers can emit JSON numbers; at most `row_cap` rows,
// `truncated` set when there were more. Not a sandbox by itself: the API also disables DuckDB's
// external access (files, network) for the whole database.
//
//   Result<TextTable> t = RunReadOnlyQuery(conn, "SELECT device_id, value FROM sensor_readings",
//   1000); std::string json = TableToJson(*t);   //
//   {"columns":[...],"rows":[[...],...],"truncated":false}
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "store/duckdb.h"

namespace dcmon::store {

struct TextTable {
  enum class Kind { kText, kInteger, kFloat, kBoolean };
  std::vector<std::string> columns;
  std::vector<Kind> kinds;
  std::vector<std::vector<std::optional<std::string>>> rows;
  bool truncated = false;
};

Result<TextTable> RunReadOnlyQuery(Connection& conn, std::string_view sql, size_t row_cap);
std::string TableToJson(const TextTable& table);

}  // namespace dcmon::store
