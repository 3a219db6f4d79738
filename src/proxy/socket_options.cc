// tune_session_socket(): TCP_NODELAY, keepalive and TCP_USER_TIMEOUT on a session's sockets.
#include "proxy/socket_options.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <cerrno>

namespace kha::proxy {
namespace {

std::error_code set_int(int fd, int level, int name, int value) {
  if (::setsockopt(fd, level, name, &value, sizeof value) != 0) return {errno, std::system_category()};
  return {};
}

}  // namespace

std::error_code set_nodelay(int fd) { return set_int(fd, IPPROTO_TCP, TCP_NODELAY, 1); }

std::error_code tune_session_socket(int fd, const LivenessOptions& o) {
  std::error_code first;
  auto keep = [&](std::error_code ec) {
    if (ec && !first) first = ec;
  };
  keep(set_nodelay(fd));
  keep(set_int(fd, SOL_SOCKET, SO_KEEPALIVE, 1));
  keep(set_int(fd, IPPROTO_TCP, TCP_KEEPIDLE, static_cast<int>(o.keepalive_idle.count())));
  keep(set_int(fd, IPPROTO_TCP, TCP_KEEPINTVL, static_cast<int>(o.keepalive_interval.count())));
  keep(set_int(fd, IPPROTO_TCP, TCP_KEEPCNT, o.keepalive_count));
  keep(set_int(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, static_cast<int>(o.user_timeout.count())));
  return first;
}

}  // namespace kha::proxy
