// `dcmon detect`: runs dcmon's detectors over a recorded series, a plain `timestamp,value` CSV
// (any common timestamp form, any regular cadence, inferred) or seed-schema NDJSON, and prints one
// line per anomaly; `--scores` writes every point's score (the input of tests/nab_score.py).
#pragma once

#include <CLI/CLI.hpp>
#include <string>

namespace dcmon::cli {

struct DetectFlags {
  std::string input;
  std::string format;  // csv | ndjson; empty: from the file name, else from the first byte
  std::string scores;  // every point's score as CSV
};

CLI::App* AddDetect(CLI::App& app, DetectFlags& flags);
int RunDetect(const DetectFlags& flags);

}  // namespace dcmon::cli
