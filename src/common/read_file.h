// read_file(): a whole file into memory, for the small files kha reads (kubeconfig PEMs
// and tokens, the discovery state file).
#pragma once

#include <optional>
#include <string>

namespace kha {

// The bytes of `path`, or nullopt when it cannot be opened or read.
std::optional<std::string> read_file(const std::string& path);

}  // namespace kha
