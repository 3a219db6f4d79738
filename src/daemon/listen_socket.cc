// Listening sockets: resolve, check exclusive, open (listen_socket.h).
#include "daemon/listen_socket.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/address.h"

namespace kha::daemon {

using asio::ip::tcp;

std::string endpoint_text(const tcp::endpoint& e) {
  return wrap_ipv6(e.address().to_string()) + ":" + std::to_string(e.port());
}

std::vector<tcp::endpoint> resolve_listen(asio::io_context& io, const std::string& text, std::string* error) {
  std::string why;
  auto hp = parse_host_port(text, &why);
  if (!hp) {
    *error = text + ": " + why;
    return {};
  }
  asio::error_code ec;
  if (auto ip = asio::ip::make_address(hp->host, ec); !ec) return {tcp::endpoint(ip, hp->port)};
  tcp::resolver resolver(io);
  auto results = resolver.resolve(hp->host, std::to_string(hp->port), ec);
  if (ec || results.empty()) {
    *error = text + ": cannot resolve '" + hp->host + "': " + ec.message();
    return {};
  }
  std::vector<tcp::endpoint> out;
  for (const auto& r : results) out.push_back(r.endpoint());
  return out;
}

std::error_code probe_exclusive(asio::io_context& io, const tcp::endpoint& e) {
  tcp::acceptor probe(io);
  asio::error_code ec;
  probe.open(e.protocol(), ec);
  if (ec) return ec;
  probe.set_option(tcp::acceptor::reuse_address(true), ec);
  if (e.address().is_v6()) probe.set_option(asio::ip::v6_only(true), ec);
  probe.bind(e, ec);
  return ec;
}

int open_listener(const tcp::endpoint& e, std::error_code* ec) {
  int fd = ::socket(e.address().is_v6() ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) {
    *ec = std::error_code(errno, std::system_category());
    return -1;
  }
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
  if (e.address().is_v6()) ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
  if (::bind(fd, e.data(), static_cast<socklen_t>(e.size())) < 0 || ::listen(fd, 4096) < 0) {
    *ec = std::error_code(errno, std::system_category());
    ::close(fd);
    return -1;
  }
  return fd;
}

}  // namespace kha::daemon
