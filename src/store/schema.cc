#include "store/schema.h"

#include <fmt/format.h>

namespace dcmon::store {
namespace {

struct Migration {
  int version;
  const char* sql;
};

// Append-only: a released migration never changes; a new one gets the next version.
constexpr Migration kMigrations[] = {
    {1, R"sql(
CREATE TABLE sensor_readings (
  ingest_seq       BIGINT      NOT NULL,  -- the ingest cursor: increases with every stored row
  device_id        VARCHAR     NOT NULL,
  location         VARCHAR     NOT NULL,
  measurement_type VARCHAR     NOT NULL,
  value            DOUBLE      NOT NULL,
  event_time       TIMESTAMPTZ NOT NULL,
  unit             VARCHAR,
  seq              BIGINT,
  site             VARCHAR,
  room             VARCHAR,
  "row"            VARCHAR,
  rack             VARCHAR,
  position         VARCHAR,
  extra            VARCHAR,               -- unknown fields of the record, as a JSON object
  ingest_time      TIMESTAMPTZ NOT NULL,
  kafka_topic      VARCHAR,
  kafka_partition  INTEGER,
  kafka_offset     BIGINT
);
CREATE TABLE cooling_metrics (
  ingest_seq              BIGINT      NOT NULL,
  system_id               VARCHAR     NOT NULL,
  efficiency_percent      DOUBLE      NOT NULL,
  power_consumption_watts DOUBLE      NOT NULL,
  event_time              TIMESTAMPTZ NOT NULL,
  seq                     BIGINT,
  site                    VARCHAR,
  room                    VARCHAR,
  "row"                   VARCHAR,
  rack                    VARCHAR,
  supply_air_temp_celsius DOUBLE,
  return_air_temp_celsius DOUBLE,
  fan_speed_percent       DOUBLE,
  extra                   VARCHAR,
  ingest_time             TIMESTAMPTZ NOT NULL,
  kafka_topic             VARCHAR,
  kafka_partition         INTEGER,
  kafka_offset            BIGINT
);
CREATE TABLE rejects (
  received_time TIMESTAMPTZ NOT NULL,
  source        VARCHAR     NOT NULL,  -- 'kafka', 'http', 'file'
  position      VARCHAR     NOT NULL,  -- 'dc.sensors/3@1042', 'line 7'
  reason        VARCHAR     NOT NULL,
  payload       BLOB        NOT NULL   -- the input as received, byte for byte (it may not even be UTF-8)
);
CREATE TABLE ingest_offsets (
  topic       VARCHAR     NOT NULL,
  "partition" INTEGER     NOT NULL,
  next_offset BIGINT      NOT NULL,  -- the first offset not yet stored
  updated_at  TIMESTAMPTZ NOT NULL,
  PRIMARY KEY (topic, "partition")
);
CREATE TABLE devices (
  device_id        VARCHAR PRIMARY KEY,
  kind             VARCHAR NOT NULL,  -- 'sensor' or 'cooling'
  measurement_type VARCHAR,
  unit             VARCHAR,
  location         VARCHAR,
  site             VARCHAR,
  room             VARCHAR,
  "row"            VARCHAR,
  rack             VARCHAR,
  position         VARCHAR,
  first_seen       TIMESTAMPTZ NOT NULL,
  last_seen        TIMESTAMPTZ NOT NULL
);
CREATE TABLE rollups_1m (
  device_id        VARCHAR     NOT NULL,
  measurement_type VARCHAR     NOT NULL,
  minute           TIMESTAMPTZ NOT NULL,
  count            BIGINT      NOT NULL,
  min              DOUBLE      NOT NULL,
  max              DOUBLE      NOT NULL,
  sum              DOUBLE      NOT NULL,
  last_value       DOUBLE      NOT NULL,
  last_time        TIMESTAMPTZ NOT NULL,
  PRIMARY KEY (device_id, measurement_type, minute)
);
)sql"},
    {2, R"sql(
CREATE TABLE metrics (   -- generic metrics from InfluxDB line protocol (POST /write, /api/v2/write)
  time        TIMESTAMPTZ NOT NULL,             -- the point's time, at microsecond precision
  measurement VARCHAR     NOT NULL,
  tags        MAP(VARCHAR, VARCHAR) NOT NULL,   -- tags['host']
  field       VARCHAR     NOT NULL,             -- one row per field of a point
  value       DOUBLE,                           -- float, integer, unsigned, boolean (1 or 0)
  text        VARCHAR,                          -- string fields
  ingest_time TIMESTAMPTZ NOT NULL
);
)sql"},
    {3, R"sql(
CREATE TABLE retention_exports (  -- one Parquet file written by store::Retention before its rows go
  id          BIGINT      PRIMARY KEY,
  table_name  VARCHAR     NOT NULL,
  day         DATE        NOT NULL,  -- the UTC day of event time the file holds
  path        VARCHAR     NOT NULL,
  rows        BIGINT,                -- NULL while unfinished: the file may be partial, the rows are still in the table
  started_at  TIMESTAMPTZ NOT NULL,
  finished_at TIMESTAMPTZ
);
-- rollups_1m loses its primary key: the index took three quarters of the file and most of each
-- batch's commit (docs/benchmarks.md). The single writer keeps (device_id, measurement_type, minute)
-- unique.
CREATE TABLE rollups_1m_v3 (
  device_id        VARCHAR     NOT NULL,
  measurement_type VARCHAR     NOT NULL,
  minute           TIMESTAMPTZ NOT NULL,
  count            BIGINT      NOT NULL,
  min              DOUBLE      NOT NULL,
  max              DOUBLE      NOT NULL,
  sum              DOUBLE      NOT NULL,
  last_value       DOUBLE      NOT NULL,
  last_time        TIMESTAMPTZ NOT NULL
);
INSERT INTO rollups_1m_v3 SELECT * FROM rollups_1m ORDER BY minute;
DROP TABLE rollups_1m;
ALTER TABLE rollups_1m_v3 RENAME TO rollups_1m;
)sql"},
    {4, R"sql(
CREATE TABLE anomalies (  -- the detectors' anomalies at or above detect.min_score, one per incident
  anomaly_seq BIGINT      NOT NULL,  -- the paging cursor: increases with every stored anomaly
  device_id   VARCHAR     NOT NULL,  -- the device blamed
  event_time  TIMESTAMPTZ NOT NULL,  -- of the sample that raised the score through the level
  value       DOUBLE      NOT NULL,  -- that sample's value (a relation's residual for relations)
  score       DOUBLE      NOT NULL,  -- in [0, 1] (docs/detection.md)
  detector    VARCHAR     NOT NULL,  -- 'level', 'inlet-supply', 'drift', 'stuck', ...
  kind        VARCHAR     NOT NULL,  -- 'facility' or 'sensor'
  explanation VARCHAR     NOT NULL,
  ingest_time TIMESTAMPTZ NOT NULL
);
)sql"},
};

}  // namespace

Result<int> Migrate(Connection& conn) {
  if (Status s = conn.Execute("CREATE TABLE IF NOT EXISTS dcmon_schema (version INTEGER NOT NULL, "
                              "applied_at TIMESTAMPTZ NOT NULL)");
      !s.ok()) {
    return s;
  }
  Result<QueryResult> r = conn.Query("SELECT coalesce(max(version), 0) FROM dcmon_schema");
  if (!r.ok()) return r.status();
  const int found = static_cast<int>(r->Int64(0, 0));
  if (found > kSchemaVersion) {
    return InvalidArgument(
        fmt::format("store: this database has schema version {}, written by a newer dcmon; this "
                    "binary knows up to version {}. "
                    "Upgrade dcmon or open another file.",
                    found, kSchemaVersion));
  }
  for (const Migration& m : kMigrations) {
    if (m.version <= found) continue;
    Status s = conn.Execute("BEGIN TRANSACTION");
    if (s.ok()) s = conn.Execute(m.sql);
    if (s.ok())
      s = conn.Execute(fmt::format("INSERT INTO dcmon_schema VALUES ({}, now())", m.version));
    if (s.ok()) s = conn.Execute("COMMIT");
    if (!s.ok()) {
      (void)conn.Execute("ROLLBACK");
      return s.WithPrefix(fmt::format("store: migration to schema version {}: ", m.version));
    }
  }
  return found;
}

}  // namespace dcmon::store
