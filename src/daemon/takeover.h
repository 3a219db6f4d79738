// Binary upgrade without refusing a connection: the old kha process hands its
// listening sockets to a new one over a Unix socket (SCM_RIGHTS), then stops
// accepting and drains its sessions; the new one serves on the very same sockets, so
// the kernel's accept queues are never closed and no SYN is refused.
//
// Protocol (AF_UNIX SOCK_SEQPACKET, one message each, so boundaries are kept):
//   old -> new  "listen <endpoint>" with one descriptor, for every listening socket
//               (one per endpoint; several from a kha that opened one per worker)
//   old -> new  "end"
//   new -> old  "ready" once its workers accept on them; the old one then drains and
//               exits 0. If the new process closes the connection without "ready", or
//               sends nothing for ready_timeout (10 s), the old one closes the
//               connection, takes its admin endpoint back and keeps serving as before
//               ("takeover_aborted"). The old process frees the admin address for the
//               new one during the handover, so without that deadline a silent peer
//               could keep the admin endpoint (liveness probes) down indefinitely.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <asio.hpp>

namespace kha::daemon {

// Listening descriptors by endpoint text ("127.0.0.1:6443", "[::1]:6443").
using ListenerFds = std::map<std::string, std::vector<int>>;

// The new side, blocking, before the proxy starts.
class TakeoverClient {
 public:
  TakeoverClient() = default;
  ~TakeoverClient();
  TakeoverClient(const TakeoverClient&) = delete;
  TakeoverClient& operator=(const TakeoverClient&) = delete;

  // Connects to the old process at `path` and receives its listening sockets (waits
  // at most `timeout`). Returns "" or why not.
  std::string receive(const std::string& path, std::chrono::milliseconds timeout);
  // The received descriptors; the caller takes ownership.
  ListenerFds take_listeners() { return std::exchange(listeners_, {}); }
  // Tells the old process that this one serves; it then drains and exits.
  std::string confirm();

 private:
  int fd_ = -1;
  ListenerFds listeners_;
};

// The old side: serves the takeover socket on the main io_context.
class TakeoverServer {
 public:
  struct Hooks {
    // Every listening socket to hand over: (endpoint text, descriptor). Not duplicated.
    std::function<std::vector<std::pair<std::string, int>>()> listeners;
    // Before the descriptors go out: free what the new process must bind itself (admin).
    std::function<void()> before_handoff;
    // After: true when the new process serves (drain and exit), false when it gave up.
    std::function<void(bool)> after_handoff;
  };
  // `ready_timeout`: how long the new process may take from receiving the listeners to
  // "ready" (it starts its workers and binds the admin address meanwhile).
  TakeoverServer(asio::io_context& io, std::string path, Hooks hooks,
                 std::chrono::milliseconds ready_timeout = std::chrono::seconds(10));
  ~TakeoverServer();

  // Binds the Unix socket at `path` (replacing a stale one), mode 0600 from the start.
  // Returns "" or why not.
  std::string start();
  // Closes the socket; unlinks the path only if `unlink` (not after a handoff, when the
  // new process owns the path).
  void stop(bool unlink = true);

 private:
  asio::awaitable<void> serve();
  asio::awaitable<bool> hand_over(int connection);

  asio::io_context& io_;
  std::string path_;
  Hooks hooks_;
  std::chrono::milliseconds ready_timeout_;
  std::unique_ptr<asio::posix::stream_descriptor> listener_;
};

}  // namespace kha::daemon
