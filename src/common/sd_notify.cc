// sd_notify(3) over a plain AF_UNIX datagram socket; see sd_notify.h.
#include "common/sd_notify.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <utility>

namespace kha {
namespace {

// Parses a positive decimal integer that fills the whole string.
std::optional<unsigned long long> parse_positive(const char* text) {
  if (text == nullptr || *text == '\0') return std::nullopt;
  std::string_view s(text);
  unsigned long long value = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (ec != std::errc() || end != s.data() + s.size() || value == 0) return std::nullopt;
  return value;
}

// Closes the descriptor when the scope ends.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }

 private:
  int fd_;
};

}  // namespace

SdNotify::SdNotify(std::string socket, std::optional<std::chrono::microseconds> watchdog)
    : socket_(std::move(socket)), watchdog_(watchdog) {}

SdNotify SdNotify::from_environment(bool unset_environment) {
  const char* socket = std::getenv("NOTIFY_SOCKET");
  std::string path = socket != nullptr ? socket : "";
  std::optional<std::chrono::microseconds> watchdog;
  if (auto usec = parse_positive(std::getenv("WATCHDOG_USEC"))) {
    const char* pid_text = std::getenv("WATCHDOG_PID");
    auto pid = parse_positive(pid_text);
    bool for_us = pid_text == nullptr || (pid && *pid == static_cast<unsigned long long>(::getpid()));
    if (for_us) watchdog = std::chrono::microseconds(*usec);
  }
  if (unset_environment) {
    ::unsetenv("NOTIFY_SOCKET");
    ::unsetenv("WATCHDOG_USEC");
    ::unsetenv("WATCHDOG_PID");
  }
  return SdNotify(std::move(path), watchdog);
}

std::optional<std::chrono::microseconds> SdNotify::watchdog_interval() const {
  if (!watchdog_) return std::nullopt;
  return *watchdog_ / 2;
}

std::error_code SdNotify::notify(std::string_view state) const {
  if (socket_.empty()) return {};
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  // "@name" is an abstract socket: the name starts with a NUL byte and is not terminated.
  // A path must be absolute.
  bool abstract = socket_.front() == '@';
  if (!abstract && socket_.front() != '/') return std::make_error_code(std::errc::invalid_argument);
  if (socket_.size() > sizeof(addr.sun_path) - (abstract ? 0 : 1)) {
    return std::make_error_code(std::errc::filename_too_long);
  }
  std::memcpy(addr.sun_path, socket_.data(), socket_.size());
  if (abstract) addr.sun_path[0] = '\0';
  auto addr_len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + socket_.size() + (abstract ? 0 : 1));

  Fd fd(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (fd.get() < 0) return {errno, std::system_category()};
  ssize_t sent;
  do {
    sent = ::sendto(fd.get(), state.data(), state.size(), MSG_NOSIGNAL, reinterpret_cast<const sockaddr*>(&addr),
                    addr_len);
  } while (sent < 0 && errno == EINTR);
  if (sent < 0) return {errno, std::system_category()};
  if (static_cast<size_t>(sent) != state.size()) return std::make_error_code(std::errc::message_size);
  return {};
}

std::error_code SdNotify::reloading() const {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  auto usec = static_cast<unsigned long long>(ts.tv_sec) * 1000000ULL + static_cast<unsigned long long>(ts.tv_nsec) / 1000ULL;
  return notify("RELOADING=1\nMONOTONIC_USEC=" + std::to_string(usec));
}

std::error_code SdNotify::status(std::string_view text) const {
  std::string message = "STATUS=";
  message.append(text);
  for (size_t i = 7; i < message.size(); ++i) {
    if (message[i] == '\n') message[i] = ' ';
  }
  return notify(message);
}

}  // namespace kha
