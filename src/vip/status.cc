// Status: drop counting and the Prometheus (/metrics) and JSON (/status, `kha vip status`) renderings.
#include "vip/status.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "common/json_text.h"

namespace kha::vip {

void Status::count_drop(DropReason reason) {
  for (std::size_t i = 0; i < std::size(kAllDropReasons); ++i)
    if (kAllDropReasons[i] == reason) ++dropped[i];
}

std::uint64_t Status::dropped_total() const {
  std::uint64_t n = 0;
  for (auto v : dropped) n += v;
  return n;
}

std::string render_prometheus(const Status& s) {
  std::string labels = fmt::format("interface=\"{}\",vrid=\"{}\"", s.interface, s.vrid);
  std::string out;
  auto metric = [&](const char* name, const char* type, const char* help) {
    out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
  };
  metric("kha_vip_state", "gauge", "VRRP state of the instance: 1 for the current state.");
  for (State st : {State::Initialize, State::Backup, State::Master, State::Fault})
    out += fmt::format("kha_vip_state{{{},state=\"{}\"}} {}\n", labels, state_name(st), st == s.state ? 1 : 0);
  metric("kha_vip_priority", "gauge", "Effective VRRP priority (after tracking).");
  out += fmt::format("kha_vip_priority{{{}}} {}\n", labels, s.priority);
  metric("kha_vip_transitions_total", "counter", "VRRP state changes since start.");
  out += fmt::format("kha_vip_transitions_total{{{}}} {}\n", labels, s.transitions);
  metric("kha_vip_adverts_received_total", "counter", "Valid VRRP advertisements received for this VRID.");
  out += fmt::format("kha_vip_adverts_received_total{{{}}} {}\n", labels, s.adverts_received);
  metric("kha_vip_adverts_sent_total", "counter", "VRRP advertisements sent.");
  out += fmt::format("kha_vip_adverts_sent_total{{{}}} {}\n", labels, s.adverts_sent);
  metric("kha_vip_send_errors_total", "counter", "Advertisements or announcements the kernel refused to send.");
  out += fmt::format("kha_vip_send_errors_total{{{}}} {}\n", labels, s.send_errors);
  metric("kha_vip_adverts_dropped_total", "counter", "Received VRRP packets dropped, by reason.");
  for (std::size_t i = 0; i < std::size(kAllDropReasons); ++i)
    out += fmt::format("kha_vip_adverts_dropped_total{{{},reason=\"{}\"}} {}\n", labels,
                       drop_reason_name(kAllDropReasons[i]), s.dropped[i]);
  metric("kha_vip_tracked_healthy", "gauge", "1 while the tracked check passes (1 without tracking).");
  out += fmt::format("kha_vip_tracked_healthy{{{}}} {}\n", labels, s.tracked_healthy ? 1 : 0);
  metric("kha_vip_master_down_interval_seconds", "gauge", "Current Master_Down_Interval.");
  out += fmt::format("kha_vip_master_down_interval_seconds{{{}}} {:.6f}\n", labels, s.master_down_interval_seconds);
  return out;
}

std::string render_json(const Status& s) {
  nlohmann::json dropped = nlohmann::json::object();
  for (std::size_t i = 0; i < std::size(kAllDropReasons); ++i)
    dropped[std::string(drop_reason_name(kAllDropReasons[i]))] = s.dropped[i];
  nlohmann::json j = {
      {"interface", s.interface},
      {"vrid", s.vrid},
      {"family", s.family},
      {"state", state_name(s.state)},
      {"priority", s.priority},
      {"base_priority", s.base_priority},
      {"transitions", s.transitions},
      {"last_reason", s.last_reason},
      {"master", s.master},
      {"addresses", s.addresses},
      {"tracking", s.tracking},
      {"tracked_healthy", s.tracked_healthy},
      {"master_down_interval_seconds", s.master_down_interval_seconds},
      {"adverts_received", s.adverts_received},
      {"adverts_sent", s.adverts_sent},
      {"send_errors", s.send_errors},
      {"dropped", dropped},
  };
  return json_text(j) + "\n";
}

}  // namespace kha::vip
