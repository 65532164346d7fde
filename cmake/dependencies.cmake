# Third-party libraries: Debian packages (scripts/setup.sh installs them) and DuckDB from the npm pin
# (scripts/fetch-duckdb.sh) or from DUCKDB_ROOT, an official release with include/duckdb.h and lib/libduckdb.so.

find_package(simdjson REQUIRED)
find_package(fmt REQUIRED)
find_package(spdlog REQUIRED)
find_package(CLI11 REQUIRED)
find_package(tomlplusplus REQUIRED)
find_package(PkgConfig REQUIRED)
pkg_check_modules(RDKAFKA REQUIRED IMPORTED_TARGET rdkafka)
# Boost.Asio and Beast are header-only (libboost-dev); OpenSSL's libcrypto hashes API tokens.
find_package(Boost 1.74 REQUIRED)
find_package(OpenSSL REQUIRED)
find_package(ZLIB REQUIRED)  # gzip request bodies (Telegraf)
find_package(Threads REQUIRED)
if(DCMON_BUILD_TESTS)
  find_package(GTest REQUIRED)
endif()
if(DCMON_BUILD_BENCH)
  find_package(benchmark REQUIRED)
endif()

if(DEFINED ENV{DUCKDB_ROOT} AND NOT DUCKDB_ROOT)
  set(DUCKDB_ROOT "$ENV{DUCKDB_ROOT}")
endif()
set(DUCKDB_ROOT "${DUCKDB_ROOT}" CACHE PATH "DuckDB release with include/duckdb.h and lib/libduckdb.so")
if(NOT DUCKDB_ROOT)
  set(DUCKDB_ROOT "${PROJECT_SOURCE_DIR}/third_party/duckdb")
endif()
find_path(DUCKDB_INCLUDE_DIR duckdb.h PATHS "${DUCKDB_ROOT}/include" "${DUCKDB_ROOT}" NO_DEFAULT_PATH)
find_library(DUCKDB_LIBRARY duckdb PATHS "${DUCKDB_ROOT}/lib" "${DUCKDB_ROOT}" NO_DEFAULT_PATH)
if(NOT DUCKDB_INCLUDE_DIR OR NOT DUCKDB_LIBRARY)
  message(FATAL_ERROR "DuckDB not found under ${DUCKDB_ROOT}: run scripts/setup.sh or set DUCKDB_ROOT")
endif()
add_library(DuckDB::duckdb SHARED IMPORTED)
set_target_properties(DuckDB::duckdb PROPERTIES
  IMPORTED_LOCATION "${DUCKDB_LIBRARY}"
  INTERFACE_INCLUDE_DIRECTORIES "${DUCKDB_INCLUDE_DIR}")
message(STATUS "DuckDB: ${DUCKDB_LIBRARY}")
