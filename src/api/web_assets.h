// The dashboard's files, compiled into the binary (cmake/embed_files.cmake): web/index.html and
// the esbuild bundle of web/src (app.js, app.css), by file name. Immutable.
#pragma once

#include <cstddef>

#include "core/embedded.h"

namespace dcmon::api {

extern const EmbeddedFile kWebAssets[];
extern const size_t kWebAssetsCount;

}  // namespace dcmon::api
