// UpstreamRace: picks the backend a new session is spliced to, hiding slow, dead
// and hung backends from the client.
//
//  - Connect hedging: if no connect has completed `connect_hedge` after the last
//    one started, another starts to the next backend; the first to complete is
//    used. A black-holed apiserver (SYNs unanswered) costs a client about the
//    hedge delay, not the connect timeout. A failed connect (refused, reset,
//    timeout) moves on to the next backend before the client sees anything.
//  - First-byte hedging (client-first protocols such as TLS): the client's first
//    bytes (up to `first_bytes_max`) are kept until a backend sends its first byte.
//    If none has answered `first_byte_hedge` after they were sent, the same bytes go
//    to another backend; the first backend to answer wins and the others are
//    closed. Safe because nothing from a loser ever reached the client. A hung
//    apiserver (its kernel completes the handshake, the process never answers)
//    costs a client about the hedge delay.
//  - Passive checks: a backend that refused, timed out, reset or closed before its
//    first byte, or stayed silent for the whole connect timeout, is reported at once.
//
// Everything here runs on the session's worker thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <asio.hpp>

#include "pool/backend.h"
#include "proxy/race_policy.h"

namespace kha::proxy {

struct RaceHooks {
  // Next backend to try, not one of `tried`; nullptr when none is left.
  std::function<pool::BackendPtr(const std::vector<const pool::Backend*>& tried)> pick;
  // A passive check failed for `backend` (called on the worker thread).
  std::function<void(const pool::BackendPtr& backend, const std::string& reason)> passive_failure;
};

struct RaceOutcome {
  std::optional<asio::ip::tcp::socket> upstream;  // set on success
  pool::BackendPtr backend;
  std::vector<char> reply;           // the winner's first bytes, not yet sent to the client
  std::vector<char> client_pending;  // client bytes not yet sent to the winner
  bool client_eof = false;           // the client closed its write side during the race
  int attempts = 0;
  std::string failure;               // why there is no upstream
};

asio::awaitable<RaceOutcome> race_upstream(asio::ip::tcp::socket& client, const RaceSettings& settings,
                                           const RaceHooks& hooks);

}  // namespace kha::proxy
