// SIGINT and SIGTERM ask a running role to stop: it finishes what is in flight, flushes and exits
// 0.
#pragma once

namespace dcmon::cli {

void InstallStopSignals();
bool StopRequested();

}  // namespace dcmon::cli
