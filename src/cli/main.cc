// dcmon: one binary, roles as subcommands. main() parses the command line and hands off; wiring
// only.
#include <CLI/CLI.hpp>
#include <cstdio>

#include "cli/airbyte.h"
#include "cli/broker.h"
#include "cli/detect.h"
#include "cli/load.h"
#include "cli/report.h"
#include "cli/run.h"
#include "cli/serve.h"
#include "cli/simulate.h"
#include "cli/sql.h"
#include "cli/version.h"

int main(int argc, char** argv) {
  CLI::App app{"dcmon: data-center monitoring pipeline (telemetry -> Kafka -> DuckDB, API, alerts)",
               "dcmon"};
  app.set_version_flag(
      "--version", [] { return dcmon::cli::VersionText(); }, "Print versions and exit");
  app.require_subcommand(0, 1);
  dcmon::cli::SimulateFlags simulate_flags;
  CLI::App* simulate = dcmon::cli::AddSimulate(app, simulate_flags);
  dcmon::bus::EmbeddedBrokerOptions broker_options;
  CLI::App* broker = dcmon::cli::AddBroker(app, broker_options);
  dcmon::cli::LoadFlags load_flags;
  CLI::App* load = dcmon::cli::AddLoad(app, load_flags);
  dcmon::cli::ServeFlags serve_flags;
  CLI::App* serve = dcmon::cli::AddServe(app, serve_flags);
  dcmon::cli::RunFlags run_flags;
  CLI::App* run = dcmon::cli::AddRun(app, run_flags);
  dcmon::cli::SqlFlags sql_flags;
  CLI::App* sql = dcmon::cli::AddSql(app, sql_flags);
  dcmon::cli::DetectFlags detect_flags;
  CLI::App* detect = dcmon::cli::AddDetect(app, detect_flags);
  dcmon::cli::AirbyteFlags airbyte_flags;
  CLI::App* airbyte = dcmon::cli::AddAirbyte(app, airbyte_flags);
  dcmon::cli::ReportFlags report_flags;
  CLI::App* report = dcmon::cli::AddReport(app, report_flags);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    std::fputs(e.what(), stdout);
    return 0;
  } catch (const CLI::ParseError& e) {
    // One line, so scripts and people see the reason at once.
    std::fprintf(stderr, "dcmon: %s (see dcmon --help)\n", e.what());
    return 2;
  }
  if (simulate->parsed())
    return dcmon::cli::RunSimulate(simulate_flags, simulate->count("--out") > 0);
  if (broker->parsed()) return dcmon::cli::RunBroker(broker_options);
  if (load->parsed()) return dcmon::cli::RunLoad(load_flags);
  if (sql->parsed()) return dcmon::cli::RunSql(sql_flags);
  if (report->parsed()) return dcmon::cli::RunReport(report_flags);
  if (detect->parsed()) return dcmon::cli::RunDetect(detect_flags);
  if (airbyte->parsed()) return dcmon::cli::RunAirbyte(*airbyte, airbyte_flags);
  if (serve->parsed()) return dcmon::cli::RunServe(serve_flags);
  if (run->parsed()) return dcmon::cli::RunRun(run_flags);
  std::fputs(app.help().c_str(), stdout);
  return 0;
}
