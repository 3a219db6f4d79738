// FrontendOwner's discovery input: the learned sets and errors become a desired frontend.
#include <algorithm>

#include "common/log.h"
#include "config/validate.h"
#include "daemon/frontend_owner.h"
#include "daemon/listen_socket.h"

namespace kha::daemon {

config::Frontend FrontendOwner::with_backends(const std::vector<HostPort>& set) const {
  config::Frontend f = from_file_;
  f.backends.clear();
  for (const auto& hp : set) {
    config::Backend b{hp.to_string(), hp.to_string()};
    for (const auto& s : from_file_.backends)
      if (auto a = parse_host_port(s.address); a && a->host == hp.host && a->port == hp.port)
        b.name = s.name.empty() ? s.address : s.name;
    f.backends.push_back(std::move(b));
  }
  return f;
}

// Discovery connects to the frontend's own first listen address (loopback for a
// wildcard), so the list and watch reach whichever apiserver kha considers up.
std::string FrontendOwner::start_discovery(const config::Frontend& f) {
  if (f.discovery.kubeconfig.empty()) return {};
  auto kc = load_kubeconfig(f.discovery.kubeconfig);
  if (!kc) return "frontend " + name_ + ": discovery.kubeconfig: " + kc.errors().front().to_string();
  const auto it = f.listen.empty() ? listeners_.end() : listeners_.find(config::normalise_address(f.listen.front()));
  if (it == listeners_.end() || it->second.endpoints.empty())
    return "frontend " + name_ + ": discovery: no listener to connect to";
  auto e = it->second.endpoints.front();
  if (e.address().is_unspecified())
    e.address(e.address().is_v6() ? asio::ip::address(asio::ip::address_v6::loopback())
                                  : asio::ip::address(asio::ip::address_v4::loopback()));
  // Weak: a discovery callback may run after a reload removed the frontend.
  std::weak_ptr<FrontendOwner> self = weak_from_this();
  discovery_ = std::make_unique<Discovery>(
      context_.main, name_, HostPort{e.address().to_string(), e.port()}, f.discovery, std::move(kc).value(),
      [self](const std::vector<HostPort>& set) {
        if (auto owner = self.lock()) owner->on_discovered(set);
      },
      [self](const std::string& error) {
        if (auto owner = self.lock()) owner->on_discovery_error(error);
      });
  discovery_->start();
  log::info("discovery_started", {{"frontend", name_}, {"kubeconfig", f.discovery.kubeconfig},
                                  {"through", endpoint_text(e)}});
  return {};
}

void FrontendOwner::stop_discovery() {
  if (discovery_) discovery_->stop();
  discovery_.reset();
}

void FrontendOwner::on_discovered(const std::vector<HostPort>& set) {
  if (context_.stopping || !runtime_) return;
  if (set.empty()) {  // never drop to zero: an empty list is a broken API, not a cluster without apiservers
    log::warn("discovery_empty", {{"frontend", name_}, {"action", "kept the current backends"}});
    return;
  }
  const auto same = [&](const std::vector<HostPort>& a) {
    return a.size() == set.size() && std::equal(a.begin(), a.end(), set.begin(), [](const auto& x, const auto& y) {
             return x.host == y.host && x.port == y.port;
           });
  };
  const bool changed = !learned_ || !same(*learned_);
  // Unchanged, unless the fallback added the static backends back meanwhile.
  if (!changed && runtime_->backends().snapshot()->size() == set.size()) return;
  learned_ = set;
  const auto next = with_backends(set);
  std::string names;
  for (const auto& b : next.backends) names += (names.empty() ? "" : ",") + b.address;
  if (auto e = apply(next, "discovery"); !e.empty()) log::error("discovery_apply_failed", {{"frontend", name_}, {"error", e}});
  log::info("discovery_backends", {{"frontend", name_}, {"backends", names}});
  if (const auto& file = from_file_.discovery.state_file; !file.empty() && changed)
    if (auto e = save_state(file, name_, set); !e.empty())
      log::error("discovery_state_write_failed", {{"frontend", name_}, {"error", e}});
}

// The API is unreachable: keep what we know; if none of it is up any more, add the
// static backends back (the fallback) so that discovery itself can get through again.
void FrontendOwner::on_discovery_error(const std::string& why) {
  log::warn("discovery_failed", {{"frontend", name_}, {"error", why}, {"action", "kept the current backends"}});
  if (context_.stopping || !runtime_) return;
  const auto list = runtime_->backends().snapshot();
  if (std::any_of(list->begin(), list->end(), [](const auto& b) { return b->up(); })) return;
  config::Frontend next = from_file_;
  for (const auto& b : *list)
    if (std::none_of(next.backends.begin(), next.backends.end(), [&](const auto& s) {
          auto a = parse_host_port(s.address);
          return a && a->host == b->address().host && a->port == b->address().port;
        }))
      next.backends.push_back({b->name(), b->address().to_string()});
  if (next.backends.size() == list->size()) return;  // the static ones are there already
  log::warn("discovery_fallback", {{"frontend", name_}, {"action", "added the static backends back"}});
  (void)apply(next, "discovery-fallback");
}

}  // namespace kha::daemon
