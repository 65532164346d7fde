#include "store/schema.h"

#include <fmt/format.h>

#include <algorithm>
#include <limits>

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
    // The record tables become narrow facts of fixed-width columns plus a key into device_keys,
    // which interns each distinct (identity, placement, unit, Kafka topic) tuple once: a device
    // that moves or changes unit gets a new key, and its old rows keep their old tuple. The wide
    // shape stays, as views with the same names, columns, order and types (docs/store.md).
    {4, R"sql(
CREATE TABLE device_keys (
  device_key       INTEGER PRIMARY KEY,
  kind             VARCHAR NOT NULL,  -- 'sensor' or 'cooling'
  device_id        VARCHAR NOT NULL,  -- a cooling unit's system_id
  location         VARCHAR,
  measurement_type VARCHAR,
  unit             VARCHAR,
  site             VARCHAR,
  room             VARCHAR,
  "row"            VARCHAR,
  rack             VARCHAR,
  position         VARCHAR,
  kafka_topic      VARCHAR
);
CREATE TABLE sensor_facts (
  ingest_seq      BIGINT      NOT NULL,
  device_key      INTEGER     NOT NULL,
  value           DOUBLE      NOT NULL,
  event_time      TIMESTAMPTZ NOT NULL,
  seq             BIGINT,
  ingest_time     TIMESTAMPTZ NOT NULL,
  kafka_partition INTEGER,
  kafka_offset    BIGINT,
  extra           VARCHAR
);
CREATE TABLE cooling_facts (
  ingest_seq              BIGINT      NOT NULL,
  device_key              INTEGER     NOT NULL,
  efficiency_percent      DOUBLE      NOT NULL,
  power_consumption_watts DOUBLE      NOT NULL,
  event_time              TIMESTAMPTZ NOT NULL,
  seq                     BIGINT,
  supply_air_temp_celsius DOUBLE,
  return_air_temp_celsius DOUBLE,
  fan_speed_percent       DOUBLE,
  ingest_time             TIMESTAMPTZ NOT NULL,
  kafka_partition         INTEGER,
  kafka_offset            BIGINT,
  extra                   VARCHAR
);
INSERT INTO device_keys
SELECT row_number() OVER (ORDER BY first_seq), kind, device_id, location, measurement_type, unit,
       site, room, "row", rack, position, kafka_topic
FROM (SELECT 'sensor' AS kind, device_id, location, measurement_type, unit, site, room, "row", rack,
             position, kafka_topic, min(ingest_seq) AS first_seq
      FROM sensor_readings GROUP BY ALL
      UNION ALL
      SELECT 'cooling', system_id, NULL, NULL, NULL, site, room, "row", rack, NULL, kafka_topic,
             min(ingest_seq)
      FROM cooling_metrics GROUP BY ALL);
INSERT INTO sensor_facts
SELECT r.ingest_seq, k.device_key, r.value, r.event_time, r.seq, r.ingest_time, r.kafka_partition,
       r.kafka_offset, r.extra
FROM sensor_readings r JOIN device_keys k
  ON k.kind = 'sensor' AND k.device_id = r.device_id AND k.location = r.location
     AND k.measurement_type = r.measurement_type AND k.unit IS NOT DISTINCT FROM r.unit
     AND k.site IS NOT DISTINCT FROM r.site AND k.room IS NOT DISTINCT FROM r.room
     AND k."row" IS NOT DISTINCT FROM r."row" AND k.rack IS NOT DISTINCT FROM r.rack
     AND k.position IS NOT DISTINCT FROM r.position
     AND k.kafka_topic IS NOT DISTINCT FROM r.kafka_topic
ORDER BY r.ingest_seq;
INSERT INTO cooling_facts
SELECT r.ingest_seq, k.device_key, r.efficiency_percent, r.power_consumption_watts, r.event_time,
       r.seq, r.supply_air_temp_celsius, r.return_air_temp_celsius, r.fan_speed_percent,
       r.ingest_time, r.kafka_partition, r.kafka_offset, r.extra
FROM cooling_metrics r JOIN device_keys k
  ON k.kind = 'cooling' AND k.device_id = r.system_id AND k.site IS NOT DISTINCT FROM r.site
     AND k.room IS NOT DISTINCT FROM r.room AND k."row" IS NOT DISTINCT FROM r."row"
     AND k.rack IS NOT DISTINCT FROM r.rack AND k.kafka_topic IS NOT DISTINCT FROM r.kafka_topic
ORDER BY r.ingest_seq;
DROP TABLE sensor_readings;
DROP TABLE cooling_metrics;
CREATE VIEW dcmon_device_lists AS  -- one row: each column of device_keys as a list by key
SELECT list(device_id ORDER BY device_key) AS device_id,
       list(location ORDER BY device_key) AS location,
       list(measurement_type ORDER BY device_key) AS measurement_type,
       list(unit ORDER BY device_key) AS unit, list(site ORDER BY device_key) AS site,
       list(room ORDER BY device_key) AS room, list("row" ORDER BY device_key) AS "row",
       list(rack ORDER BY device_key) AS rack, list(position ORDER BY device_key) AS position,
       list(kafka_topic ORDER BY device_key) AS kafka_topic
FROM device_keys;
-- The views index one row of lists (position = device_key, dense from 1: the writer appends keys
-- in order and nothing deletes them) instead of joining device_keys, so that they stream the
-- facts in storage order whatever their sizes (a hash join may build on the facts and emit them
-- grouped by key, and readers of a LIMIT without ORDER BY rely on storage order).
CREATE VIEW sensor_readings AS
SELECT f.ingest_seq, k.device_id[f.device_key] AS device_id, k.location[f.device_key] AS location,
       k.measurement_type[f.device_key] AS measurement_type, f.value, f.event_time,
       k.unit[f.device_key] AS unit, f.seq, k.site[f.device_key] AS site,
       k.room[f.device_key] AS room, k."row"[f.device_key] AS "row", k.rack[f.device_key] AS rack,
       k.position[f.device_key] AS position, f.extra, f.ingest_time,
       k.kafka_topic[f.device_key] AS kafka_topic, f.kafka_partition, f.kafka_offset
FROM sensor_facts f, dcmon_device_lists k;
CREATE VIEW cooling_metrics AS
SELECT f.ingest_seq, k.device_id[f.device_key] AS system_id, f.efficiency_percent,
       f.power_consumption_watts, f.event_time, f.seq, k.site[f.device_key] AS site,
       k.room[f.device_key] AS room, k."row"[f.device_key] AS "row", k.rack[f.device_key] AS rack,
       f.supply_air_temp_celsius, f.return_air_temp_celsius, f.fan_speed_percent, f.extra,
       f.ingest_time, k.kafka_topic[f.device_key] AS kafka_topic, f.kafka_partition,
       f.kafka_offset
FROM cooling_facts f, dcmon_device_lists k;
)sql"},
    {5, R"sql(
-- Analysts' views behind the facility KPIs (analytics/kpi.h, docs/analytics.md): the KPI code reads
-- these, so a query written against them gives the numbers GET /api/v1/kpis and `dcmon report` give.
-- Mean power of each power sensor (meters, PDUs) per minute.
CREATE OR REPLACE VIEW kpi_power_1m AS
SELECT device_id, minute, sum / count AS watts, count AS samples
FROM rollups_1m WHERE measurement_type = 'power';
-- Each cooling unit per minute: power, heat moved, air temperatures.
CREATE OR REPLACE VIEW kpi_cooling_1m AS
SELECT system_id, any_value(room) AS room, time_bucket(INTERVAL 1 MINUTE, event_time) AS minute,
       avg(power_consumption_watts) AS watts,
       -- efficiency_percent is Q/(Q+P) (docs/simulator.md), so Q = P·e/(100 − e)
       avg(CASE WHEN efficiency_percent < 100
                THEN power_consumption_watts * efficiency_percent / (100 - efficiency_percent) END)
         AS heat_watts,
       avg(supply_air_temp_celsius) AS supply_c, avg(return_air_temp_celsius) AS return_c,
       avg(CASE WHEN power_consumption_watts > 0 OR fan_speed_percent > 0 THEN 1 ELSE 0 END)
         AS running_share,
       count(*) AS samples
FROM cooling_metrics GROUP BY system_id, minute;
-- Rack inlet temperatures, as LiveState picks them.
CREATE OR REPLACE VIEW kpi_inlets AS
SELECT device_id, site, room, rack, position, event_time, value
FROM sensor_readings
WHERE measurement_type = 'temperature'
  AND (position LIKE 'inlet%' OR (position IS NULL AND device_id LIKE '%rack%'));
-- Per rack and minute: mean inlet and exhaust (rack ΔT).
CREATE OR REPLACE VIEW kpi_rack_temps_1m AS
SELECT d.room, d.rack, r.minute,
       avg(CASE WHEN d.position LIKE 'inlet%' THEN r.sum / r.count END) AS inlet_c,
       avg(CASE WHEN d.position = 'exhaust' THEN r.sum / r.count END) AS exhaust_c
FROM rollups_1m r JOIN devices d USING (device_id)
WHERE r.measurement_type = 'temperature' AND d.rack IS NOT NULL
GROUP BY d.room, d.rack, r.minute;
)sql"},
    {6, R"sql(
CREATE TABLE alerts (        -- the alert engine's current state: pending and firing alerts (resolved ones leave)
  id                  VARCHAR PRIMARY KEY,   -- rule/device[/clock]
  rule                VARCHAR     NOT NULL,  -- alertname
  device              VARCHAR     NOT NULL,
  clock               VARCHAR     NOT NULL,  -- stale rules: 'event' or 'ingest'; '' otherwise
  state               VARCHAR     NOT NULL,  -- 'pending' or 'firing'
  severity            VARCHAR     NOT NULL,
  category            VARCHAR     NOT NULL,  -- 'facility' or 'sensor'
  pending_since       TIMESTAMPTZ NOT NULL,
  starts_at           TIMESTAMPTZ,           -- when it fired
  value               DOUBLE      NOT NULL,
  inhibited_by        VARCHAR,
  affected_racks_json VARCHAR     NOT NULL,  -- JSON array of rack ids
  labels_json         VARCHAR     NOT NULL,  -- JSON object
  annotations_json    VARCHAR     NOT NULL,  -- JSON object
  acknowledged_by     VARCHAR,
  acknowledged_at     TIMESTAMPTZ
);
CREATE TABLE alert_events (  -- every state change, in order; event_seq is the history's paging cursor
  event_seq           BIGINT      NOT NULL,
  alert_id            VARCHAR     NOT NULL,
  rule                VARCHAR     NOT NULL,
  device              VARCHAR     NOT NULL,
  state               VARCHAR     NOT NULL,  -- the state entered: 'pending', 'firing', 'resolved'
  "at"                TIMESTAMPTZ NOT NULL,  -- event time of the change
  severity            VARCHAR     NOT NULL,
  category            VARCHAR     NOT NULL,
  value               DOUBLE      NOT NULL,
  inhibited_by        VARCHAR,
  affected_racks_json VARCHAR     NOT NULL,
  labels_json         VARCHAR     NOT NULL,
  summary             VARCHAR,
  recorded_at         TIMESTAMPTZ NOT NULL   -- ingest (wall-clock) time of the change
);
CREATE TABLE silences (      -- maintenance windows: alerts matching every matcher are not sent
  id            VARCHAR PRIMARY KEY,
  matchers_json VARCHAR     NOT NULL,  -- [{"name","value","is_regex"}]
  starts_at     TIMESTAMPTZ NOT NULL,
  ends_at       TIMESTAMPTZ NOT NULL,  -- DELETE (expire) sets it to the time of the request
  comment       VARCHAR     NOT NULL,
  created_by    VARCHAR     NOT NULL,
  created_at    TIMESTAMPTZ NOT NULL
);
)sql"},
    {7, R"sql(
-- metrics gets its own ingest cursor, as the record tables have: ingest_time repeats within a batch
-- and is only as monotonic as the server's clock. Rows already stored are numbered in the order
-- they were stored.
CREATE TABLE metrics_v7 (
  time        TIMESTAMPTZ NOT NULL,
  measurement VARCHAR     NOT NULL,
  tags        MAP(VARCHAR, VARCHAR) NOT NULL,
  field       VARCHAR     NOT NULL,
  value       DOUBLE,
  text        VARCHAR,
  ingest_time TIMESTAMPTZ NOT NULL,
  ingest_seq  BIGINT      NOT NULL  -- grows with every stored row: the metrics stream's cursor
);
INSERT INTO metrics_v7
  SELECT *, row_number() OVER (ORDER BY ingest_time, rowid) AS ingest_seq FROM metrics
  ORDER BY ingest_seq;
DROP TABLE metrics;
ALTER TABLE metrics_v7 RENAME TO metrics;
)sql"},
    {8, R"sql(
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
    // metrics becomes narrow facts, as the record tables did in version 4: a point's measurement
    // and tags are interned once per series in metric_series, a field name once in metric_fields,
    // and a row holds two keys and fixed-width columns (plus `text` for string fields). The wide
    // table's strings and MAP per row were where the loader's time went (docs/benchmarks.md).
    // `metrics` stays, as a view with the same columns, types and rows.
    {9, R"sql(
CREATE TABLE metric_series (
  series_key  INTEGER PRIMARY KEY,              -- dense from 1, in the order first stored
  measurement VARCHAR NOT NULL,
  tags        MAP(VARCHAR, VARCHAR) NOT NULL    -- in line order, as `metrics` shows them
);
CREATE TABLE metric_fields (
  field_key INTEGER PRIMARY KEY,                -- dense from 1, in the order first stored
  field     VARCHAR NOT NULL
);
CREATE TABLE metric_facts (
  ingest_seq  BIGINT      NOT NULL,
  series_key  INTEGER     NOT NULL,
  field_key   INTEGER     NOT NULL,
  time        TIMESTAMPTZ NOT NULL,
  value       DOUBLE,
  text        VARCHAR,
  ingest_time TIMESTAMPTZ NOT NULL
);
INSERT INTO metric_series
SELECT row_number() OVER (ORDER BY first_seq), measurement, tags
FROM (SELECT measurement, tags, min(ingest_seq) AS first_seq FROM metrics GROUP BY ALL);
INSERT INTO metric_fields
SELECT row_number() OVER (ORDER BY first_seq), field
FROM (SELECT field, min(ingest_seq) AS first_seq FROM metrics GROUP BY ALL);
INSERT INTO metric_facts
SELECT m.ingest_seq, s.series_key, f.field_key, m.time, m.value, m.text, m.ingest_time
FROM metrics m JOIN metric_series s ON s.measurement = m.measurement AND s.tags = m.tags
     JOIN metric_fields f ON f.field = m.field
ORDER BY m.ingest_seq;
DROP TABLE metrics;
-- One row of lists indexed by key, as dcmon_device_lists: the view streams the facts in storage
-- order (version 4 says why).
CREATE VIEW dcmon_metric_lists AS
SELECT (SELECT list(measurement ORDER BY series_key) FROM metric_series) AS measurement,
       (SELECT list(tags ORDER BY series_key) FROM metric_series) AS tags,
       (SELECT list(field ORDER BY field_key) FROM metric_fields) AS field;
CREATE VIEW metrics AS
SELECT f.time, k.measurement[f.series_key] AS measurement, k.tags[f.series_key] AS tags,
       k.field[f.field_key] AS field, f.value, f.text, f.ingest_time, f.ingest_seq
FROM metric_facts f, dcmon_metric_lists k;
)sql"},
    // Filled by store::HourlyRollups from rollups_1m for closed hours, the first run from all of
    // it.
    {10, R"sql(
CREATE TABLE rollups_1h (  -- rollups_1m added up per UTC hour (store/rollups_hourly.h)
  device_id        VARCHAR     NOT NULL,
  measurement_type VARCHAR     NOT NULL,
  hour             TIMESTAMPTZ NOT NULL,  -- the hour's start
  count            BIGINT      NOT NULL,  -- readings in the hour: the minutes' counts added
  min              DOUBLE      NOT NULL,
  max              DOUBLE      NOT NULL,
  sum              DOUBLE      NOT NULL,  -- sum / count is the hour's mean
  last_value       DOUBLE      NOT NULL,
  last_time        TIMESTAMPTZ NOT NULL
);
CREATE TABLE rollups_1h_state (  -- one row: the newest sensor_facts.ingest_seq rollups_1h has seen
  rolled_seq BIGINT NOT NULL
);
)sql"},
    // rollups_1m becomes narrow facts keyed by a small integer per (device_id, measurement_type),
    // the wide shape kept as a view with the same name, columns, order and types: its two strings
    // per row were a third of the file and of each batch's append and merge (docs/benchmarks.md).
    {11, R"sql(
CREATE TABLE rollup_series (  -- one row per (device_id, measurement_type) rolled up
  series_key       INTEGER NOT NULL,  -- dense from 1, in the order first stored; unique, kept so by the writer
  device_id        VARCHAR NOT NULL,
  measurement_type VARCHAR NOT NULL
);
CREATE TABLE rollup_facts (
  series_key INTEGER     NOT NULL,
  minute     TIMESTAMPTZ NOT NULL,
  count      BIGINT      NOT NULL,
  min        DOUBLE      NOT NULL,
  max        DOUBLE      NOT NULL,
  sum        DOUBLE      NOT NULL,
  last_value DOUBLE      NOT NULL,
  last_time  TIMESTAMPTZ NOT NULL
);
INSERT INTO rollup_series
SELECT row_number() OVER (ORDER BY device_id, measurement_type), device_id, measurement_type
FROM (SELECT DISTINCT device_id, measurement_type FROM rollups_1m);
INSERT INTO rollup_facts
SELECT s.series_key, r.minute, r.count, r.min, r.max, r.sum, r.last_value, r.last_time
FROM rollups_1m r JOIN rollup_series s USING (device_id, measurement_type)
ORDER BY s.series_key, r.minute;
DROP TABLE rollups_1m;
CREATE VIEW dcmon_rollup_lists AS
SELECT list(device_id ORDER BY series_key) AS device_id,
       list(measurement_type ORDER BY series_key) AS measurement_type
FROM rollup_series;
CREATE VIEW rollups_1m AS
SELECT k.device_id[f.series_key] AS device_id, k.measurement_type[f.series_key] AS measurement_type,
       f.minute, f.count, f.min, f.max, f.sum, f.last_value, f.last_time
FROM rollup_facts f, dcmon_rollup_lists k;
)sql"},
    // rollup_facts' times become small integers: the minute as minutes since the epoch, last_time
    // as microseconds into that minute. As TIMESTAMPTZ, a series' minutes followed by the next
    // series' jumped back hours in microseconds, and DuckDB's bitpacking stored ~34 bits a row for
    // each (docs/benchmarks.md). The views return the same TIMESTAMPTZ values; each view a reader
    // filters by time has a dcmon_ twin with `epoch_minute` added, the integer column itself, so
    // that a range on it reaches rollup_facts' zone maps (one on the view's `minute`, an
    // expression, does not).
    {12, R"sql(
CREATE TABLE rollup_facts_v12 (
  series_key  INTEGER NOT NULL,
  minute      INTEGER NOT NULL,  -- minutes since 1970-01-01 UTC
  count       BIGINT  NOT NULL,
  min         DOUBLE  NOT NULL,
  max         DOUBLE  NOT NULL,
  sum         DOUBLE  NOT NULL,
  last_value  DOUBLE  NOT NULL,
  last_offset INTEGER NOT NULL   -- last_time − minute, in microseconds: 0 to 59,999,999
);
INSERT INTO rollup_facts_v12
SELECT series_key, epoch_us(minute) // 60000000, count, min, max, sum, last_value,
       epoch_us(last_time) - epoch_us(minute)
FROM rollup_facts;  -- in storage order, which readers' ties (arg_max of equal times) follow
DROP VIEW rollups_1m;
DROP TABLE rollup_facts;
ALTER TABLE rollup_facts_v12 RENAME TO rollup_facts;
CREATE VIEW dcmon_rollups_1m AS
SELECT k.device_id[f.series_key] AS device_id, k.measurement_type[f.series_key] AS measurement_type,
       make_timestamptz(f.minute * 60000000::BIGINT) AS minute, f.count, f.min, f.max, f.sum,
       f.last_value, make_timestamptz(f.minute * 60000000::BIGINT + f.last_offset) AS last_time,
       f.minute AS epoch_minute
FROM rollup_facts f, dcmon_rollup_lists k;
CREATE VIEW rollups_1m AS
SELECT device_id, measurement_type, minute, count, min, max, sum, last_value, last_time
FROM dcmon_rollups_1m;
CREATE VIEW dcmon_kpi_power_1m AS
SELECT device_id, minute, sum / count AS watts, count AS samples, epoch_minute
FROM dcmon_rollups_1m WHERE measurement_type = 'power';
CREATE OR REPLACE VIEW kpi_power_1m AS
SELECT device_id, minute, watts, samples FROM dcmon_kpi_power_1m;
CREATE VIEW dcmon_kpi_rack_temps_1m AS
SELECT d.room, d.rack, r.minute,
       avg(CASE WHEN d.position LIKE 'inlet%' THEN r.sum / r.count END) AS inlet_c,
       avg(CASE WHEN d.position = 'exhaust' THEN r.sum / r.count END) AS exhaust_c,
       r.epoch_minute
FROM dcmon_rollups_1m r JOIN devices d USING (device_id)
WHERE r.measurement_type = 'temperature' AND d.rack IS NOT NULL
GROUP BY d.room, d.rack, r.minute, r.epoch_minute;
CREATE OR REPLACE VIEW kpi_rack_temps_1m AS
SELECT room, rack, minute, inlet_c, exhaust_c FROM dcmon_kpi_rack_temps_1m;
)sql"},
};

}  // namespace

std::string RollupMinutes(int64_t from, int64_t until) {
  constexpr int64_t kMinuteMicros = 60'000'000;
  // The number of the first minute that starts at or after `micros`, within INTEGER's range (the
  // column's, so that the bound stays a constant of its type; stored minutes are far inside it).
  auto first_at_or_after = [](int64_t micros) {
    const int64_t minute = micros / kMinuteMicros + (micros % kMinuteMicros > 0 ? 1 : 0);
    return std::clamp<int64_t>(minute, std::numeric_limits<int32_t>::min(),
                               std::numeric_limits<int32_t>::max());
  };
  return fmt::format("epoch_minute >= {} AND epoch_minute < {}", first_at_or_after(from),
                     first_at_or_after(until));
}

Result<int> Migrate(Connection& conn, int up_to) {
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
    if (m.version <= found || m.version > up_to) continue;
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
