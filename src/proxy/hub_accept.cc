// Hub, accepting: listeners added and removed, clients accepted (or paused at a session
// cap), handed to a less loaded worker, and their sessions started.
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <utility>

#include "proxy/accept_balance.h"
#include "proxy/hub.h"
#include "proxy/hub_listener.h"

namespace kha::proxy {

void Hub::add_listener(int fd, FrontendPtr frontend, const asio::ip::tcp::endpoint& endpoint) {
  const int flags = ::fcntl(fd, F_GETFL);
  if (flags >= 0) ::fcntl(fd, F_SETFL, flags | O_NONBLOCK);
  auto& l = *listeners_.emplace_back(std::make_unique<Listener>(*this, fd, std::move(frontend), endpoint));
  l.match_defer_accept(l.frontend->settings()->client_first);
  if (!watch(fd, l, 0, kListenEvents))
    log::error("listen_register_failed", {{"listen", endpoint_text(endpoint)},
                                          {"error", std::error_code(errno, std::system_category()).message()}});
}

void Hub::remove_listeners(const asio::ip::tcp::endpoint* endpoint) {
  for (auto& l : listeners_) {
    if (endpoint && l->endpoint != *endpoint) continue;
    l->close_fd();
    clear_deadline(*l);
    retire(std::move(l));
  }
  std::erase(listeners_, nullptr);
}

void Hub::accept_from(Listener& l) {
  // The settings are swapped whole by reload (a short lock, one per client).
  const auto settings = l.frontend->settings();
  const bool deferred = l.deferred;  // how the clients waiting now were queued
  l.match_defer_accept(settings->client_first);  // a reload may have changed client_first
  if (at_session_cap()) {
    // Clients wait in the listen backlog; descriptors stay for probes and admin.
    l.pause();
    set_deadline(l, HubClock::now() + kCapPause);
    return;
  }
  // The slot is taken before accept(), so that workers accepting for the same frontend
  // at once never hold more than max_sessions; it goes back if no client is there.
  SessionSlot slot = l.frontend->try_take_slot(static_cast<std::size_t>(std::max(settings->max_sessions, 0)));
  if (!slot) {  // this frontend's share: the others keep accepting
    note_frontend_cap(l, *settings);
    l.pause();
    set_deadline(l, HubClock::now() + kCapPause);
    return;
  }
  for (;;) {  // one client (kListenEvents says why); retried only past a client that left
    const int fd = ::accept4(l.fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      const int err = errno;
      if (err == EAGAIN || err == EWOULDBLOCK) return;  // another worker took it
      if (err == EINTR || err == ECONNABORTED || err == EPROTO) continue;
      // EMFILE and friends: pause instead of spinning on a full descriptor table.
      accept_failures_.fetch_add(1, std::memory_order_relaxed);
      log::warn("accept_failed", {{"listen", endpoint_text(l.endpoint)},
                                  {"error", std::error_code(err, std::system_category()).message()},
                                  {"pause_ms", std::to_string(kAcceptPause.count())}});
      l.pause();
      set_deadline(l, HubClock::now() + kAcceptPause);
      return;
    }
    // TCP_NODELAY, keepalive and TCP_USER_TIMEOUT came with accept(): see Worker::listen.
    // Counted from accept, so that clients in hand-over count against max_sessions too.
    if (Hub* to = balance_target()) {
      handovers_.fetch_add(1, std::memory_order_relaxed);
      return to->take_client(fd, std::move(slot), l.frontend, deferred, settings);
    }
    start_session(fd, std::move(slot), l.frontend, deferred, *settings);
    return;
  }
}

void Hub::start_session(int fd, SessionSlot slot, const FrontendPtr& frontend, bool deferred,
                        const config::Frontend& settings) {
  Session& s = sessions_.emplace_back(*this, fd, std::move(slot), frontend, deferred);
  s.self_ = std::prev(sessions_.end());
  s.start(settings);
}

bool Hub::at_session_cap() {
  const std::size_t limit = cap_ ? cap_->limit.load(std::memory_order_relaxed) : 0;
  if (limit == 0) return false;
  std::size_t total = load();
  for (const Hub* p : peers_) total += p->load();
  if (total < limit) return false;
  cap_->pauses.fetch_add(1, std::memory_order_relaxed);
  const auto now = HubClock::now();
  if (now - cap_logged_ >= std::chrono::seconds(10)) {
    cap_logged_ = now;
    log::warn("session_cap_reached", {{"sessions", std::to_string(total)}, {"cap", std::to_string(limit)},
                                       {"action", "new clients wait in the listen backlog"}});
  }
  return true;
}

void Hub::note_frontend_cap(Listener& l, const config::Frontend& settings) {
  const auto open = l.frontend->open_sessions();
  l.frontend->stats().cap_pauses.fetch_add(1, std::memory_order_relaxed);
  const auto now = HubClock::now();
  if (now - l.cap_logged >= std::chrono::seconds(10)) {
    l.cap_logged = now;
    log::warn("frontend_session_cap_reached",
              {{"frontend", l.frontend->name()}, {"listen", endpoint_text(l.endpoint)}, {"sessions", std::to_string(open)},
               {"max_sessions", std::to_string(settings.max_sessions)},
               {"action", "new clients of this frontend wait in the listen backlog"}});
  }
}

std::size_t Hub::load() const {
  return services_.active.load(std::memory_order_relaxed) + incoming_.load(std::memory_order_relaxed);
}

Hub* Hub::balance_target() {
  for (std::size_t i = 0; i < peers_.size(); ++i) peer_loads_[i] = peers_[i]->load();
  const auto to = hand_over_to(load(), peer_loads_);
  return to ? peers_[*to] : nullptr;
}

// Called on the accepting worker's thread, with the settings it read; the session starts
// on this hub's. A client posted to a hub that stops before running it is closed, not
// leaked.
void Hub::take_client(int fd, SessionSlot slot, FrontendPtr frontend, bool deferred,
                      std::shared_ptr<const config::Frontend> settings) {
  struct Client {
    Client(int f, SessionSlot s) : fd(f), slot(std::move(s)) {}
    ~Client() {
      if (fd >= 0) ::close(fd);
    }
    int fd;
    SessionSlot slot;
  };
  incoming_.fetch_add(1, std::memory_order_relaxed);
  post([this, client = std::make_shared<Client>(fd, std::move(slot)), frontend = std::move(frontend), deferred,
        settings = std::move(settings)] {
    incoming_.fetch_sub(1, std::memory_order_relaxed);
    start_session(std::exchange(client->fd, -1), std::move(client->slot), frontend, deferred, *settings);
  });
}

}  // namespace kha::proxy
