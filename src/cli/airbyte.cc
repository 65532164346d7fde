#include "cli/airbyte.h"

#include <fmt/format.h>

#include <cstdio>
#include <fstream>
#include <sstream>

namespace dcmon::cli {
namespace {

Result<std::string> Slurp(const std::string& flag, const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return IoError(fmt::format("{} {}: cannot open the file", flag, path));
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

CLI::App* AddAirbyte(CLI::App& app, AirbyteFlags& f) {
  CLI::App* cmd = app.add_subcommand(
      "airbyte", "Airbyte source connector over a running dcmon serve (docs/airbyte.md)");
  cmd->require_subcommand(1);
  cmd->add_subcommand("spec", "Print the connector's specification");
  for (const char* name : {"check", "discover", "read"}) {
    CLI::App* sub = cmd->add_subcommand(name, fmt::format("Airbyte {}", name));
    sub->add_option("--config", f.config, "Connection configuration (JSON file)")->required();
    if (std::string_view(name) == "read") {
      sub->add_option("--catalog", f.catalog, "Configured catalog (JSON file)")->required();
      sub->add_option("--state", f.state, "State: an array of STATE messages (JSON file)");
    }
  }
  cmd->add_option("--max-retries", f.options.max_retries,
                  "Retries of a request after 5xx, 408, 429 or a timeout")
      ->capture_default_str();
  return cmd;
}

int RunAirbyte(const CLI::App& cmd, const AirbyteFlags& f) {
  airbyte::Emitter out(stdout);
  if (Status s = f.options.Validate(); !s.ok()) {
    out.Error(s.message(), airbyte::FailureType::kConfigError);
    return 1;
  }
  const airbyte::Source source(f.options);
  if (cmd.got_subcommand("spec")) {
    source.Spec(out);
    return 0;
  }
  Result<std::string> config = Slurp("--config", f.config);
  if (!config.ok()) {
    out.Error(config.status().message(), airbyte::FailureType::kConfigError);
    return 1;
  }
  if (cmd.got_subcommand("check")) {
    source.Check(*config, out);
    return 0;
  }
  Result<airbyte::SourceConfig> parsed = airbyte::ParseConfig(*config);
  if (!parsed.ok()) {
    out.Error(parsed.status().WithPrefix("--config: ").message(),
              airbyte::FailureType::kConfigError);
    return 1;
  }
  if (cmd.got_subcommand("discover")) {
    source.Discover(out);
    return 0;
  }
  Result<std::string> catalog = Slurp("--catalog", f.catalog);
  Result<std::string> state =
      f.state.empty() ? Result<std::string>(std::string()) : Slurp("--state", f.state);
  for (const Result<std::string>* r : {&catalog, &state}) {
    if (!r->ok()) {
      out.Error(r->status().message(), airbyte::FailureType::kConfigError);
      return 1;
    }
  }
  const bool ok =
      source.Read(*parsed, *catalog,
                  f.state.empty() ? std::nullopt : std::optional<std::string_view>(*state), out);
  return ok ? 0 : 1;
}

}  // namespace dcmon::cli
