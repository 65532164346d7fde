// Where encoded records go. A producer of records (the simulator) encodes each one once and hands
// the line to a Sink with the device id as its key. NDJSON files and stdout are here; Kafka is
// bus/kafka_sink.h.
//
//   Result<std::unique_ptr<Sink>> out = OpenNdjsonSink("-");     // stdout; or a file path
//   (*out)->Write("room-1-a01-pdu", R"({"source_type":"sensor",...})");
//   (*out)->Flush();
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "core/status.h"

namespace dcmon {

// Not thread-safe: one writer.
class Sink {
 public:
  virtual ~Sink() = default;
  // One JSON record without its newline, keyed by the device it is about.
  virtual Status Write(std::string_view key, std::string_view line) = 0;
  virtual Status Flush() = 0;
};

// Newline-delimited JSON to a file descriptor, buffered; `path` "-" is stdout. Errors name the path
// and the system's reason ("records.ndjson: No space left on device").
Result<std::unique_ptr<Sink>> OpenNdjsonSink(const std::string& path);

}  // namespace dcmon
