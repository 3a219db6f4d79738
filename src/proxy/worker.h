// Worker: one thread running one Hub (its event loop), its own descriptors of the
// listening sockets (every worker waits on every one; the first free worker takes the
// next client), its own sessions, pipes and buffers. Nothing on the data path is shared between workers but the
// backends' atomics. Other threads talk to a worker only by posting to its hub.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <asio.hpp>

#include "proxy/frontend_runtime.h"
#include "proxy/hub.h"
#include "proxy/session.h"

namespace kha::proxy {

class Worker {
 public:
  Worker(int id, bool splice);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // Serves `fd`, this worker's descriptor of a listening socket of `endpoint` (ProxyServer
  // opens the socket and gives every worker a duplicate), for `frontend`; the worker owns
  // the descriptor from now. Thread-safe, before or
  // after start().
  void listen(const FrontendPtr& frontend, const asio::ip::tcp::endpoint& endpoint, int fd);

  void start();
  // Thread-safe. Stops accepting on every listener (or on `endpoint` only).
  void stop_accepting();
  void stop_accepting(const asio::ip::tcp::endpoint& endpoint);
  // Thread-safe. Closes the sessions pinned to `backend`, spread over `spread`
  // (close_pacing.h) so the remaining backends do not get every client at the same
  // instant; stops early if the backend comes back.
  void close_sessions_of(pool::BackendPtr backend, std::chrono::milliseconds spread);
  // Rebalancing: closes up to `max` quiet sessions of `backend` (SessionRegistry::close_quiet)
  // and counts them in its sessions_rebalanced.
  void close_quiet_sessions_of(pool::BackendPtr backend, std::size_t max, std::chrono::milliseconds quiet);
  // Thread-safe. Closes every session at once.
  void close_all_sessions();
  // Thread-safe snapshot.
  Hub& hub() { return *hub_; }
  std::size_t active_sessions() const { return services_.active.load(std::memory_order_relaxed); }
  // Stops the loop (sessions still open are destroyed) and joins the thread.
  void stop_and_join();

  int id() const { return id_; }

 private:
  // Closes `batch` sessions of `backend`, then the next batch `interval` later, and so on.
  void paced_close(const pool::BackendPtr& backend, std::size_t batch, std::chrono::milliseconds interval,
                   std::size_t closed);
  // One timer per worker instead of one per session: an idle timeout fires at most
  // kIdleSweep late, which the hour-scale timeouts of watches do not notice.
  void sweep_idle();
  static constexpr std::chrono::milliseconds kIdleSweep{250};

  int id_;
  // Before the hub: sessions still open when the hub is destroyed end in its
  // destructor, and their teardown leaves the registry and the counts in services_.
  WorkerServices services_;
  std::unique_ptr<Hub> hub_;
  std::thread thread_;
};

}  // namespace kha::proxy
