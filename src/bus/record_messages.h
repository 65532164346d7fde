// The two shapes of a message on the sensors and cooling topics (docs/kafka.md): one JSON record,
// keyed by its device id (Telegraf's, any producer's), or, marked with the header
// `dcmon-framing: ndjson`, several records as NDJSON lines, all of devices whose keys the
// producer's partitioner maps to the message's partition. dcmon's own producers (the simulator's
// KafkaSink, HTTP ingest) frame their records so with RecordFrames: one message per partition and
// about 256 KB instead of one per record. The loader reads both.
//
//   RecordFrames frames;
//   frames.Start(*producer.Partitions(topic, 10s));
//   auto send = [&](int32_t partition, std::string_view message, int64_t records) {
//     return producer.Produce(topic, {}, message, kNdjsonFramingHeaders, tracker, partition,
//     records);
//   };
//   Status s = frames.Add(device_id, json, send);  // sends a partition's message once it is full
//   s = frames.SendAll(send);                       // and the rest
//   if (IsNdjsonFramed(batch, i)) ForEachNdjsonLine(m.value, [&](std::string_view line,
//                                                               int64_t n) { ...; return true; });
#pragma once

#include <cstdint>
#include <cstring>
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
  // Drops every framed record and the partitions (a caller that gave up half-way).
  void Clear() {
    for (Frame& f : frames_) f.Clear();
    partitions_.reset();
  }
  // Whether Start() was called since the last SendAll() or Clear().
  bool started() const { return partitions_.has_value(); }
  // Frames by `partitions`, in messages of about `message_bytes`, until the next SendAll() (a
  // caller asks the producer again then, so a partition count that grew is picked up).
  void Start(const TopicPartitions& partitions, size_t message_bytes = kFramedMessageBytes) {
    partitions_ = partitions;
    message_bytes_ = message_bytes;
    frames_.resize(static_cast<size_t>(partitions.count()) + 1);
  }

  // Frames `line` (one JSON record, without its newline) for the partition `key` maps to, and sends
  // that partition's message with `send(partition, message, records)` once it holds message_bytes.
  // Returns send's error. Requires started().
  template <typename Send>
  Status Add(std::string_view key, std::string_view line, Send&& send) {
    const int32_t partition = partitions_->Of(key);
    // The last frame is for records the partitioner leaves to librdkafka (a random partitioner).
    const size_t index =
        partition == RD_KAFKA_PARTITION_UA ? frames_.size() - 1 : static_cast<size_t>(partition);
    Frame& f = frames_[index];
    f.message.append(line);
    f.message.push_back('\n');
    ++f.records;
    if (f.message.size() < message_bytes_) return Status::Ok();
    return SendFrame(index, send);
  }

  // Sends every partition's message that holds records, in partition order, and stops framing by
  // the partitions Start() gave; returns the first error (the messages after it are dropped).
  template <typename Send>
  Status SendAll(Send&& send) {
    Status status;
    for (size_t i = 0; i < frames_.size(); ++i) {
      if (frames_[i].records == 0) continue;
      if (status.ok()) {
        status = SendFrame(i, send);
      } else {
        frames_[i].Clear();
      }
    }
    partitions_.reset();
    return status;
  }

 private:
  struct Frame {
    std::string message;  // NDJSON lines
    int64_t records = 0;
    void Clear() {
      message.clear();
      records = 0;
    }
  };

  template <typename Send>
  Status SendFrame(size_t index, Send& send) {
    Frame& f = frames_[index];
    const int32_t partition =
        index == frames_.size() - 1 ? RD_KAFKA_PARTITION_UA : static_cast<int32_t>(index);
    Status s = send(partition, std::string_view(f.message), f.records);
    f.Clear();
    return s;
  }

  size_t message_bytes_ = kFramedMessageBytes;
  std::optional<TopicPartitions> partitions_;
  std::vector<Frame> frames_;  // [partition count + 1], emptied as they are sent
};

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
