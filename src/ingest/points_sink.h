// The loader's side of HTTP ingest's two non-record topics: line-protocol points on the metrics
// topic (store/points.h encoding) become `metrics` rows, and rejected lines on the rejects topic
// marked `dcmon-source: http` become `rejects` rows, both in the loader's batch, so they commit
// with the batch's offsets exactly once. Other messages on the rejects topic (the loader's own dead
// letters, stored when they were rejected) are skipped; their offsets still advance.
//
//   if (IsHttpTopic(kafka, m.topic)) { Status s = TakeHttpMessage(kafka, messages, i, batch); ... }
#pragma once

#include <string_view>

#include "bus/consumer.h"
#include "bus/kafka_config.h"
#include "core/status.h"
#include "store/writer.h"

namespace dcmon::ingest {

// Headers of a message on the rejects topic: why, where it came from, and who rejected it.
inline constexpr std::string_view kRejectReasonHeader = "dcmon-reason";
inline constexpr std::string_view kRejectPositionHeader = "dcmon-position";
inline constexpr std::string_view kRejectSourceHeader = "dcmon-source";

// True for the metrics and rejects topics: their messages are not records.
bool IsHttpTopic(const bus::KafkaConfig& kafka, std::string_view topic);

// Adds message `i` (on one of IsHttpTopic's topics) to `batch`. An error (a malformed points
// message) adds nothing; the caller keeps the message as a reject.
Status TakeHttpMessage(const bus::KafkaConfig& kafka, const bus::Batch& messages, size_t i,
                       store::WriteBatch& batch);

}  // namespace dcmon::ingest
