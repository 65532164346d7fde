#include "store/appender.h"

#include <fmt/format.h>

namespace dcmon::store {

Result<std::unique_ptr<Appender>> Appender::Open(Connection& conn, const std::string& table,
                                                 const std::string& catalog) {
  std::unique_ptr<Appender> a(new Appender());
  a->table_ = table;
  if (duckdb_appender_create_ext(conn.raw(), catalog.empty() ? nullptr : catalog.c_str(),
                                 catalog.empty() ? nullptr : "main", table.c_str(),
                                 &a->appender_) == DuckDBError) {
    return a->Error("appender for");
  }
  const idx_t columns = duckdb_appender_column_count(a->appender_);
  for (idx_t c = 0; c < columns; ++c)
    a->types_.push_back(duckdb_appender_column_type(a->appender_, c));
  a->chunk_ = duckdb_create_data_chunk(a->types_.data(), a->types_.size());
  a->capacity_ = static_cast<int64_t>(duckdb_vector_size());
  a->BindVectors();
  return a;
}

Appender::~Appender() {
  if (chunk_) duckdb_destroy_data_chunk(&chunk_);
  for (duckdb_logical_type& t : types_) duckdb_destroy_logical_type(&t);
  if (appender_) duckdb_appender_destroy(&appender_);
}

// A chunk's vectors may be rebuilt when it is reset, so their addresses are read again each time.
void Appender::BindVectors() {
  vectors_.resize(types_.size());
  data_.resize(types_.size());
  list_sizes_.assign(types_.size(), 0);
  for (size_t c = 0; c < types_.size(); ++c) {
    vectors_[c] = duckdb_data_chunk_get_vector(chunk_, c);
    data_[c] = duckdb_vector_get_data(vectors_[c]);
  }
}

void Appender::StringMap(size_t col,
                         const std::vector<std::pair<std::string, std::string>>& entries) {
  duckdb_vector map = vectors_[col];
  idx_t& size = list_sizes_[col];
  duckdb_list_vector_reserve(map, size + entries.size());
  duckdb_vector children = duckdb_list_vector_get_child(map);
  duckdb_vector keys = duckdb_struct_vector_get_child(children, 0);
  duckdb_vector values = duckdb_struct_vector_get_child(children, 1);
  static_cast<duckdb_list_entry*>(duckdb_vector_get_data(map))[row_] = {size, entries.size()};
  for (const auto& [k, v] : entries) {
    duckdb_vector_assign_string_element_len(keys, size, k.data(), k.size());
    duckdb_vector_assign_string_element_len(values, size, v.data(), v.size());
    ++size;
  }
  duckdb_list_vector_set_size(map, size);
}

Status Appender::AppendChunk() {
  const idx_t n = static_cast<idx_t>(row_ + 1);
  row_ = -1;
  if (n == 0) return Status::Ok();
  duckdb_data_chunk_set_size(chunk_, n);
  const duckdb_state state = duckdb_append_data_chunk(appender_, chunk_);
  duckdb_data_chunk_reset(chunk_);
  BindVectors();
  return state == DuckDBError ? Error("append to") : Status::Ok();
}

Status Appender::Flush() {
  if (Status s = AppendChunk(); !s.ok()) return s;
  return duckdb_appender_flush(appender_) == DuckDBError ? Error("append to") : Status::Ok();
}

Status Appender::Error(std::string_view what) const {
  const char* message = appender_ ? duckdb_appender_error(appender_) : nullptr;
  return IoError(
      fmt::format("duckdb {} {}: {}", what, table_, message ? message : "unknown error"));
}

}  // namespace dcmon::store
