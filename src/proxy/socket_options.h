// Socket options applied to both legs of every session.
#pragma once

#include <chrono>
#include <system_error>

namespace kha::proxy {

// TCP_NODELAY (apiserver traffic is request/response), SO_KEEPALIVE with short probes
// and TCP_USER_TIMEOUT, so that a peer that vanished is noticed in seconds instead of
// the kernel's ~15 minutes of retransmissions.
struct LivenessOptions {
  std::chrono::seconds keepalive_idle{30};
  std::chrono::seconds keepalive_interval{5};
  int keepalive_count = 3;
  std::chrono::milliseconds user_timeout{30'000};
};

// Returns the first error; the socket stays usable either way.
std::error_code tune_session_socket(int fd, const LivenessOptions& options = {});
// TCP_NODELAY alone (the first part of tune_session_socket).
std::error_code set_nodelay(int fd);

}  // namespace kha::proxy
