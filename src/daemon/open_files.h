// The process's open-files limit: raised from the soft to the hard limit at start (a
// systemd service or a container starts with soft 1024, which 1,100 clients exhaust),
// and the session cap derived from it (proxy/session_cap.h).
#pragma once

#include <cstddef>

namespace kha::daemon {

struct OpenFiles {
  std::size_t soft_before = 0;
  std::size_t soft = 0;  // now
  std::size_t hard = 0;
};

// Raises RLIMIT_NOFILE's soft limit to its hard limit and logs both.
OpenFiles raise_open_files_limit();

}  // namespace kha::daemon
