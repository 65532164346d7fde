// Status and Result<T>: the one way dcmon returns expected errors (bad input, a broker down, a full
// disk). Exceptions are reserved for the truly fatal; library exceptions are caught at component
// boundaries.
//
//   Result<int64_t> r = ParseRfc3339(text);
//   if (!r.ok()) return r.status();       // propagate
//   int64_t micros = *r;
#pragma once

#include <fmt/core.h>

#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <utility>

namespace dcmon {

enum class StatusCode {
  kOk = 0,
  kInvalidArgument,  // bad input from a user or a peer
  kIoError,          // a file, pipe or socket failed (a full disk, a closed pipe)
  // Further codes (a broker down) arrive with the components that return them.
};

// Value type; cheap to copy when ok (no message).
class Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return {}; }
  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }

  // Prefixes the message with context, e.g. "line 7: " + "value: expected a number".
  Status WithPrefix(std::string_view prefix) const {
    return Status(code_, fmt::format("{}{}", prefix, message_));
  }

  friend bool operator==(const Status&, const Status&) = default;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

inline Status InvalidArgument(std::string message) {
  return Status(StatusCode::kInvalidArgument, std::move(message));
}
inline Status IoError(std::string message) {
  return Status(StatusCode::kIoError, std::move(message));
}

// Either a value or a non-ok Status.
template <typename T>
class Result {
 public:
  Result(T value) : value_(std::move(value)) {}         // NOLINT(google-explicit-constructor)
  Result(Status status) : status_(std::move(status)) {  // NOLINT(google-explicit-constructor)
    if (status_.ok()) {
      std::fprintf(stderr, "CHECK failed: Result constructed from an ok Status\n");
      std::abort();
    }
  }

  bool ok() const { return value_.has_value(); }
  const Status& status() const { return status_; }

  T& operator*() & { return *value_; }
  const T& operator*() const& { return *value_; }
  T&& operator*() && { return std::move(*value_); }  // *Make() moves the value out of a temporary
  T* operator->() { return &*value_; }
  const T* operator->() const { return &*value_; }
  T& value() { return *value_; }
  const T& value() const { return *value_; }

 private:
  std::optional<T> value_;
  Status status_;
};

}  // namespace dcmon
