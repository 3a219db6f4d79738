// The race phase of a session: see session.h. Everything here runs on the worker's
// thread, driven by Hub events and deadlines; decisions are race_policy.h's.
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/log.h"
#include "proxy/first_bytes.h"
#include "proxy/hub.h"
#include "proxy/session.h"
#include "proxy/session_events.h"

namespace kha::proxy {
namespace {

RaceSettings race_settings(const config::Frontend& f) {
  RaceSettings s;
  s.connect_timeout = f.timeouts.connect;
  s.connect_hedge = f.hedge.connect_delay;
  s.first_byte_hedge = f.hedge.first_byte_delay;
  s.first_bytes_max = f.hedge.first_bytes_max;
  s.max_attempts = f.max_connect_attempts;
  s.client_first = f.client_first;
  s.client_idle = std::min(f.timeouts.client_idle, f.timeouts.server_idle);
  s.replay_any = f.hedge.replay == config::Replay::Any;
  s.slow_start = f.slow_start;
  return s;
}

AttemptPhase phase_of(Attempt::State s) {  // Resolving is a connect not yet started
  switch (s) {
    case Attempt::State::Resolving:
    case Attempt::State::Connecting: return AttemptPhase::Connecting;
    case Attempt::State::Connected: return AttemptPhase::Connected;
    default: return AttemptPhase::Done;
  }
}

Replay replay_of(const std::vector<char>& bytes) {
  const std::span<const std::uint8_t> view(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
  switch (classify_first_bytes(view)) {
    case FirstBytes::ClientHello: return Replay::Safe;
    case FirstBytes::Other: return Replay::Unsafe;
    default: return Replay::Pending;
  }
}

}  // namespace

// ---------------------------------------------------------------- Session: race

Session::Session(Hub& hub, int client_fd, SessionSlot slot, FrontendPtr frontend, bool deferred)
    : hub_(hub), services_(hub.services()), slot_(std::move(slot)), frontend_(std::move(frontend)), deferred_(deferred) {
  fd_[0] = client_fd;
  // Counted from accept, not from when the session first runs: a shutdown that
  // drains must not miss a client accepted a moment before it began.
  services_.active.fetch_add(1, std::memory_order_relaxed);
}

void Session::start(const config::Frontend& settings) {
  frontend_->stats().sessions_total.fetch_add(1, std::memory_order_relaxed);
  frontend_->hedge_budget().deposit();
  race_ = std::make_unique<Race>();
  race_->settings = race_settings(settings);
  if (race_->settings.replay_any) race_->replay = Replay::Safe;
  race_->backends = frontend_->backends().snapshot();
  idle_ = race_->settings.client_idle;
  if (!hub_.watch(fd_[0], *this, 0, kSessionEvents)) return race_failed("register failed: " + error_text(errno));
  // A deferred accept (TCP_DEFER_ACCEPT) comes with the client's first bytes: read
  // them now, so the first attempt can send them as soon as it connects.
  if (deferred_ && race_->settings.client_first) read_client(0);
  step();
}

void Session::on_event(std::uint32_t events, unsigned tag) {
  if (dead_) return;
  if (!race_) return relay_event(events, tag);
  if (tag != 0) return;  // an upstream event from before the hand-over
  Race& r = *race_;
  if (events & EPOLLERR) r.client_error = true;
  else if ((events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP)) && r.settings.client_first &&
           r.client_bytes.size() < r.settings.first_bytes_max)
    read_client(events);
  else return;  // writability (reported once at registration): nothing changed
  step();
}

void Session::on_deadline() {
  if (dead_ || !race_) return;
  const auto now = HubClock::now();
  for (auto& a : race_->attempts)
    if (phase_of(a->state) == AttemptPhase::Connecting && now >= a->started + race_->settings.connect_timeout)
      attempt_failed(*a, "connect timeout after " + std::to_string(race_->settings.connect_timeout.count()) + "ms");
  step();
}

void Session::step() {
  if (dead_ || !race_) return;
  Race& r = *race_;
  for (;;) {
    r.views.clear();
    for (const auto& a : r.attempts) r.views.push_back({phase_of(a->state), a->started, a->first_sent, a->sent});
    const RaceView view{r.views,
                        r.client_bytes.size(),
                        r.client_eof,
                        r.client_error,
                        r.can_start_more && static_cast<int>(r.attempts.size()) < r.settings.max_attempts,
                        r.started,
                        r.replay,
                        r.can_hedge};
    const auto now = HubClock::now();
    const Decision d = decide(r.settings, view, now);
    switch (d.kind) {
      case Decision::Kind::Win: return hand_over(*r.attempts[d.winner], nullptr, 0, false);
      case Decision::Kind::Fail: return race_failed(d.failure);
      case Decision::Kind::Start: start_attempt(d.hedge); continue;  // a failed start clears can_start_more
      case Decision::Kind::Wait: {
        auto due = d.wait_until;
        for (const auto& a : r.attempts)
          if (phase_of(a->state) == AttemptPhase::Connecting) due = std::min(due, a->started + r.settings.connect_timeout);
        if (due == HubClock::time_point::max()) hub_.clear_deadline(*this);
        else hub_.set_deadline(*this, due);
        return;
      }
    }
  }
}

void Session::read_client(std::uint32_t events) {
  Race& r = *race_;
  const std::size_t max = r.settings.first_bytes_max;
  bool grew = false;
  r.client_drained = false;
  while (r.client_bytes.size() < max) {
    char* buf = relay_scratch();
    const std::size_t want = max - r.client_bytes.size();
    const ssize_t n = ::recv(fd_[0], buf, want, 0);
    if (n > 0) {
      r.client_bytes.insert(r.client_bytes.end(), buf, buf + n);
      grew = true;
      // A short read emptied the socket: new bytes raise a new edge. Not so an EOF
      // that came with the bytes: its edge is spent, so read on to see it.
      if (static_cast<std::size_t>(n) < want && !(events & (EPOLLRDHUP | EPOLLHUP))) {
        r.client_drained = true;
        break;
      }
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      r.client_drained = true;
      break;
    }
    if (n == 0) r.client_eof = true;
    else r.client_error = true;
    break;
  }
  // Classified once per read that added bytes, not at every step of the race.
  if (grew && !r.settings.replay_any) r.replay = replay_of(r.client_bytes);
  if (!grew && !r.client_eof) return;
  for (auto& a : r.attempts)
    if (a->state == Attempt::State::Connected) send_client_bytes(*a);
}

void Session::race_failed(const std::string& reason) {
  frontend_->stats().sessions_failed.fetch_add(1, std::memory_order_relaxed);
  log::debug("session_failed", {{"frontend", frontend_->name()}, {"reason", reason}});
  hub_.end_session(*this);
}

void Session::hand_over(Attempt& winner, const char* reply, std::size_t reply_size, bool upstream_closed) {
  auto race = std::move(race_);  // from here on, events go to the relay
  hub_.clear_deadline(*this);
  const auto connect_timeout = race->settings.connect_timeout;
  fd_[1] = winner.take_socket();
  backend_ = winner.backend;
  winner.uncount();  // counted from here on as an active session
  for (auto& a : race->attempts) {
    a->session = nullptr;
    if (a.get() != &winner && a->state == Attempt::State::Connected && a->first_sent) {
      // A loser that was sent bytes: silence for the whole connect timeout is a
      // passive failure (a hung backend), an answer is not.
      a->state = Attempt::State::Orphan;
      a->uncount();  // it will be closed, whatever it answers
      a->frontend = frontend_;
      a->connect_timeout = connect_timeout;
      hub_.set_deadline(*a, *a->first_sent + connect_timeout);
      hub_.adopt_orphan(std::move(a));
      continue;
    }
    a->close_socket();
    a->state = Attempt::State::Retired;
    hub_.retire(std::move(a));  // events of this batch may still name it
  }
  frontend_.reset();

  // The winner's registration now names the session; a re-registration also reports
  // again what is ready now, so nothing the race did not read is missed.
  if (!hub_.rewatch(fd_[1], *this, 1, kSessionEvents)) {
    log::warn("relay_register_failed", {{"error", error_text(errno)}});
    return hub_.end_session(*this);
  }

  auto& stats = backend_->stats();
  stats.sessions_total.fetch_add(1, std::memory_order_relaxed);
  legs_[0].from = legs_[1].to = fd_[0];
  legs_[0].to = legs_[1].from = fd_[1];
  legs_[0].bytes = &stats.bytes_to_backend;
  legs_[1].bytes = &stats.bytes_to_client;
  control_.backend = backend_.get();
  control_.idle = idle_;
  control_.last_activity = HubClock::now();
  control_.owner = this;
  control_.upstream_fd = fd_[1];
  control_.started = control_.last_activity;
  control_.on_close = [](void* self) {
    auto* s = static_cast<Session*>(self);
    s->hub_.end_session(*s);
  };
  control_.holds_bytes = [](const void* self) {
    const auto* s = static_cast<const Session*>(self);
    return s->legs_[0].queued > 0 || s->legs_[0].held || s->legs_[1].queued > 0 || s->legs_[1].held;
  };
  handle_ = services_.registry.add(&control_);
  stats.active_sessions.fetch_add(1, std::memory_order_relaxed);  // taken back with the handle
  stats.session_start_sum_ms.fetch_add(started_ms(control_.started), std::memory_order_relaxed);

  // What the race held back: the client's bytes the winner was not sent, the winner's
  // first answer. Then each leg goes on by itself.
  const std::size_t pending = race->client_bytes.size() - winner.sent;
  if (pending > 0) hold(legs_[0], race->client_bytes.data() + winner.sent, pending);
  legs_[0].peer_closed = race->client_eof;
  legs_[1].peer_closed = upstream_closed;
  const bool client_quiet = race->settings.client_first && race->client_drained && !race->client_eof &&
                            !race->client_error && pending == 0;
  race.reset();
  if (reply_size > 0) {
    const bool last = upstream_closed && reply_size < kCopyChunk;  // the whole answer, then EOF
    const Step s = forward(legs_[1], reply, reply_size, last);
    if (s == Step::WaitRead && reply_size == kCopyChunk) run_leg(1);
    else finish_leg(1, s);
  } else if (upstream_closed) {
    run_leg(1);  // its EOF was read already: read it again
  }
  // Otherwise the re-registration above reports the upstream's readiness, if any.
  if (!dead_ && !client_quiet) run_leg(0);
}

}  // namespace kha::proxy
