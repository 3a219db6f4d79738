// Speaker::run(): opens the sockets, then the poll() loop that feeds Instance and carries out its Actions.
#include "vip/speaker.h"

#include <linux/capability.h>
#include <net/if.h>
#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <optional>
#include <thread>

#include "admin/admin_server.h"
#include "admin/metrics.h"
#include "admin/process_metrics.h"
#include "common/address.h"
#include "common/log.h"
#include "vip/announcer.h"
#include "vip/instance.h"
#include "vip/netlink.h"
#include "vip/track_checker.h"
#include "vip/vrrp_socket.h"

namespace kha::vip {
namespace {

using Clock = std::chrono::steady_clock;

std::string explain(const std::error_code& ec, const std::string& what, const char* capability) {
  std::string out = "cannot " + what + ": " + ec.message();
  if (ec == std::errc::operation_not_permitted || ec == std::errc::permission_denied)
    out += std::string(" (needs ") + capability + ": run as root or grant CAP_NET_ADMIN and CAP_NET_RAW)";
  return out;
}

// Everything one run owns; lives on Speaker::run's stack.
struct Runtime {
  const VipConfig& config;
  std::function<void(const std::function<void(Status&)>&)> update;  // edits the shared status
  Instance instance;
  int ifindex = 0;
  IpAddress source;
  Rtnetlink netlink;
  VrrpSocket socket;
  Announcer announcer;
  std::unique_ptr<TrackChecker> tracker;
  std::optional<Clock::time_point> reannounce_at;
  std::array<bool, std::size(kAllDropReasons)> drop_logged{};
  bool address_mismatch_logged = false;

  void execute(const Actions& actions, Clock::time_point now) {
    for (const Action& a : actions) {
      switch (a.kind) {
        case ActionKind::SendAdvert: send_advert(a.priority); break;
        case ActionKind::AddAddresses: change_addresses(true); break;
        case ActionKind::RemoveAddresses: change_addresses(false); break;
        case ActionKind::Announce:
          announce();
          reannounce_at = now + std::chrono::seconds(1);
          break;
      }
    }
  }

  void send_advert(std::uint8_t priority) {
    Advert adv{static_cast<std::uint8_t>(config.vrid), priority,
               static_cast<std::uint16_t>(config.advert_interval.count() / 10), {}};
    for (const auto& p : config.addresses) adv.addresses.push_back(p.address);
    std::error_code ec;
    int sent = socket.send(adv, &ec);
    update([&](Status& s) {
      s.adverts_sent += static_cast<std::uint64_t>(sent);
      if (ec) ++s.send_errors;
    });
    if (ec) log::debug("vrrp_send_failed", {{"error", ec.message()}});
  }

  void change_addresses(bool add) {
    for (const auto& p : config.addresses) {
      std::error_code ec = add ? netlink.add(ifindex, p) : netlink.remove(ifindex, p);
      if (ec)
        log::error(add ? "vip_add_failed" : "vip_remove_failed",
                   {{"address", p.to_string()}, {"error", explain(ec, "change an address", "CAP_NET_ADMIN")}});
      else
        log::info(add ? "vip_added" : "vip_removed", {{"address", p.to_string()}, {"interface", config.interface}});
    }
  }

  void announce() {
    for (const auto& p : config.addresses)
      if (std::error_code ec = announcer.announce(p.address)) {
        update([](Status& s) { ++s.send_errors; });
        log::debug("announce_failed", {{"address", p.address.to_string()}, {"error", ec.message()}});
      }
  }

  void receive(Clock::time_point now) {
    for (int budget = 0; budget < 64; ++budget) {
      std::optional<Decoded> d = socket.receive(static_cast<std::uint8_t>(config.vrid));
      if (!d) return;
      if (d->meta.source == source) continue;  // our own, looped back
      if (d->reason == DropReason::None) d->reason = unicast_source_check(config.peers, d->meta.source);
      if (d->reason != DropReason::None) {
        update([&](Status& s) { s.count_drop(d->reason); });
        for (std::size_t i = 0; i < std::size(kAllDropReasons); ++i)
          if (kAllDropReasons[i] == d->reason && !drop_logged[i]) {
            drop_logged[i] = true;  // once per reason: a noisy link must not flood the log
            log::warn("vrrp_packet_dropped", {{"reason", std::string(drop_reason_name(d->reason))},
                                              {"from", d->meta.source.to_string()},
                                              {"vrid", std::to_string(d->advert.vrid)}});
          }
        continue;
      }
      update([](Status& s) { ++s.adverts_received; });
      check_addresses(*d);
      execute(instance.on_advert(now, d->advert, d->meta.source), now);
    }
  }

  void check_addresses(const Decoded& d) {
    if (address_mismatch_logged || d.advert.priority == 0) return;
    std::vector<IpAddress> ours;
    for (const auto& p : config.addresses) ours.push_back(p.address);
    std::vector<IpAddress> theirs = d.advert.addresses;
    std::sort(ours.begin(), ours.end());
    std::sort(theirs.begin(), theirs.end());
    if (ours == theirs) return;
    address_mismatch_logged = true;
    log::warn("vrrp_address_mismatch", {{"from", d.meta.source.to_string()}, {"hint", "peers announce other addresses for this vrid"}});
  }
};

// Owns the admin io_context thread: stops and joins it before the server is destroyed.
struct AdminThread {
  asio::io_context io;
  std::unique_ptr<admin::AdminServer> server;
  std::thread thread;
  ~AdminThread() {
    io.stop();
    if (thread.joinable()) thread.join();
    server.reset();
  }
};

std::string find_source(Rtnetlink& nl, int ifindex, const VipConfig& c, IpAddress* out) {
  std::vector<Prefix> have;
  if (std::error_code ec = nl.list(ifindex, c.family(), &have)) return explain(ec, "list addresses", "CAP_NET_ADMIN");
  for (const auto& p : have) {
    bool virt = std::any_of(c.addresses.begin(), c.addresses.end(), [&](const Prefix& v) { return v.address == p.address; });
    if (virt) continue;
    if (c.family() == Family::V6 && !p.address.is_ipv6_link_local()) continue;
    *out = p.address;
    return "";
  }
  return std::string("interface ") + c.interface + " has no " + (c.family() == Family::V4 ? "IPv4" : "link-local IPv6") +
         " address to send adverts from (set vip.source / --source)";
}

}  // namespace

std::string missing_capabilities() {
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2] = {};
  if (::syscall(SYS_capget, &header, data) != 0) return "";
  std::string missing;
  for (auto [bit, name] : {std::pair{CAP_NET_ADMIN, "CAP_NET_ADMIN"}, std::pair{CAP_NET_RAW, "CAP_NET_RAW"}})
    if (!(data[0].effective & (1u << bit))) missing += missing.empty() ? name : std::string(" and ") + name;
  return missing;
}

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
  Runtime rt{config_, update, Instance(ic), 0, {}, {}, {}, {}, {}, {}, {}, false};
  rt.ifindex = static_cast<int>(::if_nametoindex(config_.interface.c_str()));
  if (rt.ifindex == 0) {
    *error = "interface " + config_.interface + " not found";
    return 1;
  }
  if (rt.netlink.open_error()) {
    *error = explain(rt.netlink.open_error(), "open rtnetlink", "CAP_NET_ADMIN");
    return 1;
  }
  if (config_.source) rt.source = *config_.source;
  else if (std::string why = find_source(rt.netlink, rt.ifindex, config_, &rt.source); !why.empty()) {
    *error = why;
    return 1;
  }
  ic.primary = rt.source;
  rt.instance = Instance(ic);
  // A crashed instance leaves its addresses behind; a backup must not hold them.
  std::vector<Prefix> present;
  rt.netlink.list(rt.ifindex, config_.family(), &present);
  for (const auto& p : config_.addresses)
    if (std::any_of(present.begin(), present.end(), [&](const Prefix& q) { return q.address == p.address; })) {
      if (std::error_code ec = rt.netlink.remove(rt.ifindex, p)) {
        *error = explain(ec, "remove the stale address " + p.to_string(), "CAP_NET_ADMIN");
        return 1;
      }
      log::info("vip_stale_removed", {{"address", p.to_string()}, {"interface", config_.interface}});
    }
  std::string what;
  if (std::error_code ec = rt.socket.open(config_.interface, rt.ifindex, rt.source, config_.peers, &what)) {
    *error = explain(ec, what, "CAP_NET_RAW");
    return 1;
  }
  if (std::error_code ec = rt.announcer.open(config_.interface, rt.ifindex, config_.family(), &what)) {
    *error = explain(ec, what, "CAP_NET_RAW");
    return 1;
  }
  // Signals go to the loop through a signalfd; block them before any thread starts.
  sigset_t mask;
  sigemptyset(&mask);
  for (int sig : {SIGTERM, SIGINT, SIGHUP}) sigaddset(&mask, sig);
  pthread_sigmask(SIG_BLOCK, &mask, nullptr);
  int sig_fd = ::signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
  if (sig_fd < 0) {
    *error = std::string("signalfd: ") + std::strerror(errno);
    return 1;
  }
  std::unique_ptr<int, void (*)(int*)> sig_guard(&sig_fd, [](int* fd) { ::close(*fd); });
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
    rt.tracker = std::make_unique<TrackChecker>(*config_.track);
    if (!rt.tracker->start()) {
      *error = std::string("eventfd: ") + std::strerror(errno);
      return 1;
    }
    rt.instance.set_tracked_healthy(Clock::now(), rt.tracker->healthy());
    if (!rt.tracker->healthy()) log::warn("track_failing", {{"url", config_.track->url}, {"why", rt.tracker->last_failure()}});
  }
  LinkMonitor link;
  bool link_up = link_running(config_.interface);
  if (!link_up) {
    rt.instance.set_link_up(Clock::now(), false);
    log::warn("link_down", {{"interface", config_.interface}});
  }
  // The shared admin server (src/admin) on its own io_context thread; handlers only copy
  // the status under the mutex, so they never block the VRRP loop or each other for long.
  AdminThread admin;
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
    admin.server = std::make_unique<admin::AdminServer>(admin.io, *hp, std::move(routes));
    if (std::error_code ec = admin.server->start()) {
      *error = "cannot listen on admin address " + config_.admin + ": " + ec.message();
      return 1;
    }
    admin.thread = std::thread([&admin] { admin.io.run(); });
  }
  log::info("vrrp_start", {{"interface", config_.interface}, {"vrid", std::to_string(config_.vrid)},
                           {"priority", std::to_string(config_.priority)}, {"source", rt.source.to_string()},
                           {"mode", config_.peers.empty() ? "multicast" : "unicast"},
                           {"admin", admin.server ? admin.server->local_address().to_string() : ""}});
  State shown = State::Initialize;
  auto publish = [&] {
    const Instance& in = rt.instance;
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
  };
  rt.execute(rt.instance.start(Clock::now()), Clock::now());
  publish();
  for (;;) {
    auto now = Clock::now();
    std::optional<Clock::time_point> next = rt.instance.deadline();
    if (rt.reannounce_at && (!next || *rt.reannounce_at < *next)) next = rt.reannounce_at;
    int timeout = -1;
    if (next) {
      auto us = std::chrono::duration_cast<std::chrono::microseconds>(*next - now).count();
      timeout = us <= 0 ? 0 : static_cast<int>((us + 999) / 1000);
    }
    pollfd fds[4] = {{rt.socket.fd(), POLLIN, 0},
                     {sig_fd, POLLIN, 0},
                     {rt.tracker ? rt.tracker->fd() : -1, POLLIN, 0},
                     {link.fd(), POLLIN, 0}};
    int rc = ::poll(fds, 4, timeout);
    if (rc < 0 && errno != EINTR) {
      *error = std::string("poll: ") + std::strerror(errno);
      return 1;
    }
    now = Clock::now();
    if (fds[1].revents & POLLIN) {
      signalfd_siginfo si;
      bool stop = false;
      while (::read(sig_fd, &si, sizeof si) == sizeof si) {
        if (si.ssi_signo == SIGHUP) log::info("sighup_ignored", {{"hint", "restart kha vip to apply a new config"}});
        else stop = true;
      }
      if (stop) {
        log::info("vrrp_stop", {{"state", std::string(state_name(rt.instance.state()))}});
        rt.execute(rt.instance.shutdown(now), now);
        publish();
        return 0;
      }
    }
    if (fds[2].revents & POLLIN) {
      rt.tracker->drain();
      bool ok = rt.tracker->healthy();
      log::event(ok ? spdlog::level::info : spdlog::level::warn, ok ? "track_recovered" : "track_failed",
                 {{"url", config_.track->url}, {"why", ok ? "" : rt.tracker->last_failure()}});
      rt.execute(rt.instance.set_tracked_healthy(now, ok), now);
    }
    if (fds[3].revents & POLLIN)
      if (std::optional<bool> up = link.read(rt.ifindex); up && *up != link_up) {
        link_up = *up;
        log::event(link_up ? spdlog::level::info : spdlog::level::warn, link_up ? "link_up" : "link_down",
                   {{"interface", config_.interface}});
        rt.execute(rt.instance.set_link_up(now, link_up), now);
      }
    if (fds[0].revents & POLLIN) rt.receive(now);
    if (rt.instance.deadline() && now >= *rt.instance.deadline()) rt.execute(rt.instance.on_timer(now), now);
    if (rt.reannounce_at && now >= *rt.reannounce_at) {
      rt.reannounce_at.reset();
      if (rt.instance.state() == State::Master) rt.announce();
    }
    publish();
  }
}

}  // namespace kha::vip
