// reconcile(current, desired): which backends of a frontend are kept, added and
// drained when its desired set changes (reload, discovery, takeover). Pure: no
// sockets, no clocks; the frontend's owner (daemon/frontend_owner.h) acts on it
// (go-loadbalancer's upstream.List.Reconcile).
//
// Identity is name AND address: a backend whose address changed is a new backend (the
// old one drains), so health and sessions are never carried over to another host.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <vector>

#include "common/address.h"

namespace kha::pool {

struct BackendKey {
  std::string name;
  HostPort address;
  bool operator==(const BackendKey& o) const {
    return name == o.name && address.host == o.address.host && address.port == o.address.port;
  }
};

struct Reconciled {
  static constexpr std::size_t kAdd = static_cast<std::size_t>(-1);
  // The next set, in the desired order, duplicates dropped (the first kept): for each,
  // the index in `desired` and the index in `current` it keeps, or kAdd for a new backend.
  struct Slot {
    std::size_t desired;
    std::size_t current;
  };
  std::vector<Slot> next;
  std::vector<std::size_t> drain;  // indexes in `current` no longer desired (or repeated), current order

  std::size_t added() const;
  std::size_t kept() const { return next.size() - added(); }
  bool changes_anything(std::size_t current_size) const;
};

Reconciled reconcile(std::span<const BackendKey> current, std::span<const BackendKey> desired);

}  // namespace kha::pool
