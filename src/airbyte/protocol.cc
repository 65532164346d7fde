#include "airbyte/protocol.h"

#include "core/time.h"

namespace dcmon::airbyte {
namespace {

constexpr size_t kFlushBytes = 1 << 20;

std::string_view StateName(StreamState s) {
  switch (s) {
    case StreamState::kStarted:
      return "STARTED";
    case StreamState::kRunning:
      return "RUNNING";
    case StreamState::kComplete:
      return "COMPLETE";
    case StreamState::kIncomplete:
      return "INCOMPLETE";
  }
  return "INCOMPLETE";
}

std::string_view FailureName(FailureType t) {
  switch (t) {
    case FailureType::kSystemError:
      return "system_error";
    case FailureType::kConfigError:
      return "config_error";
    case FailureType::kTransientError:
      return "transient_error";
  }
  return "system_error";
}

// Opens {"type":TYPE,"trace":{"type":TRACE_TYPE,"emitted_at":now, ...; the caller closes both.
void BeginTrace(JsonWriter& w, std::string_view trace_type) {
  w.BeginObject();
  w.Key("type");
  w.String("TRACE");
  w.Key("trace");
  w.BeginObject();
  w.Key("type");
  w.String(trace_type);
  w.Key("emitted_at");
  w.Int(NowMicros() / 1000);
}

}  // namespace

void Emitter::StreamDescriptor(JsonWriter& w, std::string_view stream) {
  w.Key("stream_descriptor");
  w.BeginObject();
  w.Key("name");
  w.String(stream);
  w.EndObject();
}

void Emitter::Log(std::string_view level, std::string_view message) {
  {
    JsonWriter w(buffer_);
    w.BeginObject();
    w.Key("type");
    w.String("LOG");
    w.Key("log");
    w.BeginObject();
    w.Key("level");
    w.String(level);
    w.Key("message");
    w.String(message);
    w.EndObject();
    w.EndObject();
  }
  EndLine();
}

void Emitter::Spec(std::string_view connection_specification_json,
                   std::string_view documentation_url) {
  {
    JsonWriter w(buffer_);
    w.BeginObject();
    w.Key("type");
    w.String("SPEC");
    w.Key("spec");
    w.BeginObject();
    w.Key("documentationUrl");
    w.String(documentation_url);
    w.Key("supportsIncremental");
    w.Bool(true);
    w.Key("connectionSpecification");
    w.BeginObject();
    w.Members(connection_specification_json);
    w.EndObject();
    w.EndObject();
    w.EndObject();
  }
  EndLine();
}

void Emitter::ConnectionStatus(bool succeeded, std::string_view message) {
  {
    JsonWriter w(buffer_);
    w.BeginObject();
    w.Key("type");
    w.String("CONNECTION_STATUS");
    w.Key("connectionStatus");
    w.BeginObject();
    w.Key("status");
    w.String(succeeded ? "SUCCEEDED" : "FAILED");
    if (!message.empty()) {
      w.Key("message");
      w.String(message);
    }
    w.EndObject();
    w.EndObject();
  }
  EndLine();
}

void Emitter::Catalog(std::string_view streams_json) {
  buffer_ += R"({"type":"CATALOG","catalog":{"streams":)";
  buffer_ += streams_json;
  buffer_ += "}}";
  EndLine();
}

void Emitter::StreamStatus(std::string_view stream, StreamState state) {
  {
    JsonWriter w(buffer_);
    BeginTrace(w, "STREAM_STATUS");
    w.Key("stream_status");
    w.BeginObject();
    StreamDescriptor(w, stream);
    w.Key("status");
    w.String(StateName(state));
    w.EndObject();
    w.EndObject();
    w.EndObject();
  }
  EndLine();
}

void Emitter::RateLimited(std::string_view stream, int64_t reset_ms) {
  {
    JsonWriter w(buffer_);
    BeginTrace(w, "STREAM_STATUS");
    w.Key("stream_status");
    w.BeginObject();
    StreamDescriptor(w, stream);
    w.Key("status");
    w.String("RUNNING");
    w.Key("reasons");
    w.BeginArray();
    w.BeginObject();
    w.Key("type");
    w.String("RATE_LIMITED");
    w.Key("rate_limited");
    w.BeginObject();
    w.Key("quota_reset");
    w.Int(reset_ms);
    w.EndObject();
    w.EndObject();
    w.EndArray();
    w.EndObject();
    w.EndObject();
    w.EndObject();
  }
  EndLine();
}

void Emitter::Error(std::string_view message, FailureType type, std::string_view stream) {
  {
    JsonWriter w(buffer_);
    BeginTrace(w, "ERROR");
    w.Key("error");
    w.BeginObject();
    w.Key("message");
    w.String(message);
    w.Key("failure_type");
    w.String(FailureName(type));
    if (!stream.empty()) StreamDescriptor(w, stream);
    w.EndObject();
    w.EndObject();
    w.EndObject();
  }
  EndLine();
}

void Emitter::State(std::string_view stream, const JsonKey& cursor_field, int64_t cursor,
                    int64_t record_count) {
  {
    JsonWriter w(buffer_);
    w.BeginObject();
    w.Key("type");
    w.String("STATE");
    w.Key("state");
    w.BeginObject();
    w.Key("type");
    w.String("STREAM");
    w.Key("stream");
    w.BeginObject();
    StreamDescriptor(w, stream);
    w.Key("stream_state");
    w.BeginObject();
    w.Key(cursor_field);
    w.Int(cursor);
    w.EndObject();
    w.EndObject();
    w.Key("sourceStats");
    w.BeginObject();
    w.Key("recordCount");
    w.Double(static_cast<double>(record_count));
    w.EndObject();
    w.EndObject();
    w.EndObject();
  }
  EndLine();
}

void Emitter::EndLine() {
  buffer_.push_back('\n');
  if (buffer_.size() >= kFlushBytes) Flush();
}

void Emitter::Flush() {
  if (!buffer_.empty()) std::fwrite(buffer_.data(), 1, buffer_.size(), out_);
  buffer_.clear();
  std::fflush(out_);
}

}  // namespace dcmon::airbyte
