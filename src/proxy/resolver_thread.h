// resolve_off_thread: name resolution for backends given by name, on one process-wide
// thread (getaddrinfo blocks; a worker must not). `done` runs on that thread, with every
// address the name has, in getaddrinfo's order.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <system_error>
#include <vector>

#include <asio.hpp>

namespace kha::proxy {

void resolve_off_thread(const std::string& host, std::uint16_t port,
                        std::function<void(const std::error_code&, std::vector<asio::ip::tcp::endpoint>)> done);

}  // namespace kha::proxy
