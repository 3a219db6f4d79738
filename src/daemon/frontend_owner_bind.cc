// FrontendOwner's --bind-retry: a listen address the old proxy (Kubespray's nginx-proxy or
// haproxy) still holds at start is taken the moment that proxy lets it go, so a node switching
// to kha is without a listener for milliseconds, not for a pod restart.
#include <system_error>

#include "common/log.h"
#include "config/validate.h"
#include "daemon/frontend_owner.h"
#include "daemon/listen_socket.h"

namespace kha::daemon {

namespace {
// Short enough that the gap after the old proxy exits stays far below the 0.2 s goal;
// one failed bind(2) per tick costs nothing.
constexpr std::chrono::milliseconds kBindRetryTick{5};
}  // namespace

void FrontendOwner::wait_to_bind(const std::string& text) {
  log::info("bind_waiting", {{"frontend", name_}, {"listen", text}, {"reason", "address already in use"},
                             {"retry_for_ms", std::to_string(context_.bind_retry.count())}});
  asio::co_spawn(context_.main, retry_bind(weak_from_this(), text), log::CoroutineEnd{"bind_retry"});
}

asio::awaitable<void> FrontendOwner::retry_bind(std::weak_ptr<FrontendOwner> weak, std::string text) {
  asio::steady_timer tick(co_await asio::this_coro::executor);
  const auto started = std::chrono::steady_clock::now();
  const std::string key = config::normalise_address(text);
  for (;;) {
    tick.expires_after(kBindRetryTick);
    asio::error_code ec;
    co_await tick.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    const auto self = weak.lock();
    if (!self || self->context_.stopping) co_return;
    // A reload since may have dropped the address (or bound it itself).
    bool wanted = false;
    for (const auto& l : self->applied_.listen) wanted = wanted || config::normalise_address(l) == key;
    if (!wanted || self->listeners_.count(key)) co_return;
    bool adopted = false;
    std::error_code failed;
    const std::string error = self->bind(text, &adopted, &failed);
    const auto waited = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started);
    if (error.empty()) {
      log::info("bind_taken", {{"frontend", self->name_}, {"listen", text}, {"waited_ms", std::to_string(waited.count())}});
      co_return;
    }
    if (self->listeners_[key].fds.empty()) self->listeners_.erase(key);
    if (!is_address_in_use(failed) || waited >= self->context_.bind_retry) {
      log::error("bind_gave_up", {{"frontend", self->name_}, {"listen", text}, {"error", error},
                                  {"waited_ms", std::to_string(waited.count())}});
      if (self->context_.on_bind_gave_up) self->context_.on_bind_gave_up(error);
      co_return;
    }
  }
}

}  // namespace kha::daemon
