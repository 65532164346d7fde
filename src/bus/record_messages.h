// The two shapes of a message on the sensors and cooling topics (docs/kafka.md): one JSON record,
// keyed by its device id (Telegraf's, any producer's), or, marked with the header
// `dcmon-framing: ndjson`, several records as NDJSON lines, all of devices whose keys the
// producer's partitioner maps to the message's partition. dcmon's own producers (the simulator's
// KafkaSink, HTTP ingest) frame their records so with RecordFrames: one message per partition and
// about 256 KB instead of one per record. The loader reads both.
//
//   RecordFrames frames;
//   Status s = frames.Start(producer, "dc.sensors", 10s, tracker);  // the topic's partitions
//   s = frames.Add(device_id, json);  // sends a partition's message once it is full
//   s = frames.SendAll();             // and the rest
//   if (IsNdjsonFramed(batch, i)) ForEachNdjsonLine(m.value, [&](std::string_view line,
//                                                               int64_t n) { ...; return true; });
#pragma once

#include <chrono>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "bus/consumer.h"
#include "bus/producer.h"
#include "core/status.h"

namespace dcmon::bus {

inline constexpr std::string_view kFramingHeader = "dcmon-framing";
inline constexpr std::string_view kNdjsonFraming = "ndjson";
inline constexpr Header kNdjsonFramingHeaders[] = {{kFramingHeader, kNdjsonFraming}};
// Size a framed message grows to before it is sent: it may pass this by one record (a record is at
// most 64 KB), well under the broker's 1 MB message.max.bytes.
inline constexpr size_t kFramedMessageBytes = 256 * 1024;

// Records of one topic on their way to Kafka, as NDJSON messages by the partition their device's
// key maps to. Not thread-safe: one per producing thread.
class RecordFrames {
 public:
  // Frames for `topic` through `producer` (each message counted in `tracker`, if any), in messages
  // of about `message_bytes`, by the topic's partitions as the producer knows them (waiting up to
  // `timeout` for the brokers the first time), until the next SendAll() or Clear(): a caller
  // starts again then, so a partition count that grew is picked up. Unavailable when no broker
  // tells the partitions.
  Status Start(Producer& producer, const std::string& topic, std::chrono::milliseconds timeout,
               std::shared_ptr<DeliveryTracker> tracker = nullptr,
               size_t message_bytes = kFramedMessageBytes);
  // Whether Start() was called since the last SendAll() or Clear().
  bool started() const { return producer_ != nullptr; }
  // Frames `line` (one JSON record, without its newline) for the partition `key` maps to, and
  // produces that partition's message once it holds message_bytes; returns Produce()'s error.
  // Requires started().
  Status Add(std::string_view key, std::string_view line);
  // Produces every partition's message that holds records, in partition order, and stops
  // framing; returns the first error (the messages after it are dropped). A no-op if not started.
  Status SendAll();
  // Drops every framed record and stops framing (a caller that gave up half-way).
  void Clear();

 private:
  struct Frame {
    std::string message;  // NDJSON lines
    int64_t records = 0;
    void Clear() {
      message.clear();
      records = 0;
    }
  };
  Status SendFrame(size_t index);
  void Stop();

  Producer* producer_ = nullptr;  // null: not started
  std::string topic_;
  std::shared_ptr<DeliveryTracker> tracker_;
  size_t message_bytes_ = kFramedMessageBytes;
  std::optional<TopicPartitions> partitions_;
  // [partition count + 1], emptied as they are sent; the last is for records the partitioner
  // leaves to librdkafka (a random partitioner).
  std::vector<Frame> frames_;
};

// How many lines an NDJSON `text` holds, blank ones included: at least its records.
inline size_t CountNdjsonLines(std::string_view text) {
  size_t lines = 0;
  for (const char *p = text.data(), *end = text.data() + text.size(); p < end; ++p, ++lines) {
    p = static_cast<const char*>(std::memchr(p, '\n', static_cast<size_t>(end - p)));
    if (p == nullptr) return lines + 1;  // a last line without its newline
  }
  return lines;
}

// Whether message `i` holds NDJSON lines rather than one record. A value without a newline is one
// line either way, and is not looked into further: librdkafka parses a consumed message's headers
// into a new list on first access, an allocation per message (about 5 % of a backlog's drain).
inline bool IsNdjsonFramed(const Batch& messages, size_t i) {
  const std::string_view value = messages.message(i).value;
  if (std::memchr(value.data(), '\n', value.size()) == nullptr) return false;
  return messages.header(i, kFramingHeader) == kNdjsonFraming;
}

// Calls `take(line, number)` for each non-blank line of `text` as RecordDecoder::DecodeNdjson reads
// them (numbered from 1, blank lines counted; a trailing '\r' dropped) until `take` returns false.
template <typename Take>
void ForEachNdjsonLine(std::string_view text, Take&& take) {
  int64_t number = 0;
  for (size_t pos = 0; pos < text.size();) {
    ++number;
    const char* nl =
        static_cast<const char*>(std::memchr(text.data() + pos, '\n', text.size() - pos));
    const size_t end = nl ? static_cast<size_t>(nl - text.data()) : text.size();
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
    if (!take(line, number)) return;
  }
}

}  // namespace dcmon::bus
