# Helpers in the Abseil style: dcmon_cc_library(NAME ...) defines target dcmon::NAME; dcmon_cc_test(NAME ...)
# defines a GoogleTest binary registered with CTest. Warnings are errors on our targets only.

function(dcmon_warnings target)
  # Designated initializers that leave defaulted members out are idiomatic here, not a mistake.
  target_compile_options(${target} PRIVATE -Wall -Wextra -Werror -Wno-missing-field-initializers)
endfunction()

function(dcmon_cc_library NAME)
  cmake_parse_arguments(ARG "" "" "SRCS;DEPS" ${ARGN})
  add_library(dcmon_${NAME} STATIC ${ARG_SRCS})
  add_library(dcmon::${NAME} ALIAS dcmon_${NAME})
  target_include_directories(dcmon_${NAME} PUBLIC ${PROJECT_SOURCE_DIR}/src)
  target_link_libraries(dcmon_${NAME} PUBLIC ${ARG_DEPS})
  dcmon_warnings(dcmon_${NAME})
endfunction()

# Test binaries that start librdkafka's mock cluster (the embedded broker): its threads trip ThreadSanitizer, so
# they do not get the `tsan` label, which `make tsan` runs (the tsan test preset). The preset also leaves out the
# test cases that run queries on a DuckDB with worker threads (CMakePresets.json): libduckdb.so is the prebuilt
# release, not instrumented, so TSan sees only one side of its own locking and reports races inside DuckDB.
set(DCMON_MOCK_BROKER_TESTS bus_test ingest_test ingest_routes_test)

function(dcmon_cc_test NAME)
  if(NOT DCMON_BUILD_TESTS)
    return()
  endif()
  cmake_parse_arguments(ARG "" "" "SRCS;DEPS" ${ARGN})
  add_executable(${NAME} ${ARG_SRCS})
  target_link_libraries(${NAME} PRIVATE ${ARG_DEPS} GTest::gmock GTest::gtest_main)
  dcmon_warnings(${NAME})
  target_compile_definitions(${NAME} PRIVATE DCMON_TEST_DATA_DIR="${PROJECT_SOURCE_DIR}/tests/fixtures"
                                             DCMON_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
  # Discover test cases when ctest runs, not at build time: builds stay fast and sanitizer builds work.
  set(labels "")
  if(NOT NAME IN_LIST DCMON_MOCK_BROKER_TESTS)
    set(labels tsan)
  endif()
  gtest_discover_tests(${NAME} DISCOVERY_MODE PRE_TEST PROPERTIES LABELS "${labels}")
endfunction()
