// HTTP ingest as a service: what POST /api/v1/ingest (records as NDJSON or a JSON array) and
// POST /write, /api/v2/write (InfluxDB line protocol) hand over, validated and produced to Kafka,
// answered only once Kafka has acknowledged every message. Nothing here writes the store: records
// go to the sensors and cooling topics as the bytes that were validated (an NDJSON line as sent, a
// JSON-array element as its minified text), framed as NDJSON per partition: one message holds a
// body's records whose device ids the producer's partitioner maps to its partition, in body order
// (bus/record_messages.h), so a device's records share a partition with its records from any
// other producer. Line-protocol points go to the metrics topic in their compact encoding
// (store/points.h), and rejected lines to the rejects topic with their reason, all for the loader
// to store exactly once (docs/architecture.md, "One writer").
//
// Thread-safe: the API's ingest workers call it concurrently; each call waits only for its own
// messages. A call that gives up at ack_timeout leaves its messages to librdkafka, which still
// delivers them (counted as late by the producer).
//
//   HttpIngest ingest(*producer, kafka, {});
//   Result<IngestOutcome> r = ingest.Records(body, "10.0.0.1");
//   // InvalidArgument: malformed body (400); IoError: Kafka did not acknowledge in time (503)
#pragma once

#include <chrono>
#include <cstdint>
#include <string_view>
#include <vector>

#include "bus/kafka_config.h"
#include "bus/producer.h"
#include "bus/record_messages.h"
#include "core/line_protocol.h"
#include "core/record_json.h"
#include "core/status.h"

namespace dcmon::ingest {

struct HttpIngestOptions {
  // How long a request waits for Kafka's acknowledgements before it is answered 503.
  std::chrono::milliseconds ack_timeout{10000};
  // Size a message of records (NDJSON) or of line-protocol points grows to before the next one
  // starts: it may pass this by one record or point (a record is at most 64 KB), well under the
  // broker's 1 MB message.max.bytes.
  size_t message_bytes = bus::kFramedMessageBytes;

  Status Validate() const;
};

// What one request came to.
struct IngestOutcome {
  int64_t lines = 0;     // non-blank NDJSON lines, array elements, or line-protocol points + errors
  int64_t accepted = 0;  // records or points acknowledged by Kafka
  std::vector<RejectedLine> rejects;  // acknowledged by Kafka on the rejects topic as well
};

class HttpIngest {
 public:
  // `producer` must outlive this service.
  HttpIngest(bus::Producer& producer, bus::KafkaConfig topics, HttpIngestOptions options = {});

  // Records as NDJSON (one per line) or as a JSON array of objects. A bad line or element rejects
  // only itself. InvalidArgument when the array as a whole is malformed (nothing is produced);
  // IoError when Kafka did not take everything within ack_timeout (part may be in Kafka: a retry
  // re-sends it, and the loader drops re-sends).
  Result<IngestOutcome> Records(std::string_view body, std::string_view remote);
  // InfluxDB line protocol; points without a timestamp get `now_micros`. Errors as for Records().
  Result<IngestOutcome> LineProtocol(std::string_view body, Precision precision, int64_t now_micros,
                                     std::string_view remote);

 private:
  // Produces the rejects, then waits for every message of `tracker`.
  Status Finish(const std::vector<RejectedLine>& rejects, std::string_view remote,
                const std::shared_ptr<bus::DeliveryTracker>& tracker);

  bus::Producer& producer_;
  bus::KafkaConfig topics_;
  HttpIngestOptions options_;
};

}  // namespace dcmon::ingest
