// `dcmon report --from … --to … [--out report.html]`: the compliance and energy report of a period
// (analytics/report.h) from a store file, opened read-only (while serve holds the file, run it on a
// copy or after stopping serve: DuckDB allows one writer process per file).
#pragma once

#include <CLI/CLI.hpp>
#include <string>

namespace dcmon::cli {

struct ReportFlags {
  std::string config;    // --config FILE: the TOML serve reads ([store], [analytics])
  std::string store;     // overrides store.path
  std::string from, to;  // RFC 3339
  std::string out = "report.html";
};

CLI::App* AddReport(CLI::App& app, ReportFlags& flags);
int RunReport(const ReportFlags& flags);

}  // namespace dcmon::cli
