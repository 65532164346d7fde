// How a role ends with an error: one line on stderr, "dcmon ROLE: reason", and the exit code
// (2: bad arguments or configuration; 1: failed while running).
#pragma once

#include <cstdio>
#include <string_view>

namespace dcmon::cli {

inline int Fail(std::string_view role, int code, std::string_view message) {
  std::fprintf(stderr, "dcmon %.*s: %.*s\n", static_cast<int>(role.size()), role.data(),
               static_cast<int>(message.size()), message.data());
  return code;
}

}  // namespace dcmon::cli
