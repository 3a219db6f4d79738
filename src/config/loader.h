// Loading a kha proxy configuration from YAML (layout: CONFIG_LAYOUT.md, defaults: schema.h).
// Every problem is reported at once, each as a Diagnostic with file:line:column, the key path
// ("frontends[0].health.rise") and what was expected. The `vip:` and `discovery:` sections
// belong to other subcommands and are accepted and skipped. yaml-cpp never throws past here.
#pragma once

#include <string>
#include <string_view>

#include "common/result.h"
#include "config/schema.h"

namespace kha::config {

// Reads and validates the file at `path`. An unreadable file is one diagnostic naming it.
Result<Config> load_config_file(const std::string& path);

// Parses and validates `yaml`; `source` names it in diagnostics and becomes Config::source.
Result<Config> load_config_text(std::string_view yaml, std::string source);

}  // namespace kha::config
