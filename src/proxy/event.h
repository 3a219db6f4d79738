// Event: a wake-up signal between coroutines of one io_context (one worker thread).
// Built on a steady_timer that never expires by itself: notify() cancels the pending
// waits. `pending` remembers a notify that came while nobody waited, for the single
// waiter that uses wait_until(); broadcast waiters re-check their own state instead.
#pragma once

#include <chrono>

#include <asio.hpp>

namespace kha::proxy {

class Event {
 public:
  explicit Event(const asio::any_io_executor& ex) : timer_(ex) { timer_.expires_at(asio::steady_timer::time_point::max()); }

  void notify() {
    pending_ = true;
    timer_.cancel();
  }

  // Broadcast wait: returns on the next notify() (or at once if cancelled).
  asio::awaitable<void> wait() {
    asio::error_code ec;
    co_await timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }

  // Single-waiter wait with a deadline; returns at once if a notify() is pending.
  asio::awaitable<void> wait_until(asio::steady_timer::time_point deadline) {
    if (!pending_) {
      timer_.expires_at(deadline);
      asio::error_code ec;
      co_await timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      timer_.expires_at(asio::steady_timer::time_point::max());
    }
    pending_ = false;
  }

 private:
  asio::steady_timer timer_;
  bool pending_ = false;
};

}  // namespace kha::proxy
