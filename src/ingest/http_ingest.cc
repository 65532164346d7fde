#include "ingest/http_ingest.h"

#include <fmt/format.h>
#include <simdjson.h>

#include <cstring>

#include "bus/record_messages.h"
#include "ingest/points_sink.h"
#include "store/points.h"

namespace dcmon::ingest {
namespace {

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

std::string_view Trim(std::string_view s) {
  while (!s.empty() && IsSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsSpace(s.back())) s.remove_suffix(1);
  return s;
}

// The elements of a JSON array, found without parsing them (each is parsed once, by the record
// decoder): brackets and braces are counted outside strings. Errors say what is wrong with the
// array as a whole; a malformed element that still balances is the decoder's to reject.
Status SplitJsonArray(std::string_view text, std::vector<std::string_view>& out) {
  const size_t n = text.size();
  size_t i = 1;  // after '['
  auto skip_space = [&] {
    while (i < n && IsSpace(text[i])) ++i;
  };
  skip_space();
  if (i < n && text[i] == ']') {
    ++i;
  } else {
    for (;;) {
      const size_t start = i;
      int depth = 0;
      for (; i < n; ++i) {
        const char c = text[i];
        if (c == '"') {
          for (++i; i < n && text[i] != '"'; ++i) {
            if (text[i] == '\\') ++i;
          }
          if (i >= n) return InvalidArgument("body: not JSON (unterminated string)");
        } else if (c == '{' || c == '[') {
          ++depth;
        } else if (c == '}' || c == ']') {
          if (depth == 0) break;
          --depth;
        } else if (c == ',' && depth == 0) {
          break;
        }
      }
      if (i >= n) return InvalidArgument("body: not JSON (unterminated array)");
      const std::string_view element = Trim(text.substr(start, i - start));
      if (element.empty() || text[i] == '}') {
        return InvalidArgument(
            fmt::format("body: not JSON (element {}: expected a value)", out.size() + 1));
      }
      out.push_back(element);
      if (text[i++] == ']') break;
    }
  }
  skip_space();
  if (i != n) return InvalidArgument("body: not JSON (text after the array)");
  return Status::Ok();
}

struct Decoders {
  RecordDecoder records;
  Record record;         // decoded into again and again: its strings keep their buffers
  std::string minified;  // a JSON array's element, minified
  std::vector<std::string_view> elements;
  bus::RecordFrames sensors, cooling;
  std::string message;  // a points message being built
};

// One per ingest worker thread: the decoder keeps its parser buffers.
Decoders& ThreadDecoders() {
  thread_local Decoders d;
  return d;
}

}  // namespace

Status HttpIngestOptions::Validate() const {
  if (ack_timeout.count() <= 0) return InvalidArgument("ingest.ack_timeout: must be > 0");
  if (message_bytes < 1024) return InvalidArgument("ingest.message_bytes: must be >= 1024");
  return Status::Ok();
}

HttpIngest::HttpIngest(bus::Producer& producer, bus::KafkaConfig topics, HttpIngestOptions options)
    : producer_(producer), topics_(std::move(topics)), options_(options) {}

Result<IngestOutcome> HttpIngest::Records(std::string_view body, std::string_view remote) {
  Decoders& d = ThreadDecoders();
  d.sensors.Clear();
  d.cooling.Clear();
  IngestOutcome out;
  auto tracker = std::make_shared<bus::DeliveryTracker>();
  Status produced;
  // Validates one record and frames it, as the bytes it was decoded from, for its device's
  // partition.
  auto take = [&](std::string_view raw, int64_t line) {
    if (Status s = d.records.DecodeInto(raw, d.record); !s.ok()) {
      out.rejects.push_back({line, fmt::format("line {}: {}", line, s.message()),
                             std::string(raw.substr(0, DecodeLimits{}.max_record_bytes))});
      return true;
    }
    const bool sensor = std::holds_alternative<SensorReading>(d.record);
    const std::string& topic = sensor ? topics_.sensors_topic : topics_.cooling_topic;
    bus::RecordFrames& frames = sensor ? d.sensors : d.cooling;
    if (!frames.started()) {
      produced =
          frames.Start(producer_, topic, options_.ack_timeout, tracker, options_.message_bytes);
      if (!produced.ok()) return false;
    }
    ++out.accepted;
    produced = frames.Add(DeviceIdOf(d.record), raw);
    return produced.ok();
  };
  const std::string_view text = Trim(body);
  if (!text.empty() && text.front() == '[') {
    // Positions are 1-based element numbers, reported as "line" like NDJSON's.
    d.elements.clear();
    if (Status s = SplitJsonArray(text, d.elements); !s.ok()) return s;
    for (size_t i = 0; i < d.elements.size(); ++i) {
      const std::string_view element = d.elements[i];
      ++out.lines;
      d.minified.resize(element.size());
      size_t len = 0;
      if (simdjson::minify(element.data(), element.size(), d.minified.data(), len)) len = 0;
      if (!take(len ? std::string_view(d.minified.data(), len) : element,
                static_cast<int64_t>(i) + 1))
        break;
    }
  } else {
    // NDJSON: blank lines are skipped but counted.
    bus::ForEachNdjsonLine(body, [&](std::string_view line, int64_t number) {
      ++out.lines;
      return take(line, number);
    });
  }
  if (produced.ok()) produced = d.sensors.SendAll();
  if (produced.ok()) produced = d.cooling.SendAll();
  if (!produced.ok()) {
    // Some may be in Kafka already: a retry re-sends them, and the loader drops re-sends.
    (void)tracker->Wait(producer_.handle(), options_.ack_timeout);
    return produced;
  }
  if (Status s = Finish(out.rejects, remote, tracker); !s.ok()) return s;
  return out;
}

Result<IngestOutcome> HttpIngest::LineProtocol(std::string_view body, Precision precision,
                                               int64_t now_micros, std::string_view remote) {
  const LineProtocolBatch batch = ParseLineProtocol(body, precision, now_micros);
  IngestOutcome out;
  out.lines = static_cast<int64_t>(batch.points.size() + batch.errors.size());
  auto tracker = std::make_shared<bus::DeliveryTracker>();
  std::string& message = ThreadDecoders().message;
  // Points go in messages of about message_bytes, each one unit of the loader's commit.
  for (size_t i = 0; i < batch.points.size();) {
    store::StartPointsMessage(message);
    for (; i < batch.points.size() && message.size() < options_.message_bytes; ++i)
      store::AppendPoint(batch.points[i], message);
    if (Status s = producer_.Produce(topics_.metrics_topic, {}, message, {}, tracker); !s.ok()) {
      (void)tracker->Wait(producer_.handle(), options_.ack_timeout);
      return s;
    }
  }
  out.accepted = static_cast<int64_t>(batch.points.size());
  // A rejected line's raw text, found in one pass (errors come in body order).
  std::string_view rest = body;
  int64_t at = 1;
  for (const LineError& e : batch.errors) {
    for (; at < e.line && !rest.empty(); ++at) {
      const size_t nl = rest.find('\n');
      rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
    }
    out.rejects.push_back(
        {e.line, e.status.message(),
         std::string(rest.substr(0, std::min(rest.find('\n'), kMaxLineProtocolLineBytes)))});
  }
  if (Status s = Finish(out.rejects, remote, tracker); !s.ok()) return s;
  return out;
}

Status HttpIngest::Finish(const std::vector<RejectedLine>& rejects, std::string_view remote,
                          const std::shared_ptr<bus::DeliveryTracker>& tracker) {
  std::string position;
  for (const RejectedLine& r : rejects) {
    position = fmt::format("{} line {}", remote, r.line);
    const bus::Header headers[] = {{kRejectReasonHeader, r.reason},
                                   {kRejectPositionHeader, position},
                                   {kRejectSourceHeader, "http"}};
    if (Status s = producer_.Produce(topics_.rejects_topic, {}, r.raw, headers, tracker); !s.ok()) {
      (void)tracker->Wait(producer_.handle(), options_.ack_timeout);
      return s;
    }
  }
  // Answer only once Kafka holds them: a 200 means the records are durable.
  return tracker->Wait(producer_.handle(), options_.ack_timeout);
}

}  // namespace dcmon::ingest
