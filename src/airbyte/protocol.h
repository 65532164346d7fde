// The Airbyte Protocol's output side (shared/airbyte/airbyte_protocol.yaml): one AirbyteMessage per
// line on a FILE* (stdout), written through JsonWriter. Lines are buffered and written out on
// Flush() and when the buffer passes 1 MiB, so a page of records costs one write. Not thread-safe;
// one per process.
//
//   Emitter out(stdout);
//   out.Log("INFO", "reading sensor_readings from ingest_seq 0");
//   out.StreamStatus("sensor_readings", StreamState::kStarted);
//   out.Flush();
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

#include "core/json_writer.h"

namespace dcmon::airbyte {

enum class StreamState { kStarted, kRunning, kComplete, kIncomplete };

// AirbyteErrorTraceMessage.failure_type.
enum class FailureType { kSystemError, kConfigError, kTransientError };

class Emitter {
 public:
  explicit Emitter(std::FILE* out) : out_(out) {}
  ~Emitter() { Flush(); }
  Emitter(const Emitter&) = delete;
  Emitter& operator=(const Emitter&) = delete;

  // level: FATAL, ERROR, WARN, INFO, DEBUG or TRACE.
  void Log(std::string_view level, std::string_view message);
  // SPEC with this connectionSpecification (a JSON object) and documentationUrl.
  void Spec(std::string_view connection_specification_json, std::string_view documentation_url);
  void ConnectionStatus(bool succeeded, std::string_view message);
  // CATALOG: `streams_json` is the JSON array of AirbyteStream objects.
  void Catalog(std::string_view streams_json);
  void StreamStatus(std::string_view stream, StreamState state);
  // STREAM_STATUS RUNNING with a RATE_LIMITED reason, the quota resetting at `reset_ms` (epoch ms).
  void RateLimited(std::string_view stream, int64_t reset_ms);
  // TRACE ERROR; `stream` empty when the error belongs to no stream.
  void Error(std::string_view message, FailureType type, std::string_view stream = {});
  // STATE of type STREAM: {cursor_field: cursor}, with sourceStats.recordCount = records emitted
  // since the stream's previous STATE.
  void State(std::string_view stream, const JsonKey& cursor_field, int64_t cursor,
             int64_t record_count);

  // A RECORD: `write_data(w)` writes the members of `data` and returns false to drop the record
  // (a malformed page), in which case nothing of it is kept and Record returns false.
  template <typename WriteData>
  bool Record(std::string_view stream, int64_t emitted_at_ms, WriteData&& write_data) {
    const size_t mark = buffer_.size();
    bool ok = false;
    {
      JsonWriter w(buffer_);
      w.BeginObject();
      w.Key("type");
      w.String("RECORD");
      w.Key("record");
      w.BeginObject();
      w.Key("stream");
      w.String(stream);
      w.Key("emitted_at");
      w.Int(emitted_at_ms);
      w.Key("data");
      w.BeginObject();
      ok = write_data(w);
      w.EndObject();
      w.EndObject();
      w.EndObject();
    }
    if (!ok) {
      buffer_.resize(mark);
      return false;
    }
    EndLine();
    return true;
  }

  // Writes what is buffered and flushes the stream.
  void Flush();

 private:
  void EndLine();
  void StreamDescriptor(JsonWriter& w, std::string_view stream);

  std::FILE* out_;
  std::string buffer_;
};

}  // namespace dcmon::airbyte
