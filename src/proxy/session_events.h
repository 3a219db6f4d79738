// What a session registers its sockets for, and how it words a socket error: shared by
// the race (session_race.cc) and its attempts (session_attempt.cc).
#pragma once

#include <sys/epoll.h>

#include <cstdint>
#include <string>
#include <system_error>

namespace kha::proxy {

// Edge-triggered, from registration to close, for the client and every attempt.
constexpr std::uint32_t kSessionEvents = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;

inline std::string error_text(int err) { return std::error_code(err, std::system_category()).message(); }

}  // namespace kha::proxy
