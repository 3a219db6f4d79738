// SdNotify against a real AF_UNIX datagram socket standing in for systemd's notify
// socket: a filesystem path and an abstract name, as systemd uses both.
#include "common/sd_notify.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>

#include <gtest/gtest.h>

namespace kha {
namespace {

using std::chrono::microseconds;

// A bound datagram socket: the receiving side of the protocol, as PID 1 holds it.
class NotifySocket {
 public:
  // name: absolute path, or "@name" for the abstract namespace.
  explicit NotifySocket(std::string name) : name_(std::move(name)) {
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, name_.data(), name_.size());
    bool abstract = name_.front() == '@';
    if (abstract) addr.sun_path[0] = '\0';
    auto len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + name_.size() + (abstract ? 0 : 1));
    bound_ = fd_ >= 0 && ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), len) == 0;
  }
  ~NotifySocket() {
    if (fd_ >= 0) ::close(fd_);
    if (name_.front() == '/') ::unlink(name_.c_str());
  }
  bool bound() const { return bound_; }
  const std::string& name() const { return name_; }

  // The next datagram, or "<timeout>" if none arrives within 2 s.
  std::string receive() const {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, 2000) != 1) return "<timeout>";
    char buf[4096];
    ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    return n < 0 ? "<error>" : std::string(buf, static_cast<size_t>(n));
  }
  // True when nothing is queued (checked without waiting).
  bool empty() const {
    pollfd p{fd_, POLLIN, 0};
    return ::poll(&p, 1, 0) == 0;
  }

 private:
  std::string name_;
  int fd_ = -1;
  bool bound_ = false;
};

std::string unique_suffix() {
  static int counter = 0;
  return std::to_string(::getpid()) + "-" + std::to_string(++counter);
}

std::string temp_path() {
  return (std::filesystem::temp_directory_path() / ("kha-notify-" + unique_suffix() + ".sock")).string();
}

// Restores the notify variables the test changed.
class EnvGuard {
 public:
  EnvGuard() {
    for (const char* name : kNames) ::unsetenv(name);
  }
  ~EnvGuard() {
    for (const char* name : kNames) ::unsetenv(name);
  }

 private:
  static constexpr const char* kNames[] = {"NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID"};
};

TEST(SdNotify, SendsTheDaemonLifecycleToAPathSocket) {
  NotifySocket sock(temp_path());
  ASSERT_TRUE(sock.bound());
  SdNotify notify(sock.name());
  ASSERT_TRUE(notify.enabled());

  EXPECT_FALSE(notify.ready());
  EXPECT_EQ(sock.receive(), "READY=1");
  EXPECT_FALSE(notify.reloading());
  std::string reloading = sock.receive();
  EXPECT_EQ(reloading.rfind("RELOADING=1\nMONOTONIC_USEC=", 0), 0u) << reloading;
  std::string usec = reloading.substr(reloading.find('=', 12) + 1);
  EXPECT_GT(std::stoull(usec), 0u);
  EXPECT_FALSE(notify.ready());
  EXPECT_EQ(sock.receive(), "READY=1");
  EXPECT_FALSE(notify.watchdog());
  EXPECT_EQ(sock.receive(), "WATCHDOG=1");
  EXPECT_FALSE(notify.status("2/3 backends up\nfrontend apiserver"));
  EXPECT_EQ(sock.receive(), "STATUS=2/3 backends up frontend apiserver");
  EXPECT_FALSE(notify.stopping());
  EXPECT_EQ(sock.receive(), "STOPPING=1");
  EXPECT_TRUE(sock.empty());
}

TEST(SdNotify, SendsToAnAbstractSocket) {
  NotifySocket sock("@kha-notify-test-" + unique_suffix());
  ASSERT_TRUE(sock.bound());
  SdNotify notify(sock.name());
  EXPECT_FALSE(notify.ready());
  EXPECT_EQ(sock.receive(), "READY=1");
}

TEST(SdNotify, DisabledWithoutASocketAndSendsNothing) {
  SdNotify notify;
  EXPECT_FALSE(notify.enabled());
  EXPECT_FALSE(notify.ready());
  EXPECT_FALSE(notify.watchdog_interval());
}

TEST(SdNotify, ReportsAMissingListenerOrAnUnusableAddress) {
  SdNotify gone(temp_path());
  std::error_code ec = gone.ready();
  EXPECT_TRUE(ec == std::errc::no_such_file_or_directory || ec == std::errc::connection_refused) << ec.message();

  EXPECT_EQ(SdNotify("relative/notify").ready(), std::errc::invalid_argument);
  EXPECT_EQ(SdNotify("/" + std::string(200, 'x')).ready(), std::errc::filename_too_long);
}

TEST(SdNotify, ReadsSocketAndWatchdogFromTheEnvironment) {
  EnvGuard env;
  NotifySocket sock(temp_path());
  ASSERT_TRUE(sock.bound());
  ::setenv("NOTIFY_SOCKET", sock.name().c_str(), 1);
  ::setenv("WATCHDOG_USEC", "30000000", 1);
  ::setenv("WATCHDOG_PID", std::to_string(::getpid()).c_str(), 1);

  SdNotify notify = SdNotify::from_environment();
  EXPECT_EQ(notify.socket(), sock.name());
  EXPECT_EQ(notify.watchdog_timeout(), microseconds(30000000));
  EXPECT_EQ(notify.watchdog_interval(), microseconds(15000000));
  EXPECT_FALSE(notify.ready());
  EXPECT_EQ(sock.receive(), "READY=1");
  EXPECT_NE(std::getenv("NOTIFY_SOCKET"), nullptr);  // left alone unless asked

  SdNotify again = SdNotify::from_environment(/*unset_environment=*/true);
  EXPECT_TRUE(again.enabled());
  EXPECT_EQ(std::getenv("NOTIFY_SOCKET"), nullptr);
  EXPECT_EQ(std::getenv("WATCHDOG_USEC"), nullptr);
  EXPECT_EQ(std::getenv("WATCHDOG_PID"), nullptr);
}

TEST(SdNotify, IgnoresAWatchdogMeantForAnotherProcessOrMalformed) {
  EnvGuard env;
  ::setenv("NOTIFY_SOCKET", "@kha-unused", 1);
  ::setenv("WATCHDOG_USEC", "30000000", 1);
  ::setenv("WATCHDOG_PID", std::to_string(::getpid() + 1).c_str(), 1);
  EXPECT_FALSE(SdNotify::from_environment().watchdog_timeout());

  ::unsetenv("WATCHDOG_PID");  // no pid: the watchdog is ours
  EXPECT_EQ(SdNotify::from_environment().watchdog_timeout(), microseconds(30000000));

  for (const char* bad : {"", "0", "-5", "10s", "12abc"}) {
    ::setenv("WATCHDOG_USEC", bad, 1);
    EXPECT_FALSE(SdNotify::from_environment().watchdog_timeout()) << "WATCHDOG_USEC=" << bad;
  }
}

}  // namespace
}  // namespace kha
