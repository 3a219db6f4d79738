// Semantic rules of a Config, one rule per key (ranges from schema.h, addresses, uniqueness,
// cross-field requirements). Used by the YAML loader (which adds positions) and by the flag
// form of `kha proxy`, which builds a Config with source == "<flags>".
#pragma once

#include <string>

#include "common/diagnostic.h"
#include "config/schema.h"

namespace kha::config {

// Fills derived defaults: a backend without a name is named after its address.
void fill_defaults(Config& config);

// Every problem in `config` at once, in key order. Diagnostics carry no line or column.
// When config.source is "<flags>", keys name the flags instead of YAML paths (see flag_key)
// and the file is empty, e.g. `--backend: expected host:port, e.g. 127.0.0.1:6443, got "x"`;
// otherwise file is config.source and key is the YAML path (`frontends[0].health.rise`).
Diagnostics validate(const Config& config);

// "[0::1]:6443" -> "[::1]:6443": IP literals in canonical form, names unchanged.
// Returns `address` unchanged when it is not host:port.
std::string normalise_address(const std::string& address);

// The `kha proxy` flag that sets a YAML key path of the first frontend:
// frontends[0].listen[*] -> --listen, frontends[0].backends[*].* -> --backend,
// frontends[0].health.kind -> --health-check, frontends[0].balance -> --balance,
// admin.listen -> --admin, log_format -> --log-format, workers -> --workers.
// Any other path is returned unchanged.
std::string flag_key(const std::string& path);

}  // namespace kha::config
