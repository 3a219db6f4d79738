// kha vip: holds a virtual IP among LB nodes with VRRPv3 (src/vip). Parses the `vip:`
// section of --config and/or flags (flags win), validates, then runs the speaker.
#include <iostream>
#include <map>
#include <optional>

#include "cli/commands.h"
#include "common/duration.h"
#include "common/log.h"
#include "vip/speaker.h"
#include "vip/vip_config.h"

namespace kha::cli {
namespace {

struct VipFlags {
  std::string config, interface, advert_interval, preempt_delay, source, track_url, track_interval, track_timeout,
      admin, log_format = "text";
  int vrid = 0, priority = 0, track_weight = 0, track_fall = 0, track_rise = 0;
  std::vector<std::string> addresses, peers;
  bool no_preempt = false, check = false;
};

// Key path -> the flag that sets it, so that flag errors name the flag.
const std::map<std::string, std::string> kFlagOf = {
    {"vip.interface", "--interface"},     {"vip.vrid", "--vrid"},
    {"vip.priority", "--priority"},       {"vip.advert_interval", "--advert-interval"},
    {"vip.preempt_delay", "--preempt-delay"}, {"vip.addresses", "--address"},
    {"vip.peers", "--peer"},              {"vip.source", "--source"},
    {"vip.track", "--track-url"},         {"vip.track.url", "--track-url"},
    {"vip.track.weight", "--track-weight"}, {"vip.track.interval", "--track-interval"},
    {"vip.track.timeout", "--track-timeout"}, {"vip.track.fall", "--track-fall"},
    {"vip.track.rise", "--track-rise"},   {"vip.admin", "--admin"}};

Diagnostics apply_flags(CLI::App* cmd, const VipFlags& f, vip::VipConfig* c) {
  Diagnostics errors;
  auto given = [&](const char* name) { return cmd->count(name) > 0; };
  auto bad = [&](const char* flag, std::string message) { errors.push_back({"", 0, 0, flag, std::move(message)}); };
  auto duration = [&](const char* flag, const std::string& text, std::chrono::milliseconds* out) {
    DurationProblem problem{};
    if (auto d = parse_duration(text, &problem)) *out = *d;
    else bad(flag, to_string(problem) + ", got \"" + text + "\"");
  };
  if (given("--interface")) c->interface = f.interface;
  if (given("--vrid")) c->vrid = f.vrid;
  if (given("--priority")) c->priority = f.priority;
  if (given("--advert-interval")) duration("--advert-interval", f.advert_interval, &c->advert_interval);
  if (given("--no-preempt")) c->preempt = false;
  if (given("--preempt-delay")) duration("--preempt-delay", f.preempt_delay, &c->preempt_delay);
  if (given("--address")) {
    c->addresses.clear();
    for (const auto& a : f.addresses) {
      std::string why;
      if (auto p = vip::parse_prefix(a, &why)) c->addresses.push_back(*p);
      else bad("--address", why);
    }
  }
  if (given("--peer")) {
    c->peers.clear();
    for (const auto& a : f.peers) {
      if (auto ip = vip::parse_ip(a)) c->peers.push_back(*ip);
      else bad("--peer", "expected an IP address, got \"" + a + "\"");
    }
  }
  if (given("--source")) {
    if (auto ip = vip::parse_ip(f.source)) c->source = *ip;
    else bad("--source", "expected an IP address, got \"" + f.source + "\"");
  }
  bool any_track = given("--track-url") || given("--track-weight") || given("--track-interval") ||
                   given("--track-timeout") || given("--track-fall") || given("--track-rise");
  if (any_track) {
    if (!c->track) c->track = vip::TrackConfig{};
    if (given("--track-url")) {
      if (std::string why = vip::parse_track_url(f.track_url, &*c->track); !why.empty()) bad("--track-url", why);
    } else if (c->track->url.empty()) {
      bad("--track-url", "required with the other --track-* flags: the local proxy's readiness URL");
    }
    if (given("--track-weight")) c->track->weight = f.track_weight;
    if (given("--track-interval")) duration("--track-interval", f.track_interval, &c->track->interval);
    if (given("--track-timeout")) duration("--track-timeout", f.track_timeout, &c->track->timeout);
    if (given("--track-fall")) c->track->fall = f.track_fall;
    if (given("--track-rise")) c->track->rise = f.track_rise;
  }
  if (given("--admin")) c->admin = f.admin;
  return errors;
}

}  // namespace

void add_vip_command(CLI::App& root, int* exit_code) {
  auto flags = std::make_shared<VipFlags>();
  auto* cmd = root.add_subcommand("vip", "Hold a virtual IP among LB nodes with VRRPv3 (interoperates with keepalived)");
  cmd->footer(
      "Needs CAP_NET_ADMIN and CAP_NET_RAW (or root). Reads the vip: section of --config; flags override it.\n"
      "Example: kha vip --interface eth0 --vrid 51 --priority 150 --address 10.0.0.100/24 \\\n"
      "           --track-url http://127.0.0.1:8081/readyz --track-weight 60 --admin 127.0.0.1:9099\n"
      "SIGTERM/SIGINT: graceful stop (priority 0, the address removed). Admin: /metrics, /status, /healthz.");
  cmd->add_option("--config", flags->config, "kha YAML file with a vip: section");
  cmd->add_option("--interface", flags->interface, "Interface the virtual router lives on");
  cmd->add_option("--vrid", flags->vrid, "Virtual router id, 1-255");
  cmd->add_option("--priority", flags->priority, "1-254 (default 100); 255 = address owner");
  cmd->add_option("--address", flags->addresses, "Virtual address ADDR[/LEN] (repeatable; one family)");
  cmd->add_option("--peer", flags->peers, "Unicast peer (repeatable); none = multicast");
  cmd->add_option("--source", flags->source, "Advert source address (default: the interface's primary / link-local)");
  cmd->add_option("--advert-interval", flags->advert_interval, "Advertisement interval (default 1s)");
  cmd->add_flag("--no-preempt", flags->no_preempt, "Do not take over from a lower-priority master");
  cmd->add_option("--preempt-delay", flags->preempt_delay, "No preemption until this long after start (default 0s)");
  cmd->add_option("--track-url", flags->track_url, "Local proxy readiness URL, e.g. http://127.0.0.1:8081/readyz");
  cmd->add_option("--track-weight", flags->track_weight, "Priority lost while it fails; 0 = give up mastership (default)");
  cmd->add_option("--track-interval", flags->track_interval, "Check interval (default 1s)");
  cmd->add_option("--track-timeout", flags->track_timeout, "Check timeout (default 1s)");
  cmd->add_option("--track-fall", flags->track_fall, "Failures before failing (default 2)");
  cmd->add_option("--track-rise", flags->track_rise, "Passes before healthy again (default 2)");
  cmd->add_option("--admin", flags->admin, "HOST:PORT for /metrics, /status and /healthz (default off)");
  cmd->add_option("--log-format", flags->log_format, "text | json");
  cmd->add_flag("--check", flags->check, "Validate the configuration and exit");
  cmd->callback([cmd, flags, exit_code] {
    log::Format format;
    if (!log::parse_format(flags->log_format, &format)) {
      std::cerr << "kha vip: --log-format: expected text or json, got \"" << flags->log_format << "\"\n";
      *exit_code = 2;
      return;
    }
    log::setup(format);
    vip::VipConfig config;
    if (!flags->config.empty()) {
      auto loaded = vip::load_vip_config(flags->config);
      if (!loaded.ok()) {
        std::cerr << format_diagnostics(loaded.errors());
        *exit_code = 2;
        return;
      }
      config = loaded.value();
    }
    Diagnostics errors = apply_flags(cmd, *flags, &config);
    for (auto& d : vip::validate(config, flags->config)) {
      if (flags->config.empty())
        if (auto it = kFlagOf.find(d.key); it != kFlagOf.end()) d.key = it->second;
      errors.push_back(d);
    }
    if (!errors.empty()) {
      std::cerr << format_diagnostics(errors);
      *exit_code = 2;
      return;
    }
    if (flags->check) {
      std::cout << "vip config ok: interface " << config.interface << ", vrid " << config.vrid << ", priority "
                << config.priority << ", " << config.addresses.size() << " address(es), "
                << (config.peers.empty() ? "multicast" : "unicast") << "\n";
      *exit_code = 0;
      return;
    }
    vip::Speaker speaker(config);
    std::string error;
    *exit_code = speaker.run(&error);
    if (*exit_code != 0) std::cerr << "kha vip: " << error << "\n";
  });
}

}  // namespace kha::cli
