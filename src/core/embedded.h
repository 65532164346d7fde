// Files compiled into the binary (cmake/embed_files.cmake): the facility presets, the API's
// OpenAPI document. Immutable.
#pragma once

#include <string_view>

namespace dcmon {

struct EmbeddedFile {
  std::string_view name;
  std::string_view content;
};

}  // namespace dcmon
