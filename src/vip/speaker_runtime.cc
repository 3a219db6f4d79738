// Runtime: opening the speaker's sockets (stale address removal included) and carrying out the Instance's Actions.
#include "vip/speaker_runtime.h"

#include <linux/capability.h>
#include <net/if.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <vector>

#include "common/log.h"
#include "vip/speaker.h"

namespace kha::vip {
namespace {

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

std::string explain(const std::error_code& ec, const std::string& what, const char* capability) {
  std::string out = "cannot " + what + ": " + ec.message();
  if (ec == std::errc::operation_not_permitted || ec == std::errc::permission_denied)
    out += std::string(" (needs ") + capability + ": run as root or grant CAP_NET_ADMIN and CAP_NET_RAW)";
  return out;
}

std::string missing_capabilities() {
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2] = {};
  if (::syscall(SYS_capget, &header, data) != 0) return "";
  std::string missing;
  for (auto [bit, name] : {std::pair{CAP_NET_ADMIN, "CAP_NET_ADMIN"}, std::pair{CAP_NET_RAW, "CAP_NET_RAW"}})
    if (!(data[0].effective & (1u << bit))) missing += missing.empty() ? name : std::string(" and ") + name;
  return missing;
}

std::string open_runtime(Runtime& rt, InstanceConfig ic) {
  const VipConfig& config = rt.config;
  rt.ifindex = static_cast<int>(::if_nametoindex(config.interface.c_str()));
  if (rt.ifindex == 0) return "interface " + config.interface + " not found";
  if (rt.netlink.open_error()) return explain(rt.netlink.open_error(), "open rtnetlink", "CAP_NET_ADMIN");
  if (config.source) rt.source = *config.source;
  else if (std::string why = find_source(rt.netlink, rt.ifindex, config, &rt.source); !why.empty())
    return why;
  ic.primary = rt.source;
  rt.instance = Instance(ic);
  // A crashed instance leaves its addresses behind; a backup must not hold them.
  std::vector<Prefix> present;
  rt.netlink.list(rt.ifindex, config.family(), &present);
  for (const auto& p : config.addresses)
    if (std::any_of(present.begin(), present.end(), [&](const Prefix& q) { return q.address == p.address; })) {
      if (std::error_code ec = rt.netlink.remove(rt.ifindex, p))
        return explain(ec, "remove the stale address " + p.to_string(), "CAP_NET_ADMIN");
      log::info("vip_stale_removed", {{"address", p.to_string()}, {"interface", config.interface}});
    }
  std::string what;
  if (std::error_code ec = rt.socket.open(config.interface, rt.ifindex, rt.source, config.peers, &what))
    return explain(ec, what, "CAP_NET_RAW");
  if (std::error_code ec = rt.announcer.open(config.interface, rt.ifindex, config.family(), &what))
    return explain(ec, what, "CAP_NET_RAW");
  return "";
}

void Runtime::execute(const Actions& actions, Clock::time_point now) {
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

void Runtime::send_advert(std::uint8_t priority) {
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

void Runtime::change_addresses(bool add) {
  for (const auto& p : config.addresses) {
    std::error_code ec = add ? netlink.add(ifindex, p) : netlink.remove(ifindex, p);
    if (ec)
      log::error(add ? "vip_add_failed" : "vip_remove_failed",
                 {{"address", p.to_string()}, {"error", explain(ec, "change an address", "CAP_NET_ADMIN")}});
    else
      log::info(add ? "vip_added" : "vip_removed", {{"address", p.to_string()}, {"interface", config.interface}});
  }
}

void Runtime::announce() {
  for (const auto& p : config.addresses)
    if (std::error_code ec = announcer.announce(p.address)) {
      update([](Status& s) { ++s.send_errors; });
      log::debug("announce_failed", {{"address", p.address.to_string()}, {"error", ec.message()}});
    }
}

bool Runtime::receive(Clock::time_point now) {
  for (int budget = 0; budget < 64; ++budget) {
    std::optional<Decoded> d = socket.receive(static_cast<std::uint8_t>(config.vrid));
    if (!d) return true;
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
  return false;
}

void Runtime::check_addresses(const Decoded& d) {
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

}  // namespace kha::vip
