#include "cli/signals.h"

#include <atomic>
#include <csignal>

namespace dcmon::cli {
namespace {

std::atomic<bool> g_stop{false};
void OnSignal(int) { g_stop = true; }

}  // namespace

void InstallStopSignals() {
  std::signal(SIGINT, OnSignal);
  std::signal(SIGTERM, OnSignal);
}

bool StopRequested() { return g_stop; }

}  // namespace dcmon::cli
