// The default alert rules, config/alerts.toml, compiled into dcmon (cmake/embed_files.cmake), so
// serve evaluates them wherever it runs from; `alert.rules` names a file to use instead.
#pragma once

#include <cstddef>

#include "core/embedded.h"

namespace dcmon::alert {

extern const EmbeddedFile kDefaultRules[];
extern const size_t kDefaultRulesCount;

}  // namespace dcmon::alert
