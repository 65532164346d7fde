// Status and Result<T>: the one way dcmon returns expected errors (bad input, a broker down, a full
// disk). Exceptions are reserved for the truly fatal; library exceptions are caught at component
// boundaries.
//
//   Result<int64_t> r = ParseRfc3339(text);
//   if (!r.ok()) return r.status();       // propagate
//   int64_t micros = *r;                  // aborts with the message if !r.ok()
//
// A Status carries a code that callers branch on, and a message for people; nobody matches
// substrings of messages. The edges map codes once: api::ProblemFrom (HTTP status) and
// cli::ExitCode (process exit code). CHECK(cond) aborts on a broken invariant, with the reason.
#pragma once

#include <fmt/core.h>

#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace dcmon {

enum class StatusCode {
  kOk = 0,
  kInvalidArgument,     // bad input from a user or a peer: fix the request or the configuration
  kNotFound,            // a named thing (file, device, route, stream) does not exist
  kPermissionDenied,    // authenticated, but not allowed (scope, read-only store)
  kUnauthenticated,     // no or a wrong credential
  kResourceExhausted,   // a queue, a rate limit or memory is full: try again later
  kUnavailable,         // a peer (broker, store, server) cannot be reached now: try again later
  kDeadlineExceeded,    // gave up waiting (a query timeout, a delivery deadline)
  kAborted,             // a conflict (a write-write conflict in the store): retry the operation
  kFailedPrecondition,  // the system is not in a state for this (a store of a newer schema)
  kIoError,             // a file, pipe or socket failed (a full disk, a closed pipe)
  kInternal,            // a bug or an unexpected library failure
};

// "invalid argument", "deadline exceeded", ...: for logs and problem documents.
std::string_view StatusCodeName(StatusCode code);

// Aborts with file, line and the message: for broken invariants, never for bad input.
[[noreturn]] void CheckFailed(const char* file, int line, const char* condition,
                              std::string_view message);

#define DCMON_CHECK_IMPL(cond, ...)                                                \
  do {                                                                             \
    if (!(cond)) [[unlikely]]                                                      \
      ::dcmon::CheckFailed(__FILE__, __LINE__, #cond, ::fmt::format(__VA_ARGS__)); \
  } while (false)
// CHECK(x > 0) or CHECK(x > 0, "x is {}", x).
#define CHECK(cond, ...) DCMON_CHECK_IMPL(cond, "" __VA_ARGS__)

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
inline Status NotFound(std::string message) { return {StatusCode::kNotFound, std::move(message)}; }
inline Status PermissionDenied(std::string message) {
  return {StatusCode::kPermissionDenied, std::move(message)};
}
inline Status Unauthenticated(std::string message) {
  return {StatusCode::kUnauthenticated, std::move(message)};
}
inline Status ResourceExhausted(std::string message) {
  return {StatusCode::kResourceExhausted, std::move(message)};
}
inline Status Unavailable(std::string message) {
  return {StatusCode::kUnavailable, std::move(message)};
}
inline Status DeadlineExceeded(std::string message) {
  return {StatusCode::kDeadlineExceeded, std::move(message)};
}
inline Status Aborted(std::string message) { return {StatusCode::kAborted, std::move(message)}; }
inline Status FailedPrecondition(std::string message) {
  return {StatusCode::kFailedPrecondition, std::move(message)};
}
inline Status Internal(std::string message) { return {StatusCode::kInternal, std::move(message)}; }

// Either a value or a non-ok Status.
template <typename T>
class Result {
 public:
  Result(T value) : value_(std::move(value)) {}         // NOLINT(google-explicit-constructor)
  Result(Status status) : status_(std::move(status)) {  // NOLINT(google-explicit-constructor)
    CHECK(!status_.ok(), "Result constructed from an ok Status");
  }

  bool ok() const { return value_.has_value(); }
  const Status& status() const { return status_; }

  // Reading the value of a failed Result is a bug: it aborts with the error it holds.
  T& operator*() & { return Checked(); }
  const T& operator*() const& { return Checked(); }
  T&& operator*() && { return std::move(Checked()); }  // *Make() moves the value out
  T* operator->() { return &Checked(); }
  const T* operator->() const { return &Checked(); }
  T& value() { return Checked(); }
  const T& value() const { return Checked(); }

 private:
  T& Checked() {
    CHECK(value_.has_value(), "value of a failed Result: {}", status_.message());
    return *value_;
  }
  const T& Checked() const {
    CHECK(value_.has_value(), "value of a failed Result: {}", status_.message());
    return *value_;
  }

  std::optional<T> value_;
  Status status_;
};

}  // namespace dcmon
