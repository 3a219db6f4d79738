// Listening sockets of the proxy: resolving a listen address, the exclusive-bind
// check, and opening the one socket of an endpoint that every worker waits on.
#pragma once

#include <cerrno>
#include <string>
#include <system_error>
#include <vector>

#include <asio.hpp>

namespace kha::daemon {

// "127.0.0.1:6443", "[::1]:6443": the key of a listening socket at a takeover.
std::string endpoint_text(const asio::ip::tcp::endpoint& e);

// A listen address may be a name ("localhost:6443"): every address it resolves to.
// Empty with *error set ("localhost:6443: cannot resolve ...") when none.
std::vector<asio::ip::tcp::endpoint> resolve_listen(asio::io_context& io, const std::string& text, std::string* error);

// SO_REUSEPORT would let us share a port with another process of the same user
// without noticing (two kha instances splitting the traffic). Bind once without it
// first, so that "address already in use" is reported as such.
std::error_code probe_exclusive(asio::io_context& io, const asio::ip::tcp::endpoint& e);

// The listening socket of one address, which every worker waits on (Hub says why not
// one per worker). SO_REUSEPORT all the same: the process that takes over on restart
// binds the address while this one still serves it. Returns the fd, or -1 and *ec.
int open_listener(const asio::ip::tcp::endpoint& e, std::error_code* ec);

// EADDRINUSE from probe_exclusive (asio's own "asio.system" category, which does not
// compare equal to std::errc) or open_listener (std::system_category).
inline bool is_address_in_use(const std::error_code& ec) {
  return (ec.category() == std::system_category() || ec.category() == asio::error::get_system_category()) &&
         ec.value() == EADDRINUSE;
}

}  // namespace kha::daemon
