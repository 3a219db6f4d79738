// diff(old, new): what a reload changes. Pure; the daemon decides what to do with it
// (open/close listeners, reconcile pools keeping health, drain removed backends).
// Frontends are matched by name, backends by name within their frontend, listeners by
// normalised address ("[::1]:6443").
#pragma once

#include <string>
#include <vector>

#include "config/schema.h"

namespace kha::config {

struct FrontendDiff {
  std::string name;
  std::vector<std::string> listeners_added;    // addresses, in the new file's order
  std::vector<std::string> listeners_removed;  // addresses, in the old file's order
  std::vector<std::string> backends_added;     // names, in the new file's order
  std::vector<std::string> backends_removed;   // names, in the old file's order
  std::vector<std::string> backends_changed;   // names whose address changed
  std::vector<std::string> settings_changed;   // keys relative to the frontend: "balance", "health.interval"
  // What the changed keys touch, so that the frontend's owner rebuilds only that
  // (daemon/frontend_owner.h):
  bool checks_changed = false;     // health.*, close_sessions_on_down: restart the checkers, no session touched
  bool discovery_changed = false;  // discovery.*: restart the discovery
  bool data_path_changed = false;  // balance, timeouts, hedge, ...: read by the next session from the snapshot
  bool listeners_touched() const { return !listeners_added.empty() || !listeners_removed.empty(); }
  bool backends_touched() const {
    return !backends_added.empty() || !backends_removed.empty() || !backends_changed.empty();
  }
  bool empty() const;
};

struct ConfigDiff {
  std::vector<std::string> frontends_added;    // names
  std::vector<std::string> frontends_removed;  // names
  std::vector<FrontendDiff> frontends_changed;  // only frontends in both with a difference, new order
  std::vector<std::string> settings_changed;   // top-level keys: "workers", "admin.listen", ...
  bool empty() const;
  // One line for the reload log, e.g.
  // "frontends +etcd -old; apiserver: listeners +[::1]:6443, backends +cp4 -cp1 ~cp2, settings health.interval"
  // or "no changes".
  std::string summary() const;
};

ConfigDiff diff(const Config& old_config, const Config& new_config);
// One frontend against its next version (reload, discovery, takeover all go through it).
FrontendDiff diff(const Frontend& old_frontend, const Frontend& new_frontend);

}  // namespace kha::config
