// The discovery state file: the last set of backends discovery learned for a frontend, so
// that a restart during an API outage starts from it. Written to a temporary file and renamed.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/address.h"

namespace kha::daemon {

// The state file: {"frontend": NAME, "backends": ["10.0.0.1:6443", ...]}.
// load: nullopt with *error when missing (error "") or corrupt (error says why).
std::optional<std::vector<HostPort>> load_state(const std::string& path, std::string* error);
// Atomic: writes path.tmp, fsyncs it, renames it over path. Returns "" or why not.
std::string save_state(const std::string& path, const std::string& frontend, const std::vector<HostPort>& backends);

}  // namespace kha::daemon
