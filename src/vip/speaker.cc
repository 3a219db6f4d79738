// Speaker::run(): the Asio event loop that feeds Instance (packets, timer, link, tracking, signals) and the admin server.
#include "vip/speaker.h"

#include <signal.h>

#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <system_error>

#include <asio.hpp>
#include <asio/experimental/as_tuple.hpp>

#include "admin/admin_server.h"
#include "admin/metrics.h"
#include "admin/process_metrics.h"
#include "common/address.h"
#include "common/log.h"
#include "vip/speaker_runtime.h"
#include "vip/track_checker.h"

namespace kha::vip {
namespace {

using asio::experimental::as_tuple;

// Waits on a descriptor another object owns (VrrpSocket, LinkMonitor): released, never
// closed, when it goes. Asio's epoll reactor is edge-triggered, so whoever waits on it
// must read it down to EAGAIN first: a wait does not wake for data already pending.
class Watched {
 public:
  Watched(asio::io_context& io, int fd) : descriptor_(io, fd) {}
  ~Watched() { descriptor_.release(); }
  Watched(const Watched&) = delete;
  Watched& operator=(const Watched&) = delete;
  auto readable() { return descriptor_.async_wait(asio::posix::descriptor_base::wait_read, as_tuple(asio::use_awaitable)); }

 private:
  asio::posix::stream_descriptor descriptor_;
};

// The event loop of one run. Each input is a coroutine; after each event, as the poll()
// loop it replaces did after each wake, after_event() runs what fell due, publishes the
// status and re-arms the one timer from the Instance's deadline and the reannounce time.
struct Loop {
  asio::io_context& io;
  Runtime& rt;
  const VipConfig& config;
  LinkMonitor& link;
  std::function<void()> publish;
  std::string* error;
  TrackChecker* tracker = nullptr;  // null without tracking
  bool link_up = true;
  int result = 0;
  asio::steady_timer timer{io};
  asio::signal_set signals{io, SIGTERM, SIGINT, SIGHUP};

  void after_event(Clock::time_point now) {
    if (rt.instance.deadline() && now >= *rt.instance.deadline()) rt.execute(rt.instance.on_timer(now), now);
    if (rt.reannounce_at && now >= *rt.reannounce_at) {
      rt.reannounce_at.reset();
      if (rt.instance.state() == State::Master) rt.announce();
    }
    publish();
    rearm();
  }

  // The timer at the earlier of the Instance's deadline and the reannounce time; setting
  // it cancels the wait in flight, which then waits again.
  void rearm() {
    std::optional<Clock::time_point> next = rt.instance.deadline();
    if (rt.reannounce_at && (!next || *rt.reannounce_at < *next)) next = rt.reannounce_at;
    timer.expires_at(next ? *next : Clock::time_point::max());
  }

  asio::awaitable<void> run_timer() {
    for (;;) {
      auto [ec] = co_await timer.async_wait(as_tuple(asio::use_awaitable));
      if (ec != asio::error::operation_aborted) after_event(Clock::now());  // aborted: re-armed by an event
    }
  }

  asio::awaitable<void> run_signals() {
    for (;;) {
      auto [ec, sig] = co_await signals.async_wait(as_tuple(asio::use_awaitable));
      if (ec) throw std::system_error(ec, "signal wait");
      const auto now = Clock::now();
      if (sig == SIGHUP) {
        log::info("sighup_ignored", {{"hint", "restart kha vip to apply a new config"}});
        after_event(now);
        continue;
      }
      log::info("vrrp_stop", {{"state", std::string(state_name(rt.instance.state()))}});
      rt.execute(rt.instance.shutdown(now), now);
      publish();
      io.stop();
      co_return;
    }
  }

  asio::awaitable<void> run_packets() {
    Watched socket(io, rt.socket.fd());
    for (;;) {
      const auto now = Clock::now();
      const bool drained = rt.receive(now);
      after_event(now);
      if (!drained) {  // a flood: let the other inputs in before reading on
        co_await asio::post(io, asio::use_awaitable);
        continue;
      }
      if (auto [ec] = co_await socket.readable(); ec) throw std::system_error(ec, "wait for VRRP packets");
    }
  }

  asio::awaitable<void> run_link() {
    Watched watched(io, link.fd());
    for (;;) {  // reads first: notifications may have queued since the monitor opened
      const auto now = Clock::now();
      if (std::optional<bool> up = link.read(rt.ifindex); up && *up != link_up) {  // reads down to EAGAIN
        link_up = *up;
        log::event(link_up ? spdlog::level::info : spdlog::level::warn, link_up ? "link_up" : "link_down",
                   {{"interface", config.interface}});
        rt.execute(rt.instance.set_link_up(now, link_up), now);
      }
      after_event(now);
      if (auto [ec] = co_await watched.readable(); ec) throw std::system_error(ec, "wait for link notifications");
    }
  }

  void on_track_change(bool ok) {
    const auto now = Clock::now();
    log::event(ok ? spdlog::level::info : spdlog::level::warn, ok ? "track_recovered" : "track_failed",
               {{"url", config.track->url}, {"why", ok ? "" : tracker->last_failure()}});
    rt.execute(rt.instance.set_tracked_healthy(now, ok), now);
    after_event(now);
  }

  // Logs a coroutine that failed (log::CoroutineEnd) and stops the speaker with exit 1: a
  // speaker deaf to one of its inputs must not go on holding or claiming the address.
  auto fail_on_end(const char* task) {
    return [this, task](std::exception_ptr failure) {
      log::CoroutineEnd{task}(failure);
      if (!failure) return;
      try {
        std::rethrow_exception(failure);
      } catch (const std::exception& e) {
        *error = std::string(task) + ": " + e.what();
      } catch (...) {
        *error = std::string(task) + ": unknown error";
      }
      result = 1;
      io.stop();
    };
  }

  void start() {
    rearm();
    asio::co_spawn(io, run_signals(), fail_on_end("vrrp_signals"));
    asio::co_spawn(io, run_timer(), fail_on_end("vrrp_timer"));
    asio::co_spawn(io, run_packets(), fail_on_end("vrrp_receive"));
    if (link.fd() >= 0) asio::co_spawn(io, run_link(), fail_on_end("vrrp_link"));
    if (tracker) asio::co_spawn(io, tracker->run([this](bool ok) { on_track_change(ok); }), fail_on_end("vrrp_track"));
  }
};

}  // namespace

Status Speaker::status() const {
  std::lock_guard lock(mutex_);
  return status_;
}

int Speaker::run(std::string* error) {
  if (std::string missing = missing_capabilities(); !missing.empty()) {
    *error = "needs CAP_NET_ADMIN (to add and remove the virtual address) and CAP_NET_RAW (raw VRRP and ARP "
             "sockets); missing: " + missing + ". Run as root or grant them (systemd: AmbientCapabilities=CAP_NET_ADMIN CAP_NET_RAW)";
    return 1;
  }
  InstanceConfig ic;
  ic.vrid = static_cast<std::uint8_t>(config_.vrid);
  ic.priority = static_cast<std::uint8_t>(config_.priority);
  ic.advert_interval = config_.advert_interval;
  ic.preempt = config_.preempt;
  ic.preempt_delay = config_.preempt_delay;
  ic.track_weight = config_.track ? config_.track->weight : 0;
  auto update = [this](const std::function<void(Status&)>& f) {
    std::lock_guard lock(mutex_);
    f(status_);
  };
  Runtime rt{config_, update, Instance(ic), 0, {}, {}, {}, {}, {}, {}, false};
  if (std::string why = open_runtime(rt, ic); !why.empty()) {
    *error = why;
    return 1;
  }
  // Everything below runs on this thread, on io. Declared after what its coroutines use
  // (rt, the tracker, the link socket), it goes first; they never run after run() returns.
  std::optional<TrackChecker> tracker;
  LinkMonitor link;
  asio::io_context io;
  State shown = State::Initialize;
  const Instance& in = rt.instance;
  // Signals are caught from here on: one that arrives during the first probe is handled after it.
  Loop loop{io, rt, config_, link, [&] {
    if (in.state() != shown) {
      log::info("vrrp_state", {{"from", std::string(state_name(shown))}, {"to", std::string(state_name(in.state()))},
                               {"reason", std::string(in.last_reason())}, {"priority", std::to_string(in.priority())},
                               {"master", in.master_address() ? in.master_address()->to_string() : ""}});
      shown = in.state();
    }
    update([&](Status& s) {
      s.state = in.state();
      s.priority = in.priority();
      s.transitions = in.transitions();
      s.last_reason = std::string(in.last_reason());
      s.master = in.master_address() ? in.master_address()->to_string() : "";
      s.tracked_healthy = in.tracked_healthy();
      s.master_down_interval_seconds = std::chrono::duration<double>(in.master_down_interval()).count();
    });
  }, error};
  {
    std::lock_guard lock(mutex_);
    status_.interface = config_.interface;
    status_.vrid = config_.vrid;
    status_.family = config_.family() == Family::V4 ? "ipv4" : "ipv6";
    status_.base_priority = config_.priority;
    status_.tracking = config_.track.has_value();
    for (const auto& p : config_.addresses) status_.addresses.push_back(p.to_string());
  }
  if (config_.track) {
    // The first probe, alone on the loop (run() returns when it is done).
    loop.tracker = &tracker.emplace(*config_.track);
    asio::co_spawn(io, tracker->first_probe(), log::CoroutineEnd{"vrrp_track_first_probe"});
    io.run();
    io.restart();
    rt.instance.set_tracked_healthy(Clock::now(), tracker->healthy());
    if (!tracker->healthy()) log::warn("track_failing", {{"url", config_.track->url}, {"why", tracker->last_failure()}});
  }
  loop.link_up = link_running(config_.interface);
  if (!loop.link_up) {
    rt.instance.set_link_up(Clock::now(), false);
    log::warn("link_down", {{"interface", config_.interface}});
  }
  // The shared admin server (src/admin) on the same loop: its handlers only copy the status.
  std::unique_ptr<admin::AdminServer> admin;
  if (!config_.admin.empty()) {
    auto hp = parse_host_port(config_.admin);
    std::vector<admin::Route> routes = {
        {"GET", "/metrics",
         [this](const admin::HttpRequest&) {
           return admin::HttpResponse{200, admin::Registry::kContentType,
                                      render_prometheus(status()) +
                                          admin::render_process_metrics(admin::read_process_stats())};
         }},
        {"GET", "/status",
         [this](const admin::HttpRequest&) { return admin::HttpResponse{200, "application/json", render_json(status())}; }},
        {"GET", "/healthz", [](const admin::HttpRequest&) { return admin::text_response(200, "ok"); }},
    };
    admin = std::make_unique<admin::AdminServer>(io, *hp, std::move(routes));
    if (std::error_code ec = admin->start()) {
      *error = "cannot listen on admin address " + config_.admin + ": " + ec.message();
      return 1;
    }
  }
  log::info("vrrp_start", {{"interface", config_.interface}, {"vrid", std::to_string(config_.vrid)},
                           {"priority", std::to_string(config_.priority)}, {"source", rt.source.to_string()},
                           {"mode", config_.peers.empty() ? "multicast" : "unicast"},
                           {"admin", admin ? admin->local_address().to_string() : ""}});
  rt.execute(rt.instance.start(Clock::now()), Clock::now());
  loop.publish();
  loop.start();
  io.run();
  return loop.result;
}

}  // namespace kha::vip
