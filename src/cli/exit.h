// How a role ends with an error: one line on stderr, "dcmon ROLE: reason", and the exit code
// (2: bad arguments or configuration; 1: failed while running). ExitCode is the one mapping from a
// Status to the process's exit code.
#pragma once

#include <cstdio>
#include <string_view>

#include "core/status.h"

namespace dcmon::cli {

inline int Fail(std::string_view role, int code, std::string_view message) {
  std::fprintf(stderr, "dcmon %.*s: %.*s\n", static_cast<int>(role.size()), role.data(),
               static_cast<int>(message.size()), message.data());
  return code;
}

// 2 for what the user can fix in the command or the configuration (invalid argument, not found,
// permission denied, unauthenticated); 1 for a failure while running.
inline int ExitCode(const Status& s) {
  switch (s.code()) {
    case StatusCode::kInvalidArgument:
    case StatusCode::kNotFound:
    case StatusCode::kPermissionDenied:
    case StatusCode::kUnauthenticated:
      return 2;
    default:
      return 1;
  }
}

inline int Fail(std::string_view role, const Status& s) {
  return Fail(role, ExitCode(s), s.message());
}

}  // namespace dcmon::cli
