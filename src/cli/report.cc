#include "cli/report.h"

#include <fmt/format.h>

#include <cstdio>
#include <fstream>

#include "analytics/kpi.h"
#include "analytics/report.h"
#include "cli/exit.h"
#include "cli/topology.h"
#include "core/time.h"
#include "store/duckdb.h"

namespace dcmon::cli {

CLI::App* AddReport(CLI::App& app, ReportFlags& f) {
  CLI::App* cmd = app.add_subcommand(
      "report", "Write a self-contained HTML compliance and energy report for a period");
  cmd->add_option(
      "--config", f.config,
      "TOML configuration (store.*, analytics.* keys; alert.facility for RTI per CRAH zone)");
  cmd->add_option("--store", f.store, "DuckDB file, opened read-only (store.path)");
  cmd->add_option("--from", f.from, "Start of the period (RFC 3339)")->required();
  cmd->add_option("--to", f.to, "End of the period (RFC 3339), exclusive")->required();
  cmd->add_option("--out", f.out, "HTML file to write, - for stdout")->capture_default_str();
  return cmd;
}

int RunReport(const ReportFlags& f) {
  Result<int64_t> from = ParseRfc3339(f.from);
  if (!from.ok()) return Fail("report", from.status().WithPrefix("--from: "));
  Result<int64_t> to = ParseRfc3339(f.to);
  if (!to.ok()) return Fail("report", to.status().WithPrefix("--to: "));
  if (*from >= *to) return Fail("report", 2, "--from: must be before --to");
  Result<Config> config = f.config.empty() ? Result<Config>(Config()) : Config::Load(f.config);
  if (!config.ok()) return Fail("report", config.status());
  if (!f.store.empty()) config->SetFlag("store.path", f.store);
  Result<store::DatabaseOptions> store_options = store::DatabaseOptionsFrom(*config);
  if (!store_options.ok()) return Fail("report", store_options.status());
  store_options->read_only = true;
  Result<analytics::KpiOptions> options = analytics::KpiOptionsFrom(*config);
  if (!options.ok()) return Fail("report", options.status());
  Result<Topology> topology = TopologyFrom(*config);
  if (!topology.ok()) return Fail("report", topology.status());
  options->topology = std::move(*topology);
  Result<std::unique_ptr<store::Database>> db = store::Database::Open(*store_options);
  if (!db.ok()) return Fail("report", db.status());
  Result<std::unique_ptr<store::Connection>> conn = (*db)->Connect();
  if (!conn.ok()) return Fail("report", conn.status());
  Result<analytics::Kpis> kpis = analytics::ComputeKpis(**conn, *options, *from, *to);
  if (!kpis.ok()) return Fail("report", kpis.status());
  Result<std::optional<std::vector<analytics::Incident>>> incidents =
      analytics::ReadIncidents(**conn, *from, *to);
  if (!incidents.ok()) return Fail("report", incidents.status());
  const std::string html = analytics::RenderReport(*kpis, *incidents);
  if (f.out == "-") {
    std::fwrite(html.data(), 1, html.size(), stdout);
    return 0;
  }
  std::ofstream out(f.out, std::ios::binary);
  out << html;
  out.close();
  if (!out) return Fail("report", 1, fmt::format("--out: cannot write {}", f.out));
  std::fprintf(stderr, "dcmon report: wrote %s (%zu bytes)\n", f.out.c_str(), html.size());
  return 0;
}

}  // namespace dcmon::cli
