// The two shapes of a message on the sensors and cooling topics, written by HTTP ingest and read by
// the loader (docs/kafka.md): one JSON record, keyed by its device id (the simulator's, Telegraf's,
// any producer's), or, marked with the header `dcmon-framing: ndjson`, several records as NDJSON
// lines, all of devices whose keys the producer's partitioner maps to the message's partition
// (HTTP ingest's: one message per partition a body touches instead of one per record).
//
//   producer.Produce(topic, {}, lines, kNdjsonFramingHeaders, tracker, partition);
//   if (IsNdjsonFramed(batch, i)) ForEachNdjsonLine(m.value, [&](std::string_view line,
//                                                               int64_t n) { ...; return true; });
#pragma once

#include <cstdint>
#include <cstring>
#include <string_view>

#include "bus/consumer.h"
#include "bus/producer.h"

namespace dcmon::ingest {

inline constexpr std::string_view kFramingHeader = "dcmon-framing";
inline constexpr std::string_view kNdjsonFraming = "ndjson";
inline constexpr bus::Header kNdjsonFramingHeaders[] = {{kFramingHeader, kNdjsonFraming}};

// Whether message `i` holds NDJSON lines rather than one record. A value without a newline is one
// line either way, and is not looked into further: librdkafka parses a consumed message's headers
// into a new list on first access, an allocation per message (about 5 % of a backlog's drain).
inline bool IsNdjsonFramed(const bus::Batch& messages, size_t i) {
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

}  // namespace dcmon::ingest
