// Documents the API serves, compiled into the binary from docs/ (cmake/embed_files.cmake):
// openapi.json (OpenAPI 3.1).
#pragma once

#include <cstddef>
#include <string_view>

#include "core/embedded.h"

namespace dcmon::api {

extern const EmbeddedFile kApiDocuments[];
extern const size_t kApiDocumentsCount;

inline std::string_view OpenApiDocument() {
  for (size_t i = 0; i < kApiDocumentsCount; ++i) {
    if (kApiDocuments[i].name == "openapi.json") return kApiDocuments[i].content;
  }
  return "{}";
}

}  // namespace dcmon::api
