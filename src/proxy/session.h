// Session: one client connection and, once the race picked it, one backend
// connection (Envoy's downstream and upstream legs). Lives in its worker's Hub.
//
// Phases:
//  1. Race (session_race.cc; its attempts: session_attempt.cc): picks the backend,
//     hiding slow, dead and hung ones from the client. The decisions are race_policy.h's (pure, unit tested); this
//     file does the I/O.
//     - Connect hedging: if no connect has completed `connect_hedge` after the last
//       one started, another starts to the next backend; the first to complete is
//       used. A black-holed apiserver (SYNs unanswered) costs a client about the
//       hedge delay, not the connect timeout. A failed connect (refused, reset,
//       timeout) moves on to the next backend before the client sees anything.
//     - First-byte hedging (client-first protocols such as TLS): the client's first
//       bytes (up to `first_bytes_max`) are kept until a backend sends its first
//       byte. If none has answered `first_byte_hedge` after they were sent, the same
//       bytes go to another backend; the first backend to answer wins and the others
//       are closed. Safe because nothing from a loser ever reached the client. A hung
//       apiserver (its kernel completes the handshake, the process never answers)
//       costs a client about the hedge delay.
//     - Passive checks: a backend that refused, timed out, reset or closed before its
//       first byte, or stayed silent for the whole connect timeout, is reported at once.
//  2. Relay (session_relay.cc): one direction ("leg") per socket pair, until both
//     legs end, an error, or SessionControl::close(). Each leg forwards half-close on
//     its own: EOF from one side becomes shutdown(SHUT_WR) on the other, and the other
//     leg goes on. A read or write error (a reset) ends both. The idle timeout is a
//     sweep per worker over the registry (Worker::sweep_idle).
// Both sockets keep one epoll registration from accept (or connect) to close.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <list>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <asio.hpp>

#include "config/schema.h"
#include "pool/backend.h"
#include "proxy/frontend_runtime.h"
#include "proxy/hub_target.h"
#include "proxy/leg_mode.h"
#include "proxy/pipe_pool.h"
#include "proxy/race_policy.h"
#include "proxy/session_registry.h"

namespace kha::proxy {

class Hub;
class Session;

// Per-worker resources that sessions borrow.
struct WorkerServices {
  // 256 KiB pipes: a splice moves up to four times the default 64 KiB per call (measured:
  // +5-15 % for one bulk stream). Pages are taken as bytes flow, not up front.
  PipePool pipes{16, 256 * 1024};
  SessionRegistry registry;
  bool splice = true;
  std::atomic<std::size_t> active{0};  // sessions from accept to close (read by other threads)
};

// The worker thread's buffer for one recv (kCopyChunk bytes), shared by every session.
char* relay_scratch();

// One connection attempt to one backend. Owned by its session's race; a loser that
// was sent client bytes is handed to the hub until its verdict (an orphan).
struct Attempt final : HubTarget {
  enum class State { Resolving, Connecting, Connected, Failed, Orphan, Retired };

  Attempt(Hub& hub, Session& session, pool::BackendPtr backend);
  ~Attempt() override;

  void on_event(std::uint32_t events, unsigned tag) override;
  void on_deadline() override;
  void close_socket();
  // Hands the socket over (the winner's goes to the relay).
  int take_socket();
  // Stops counting as a connect in flight to the backend (failed, orphaned or gone).
  void uncount();

  Hub& hub;
  Session* session;  // null once orphaned or retired
  pool::BackendPtr backend;
  int fd = -1;
  State state = State::Resolving;
  HubClock::time_point started = HubClock::now();
  std::optional<HubClock::time_point> first_sent;  // when client bytes were first written
  std::size_t sent = 0;                            // client bytes written to this backend
  bool shut_write = false;                         // the client's EOF was forwarded
  bool counted = true;                             // in backend->stats().connecting
  // An orphan's verdict: silence for the connect timeout is a passive failure.
  FrontendPtr frontend;
  std::chrono::milliseconds connect_timeout{0};
  std::list<std::unique_ptr<Attempt>>::iterator orphan_it;
  // A backend given by name is resolved off the worker thread; the token tells a late
  // answer that this attempt is gone. Its addresses are tried in turn (a name with an
  // IPv6 and an IPv4 address, one of them refused, still connects).
  std::vector<asio::ip::tcp::endpoint> addresses;
  std::size_t next_address = 0;
  std::shared_ptr<char> alive;  // made only for a name: no allocation for an address
};

class Session final : public HubTarget {
 public:
  // `deferred`: accepted from a listener with TCP_DEFER_ACCEPT (the first bytes are there).
  Session(Hub& hub, int client_fd, SessionSlot slot, FrontendPtr frontend, bool deferred);
  ~Session() override;

  // Registers the client and starts the first attempt. `settings`: the frontend's, as
  // read by the hub that accepted the client.
  void start(const config::Frontend& settings);
  void on_event(std::uint32_t events, unsigned tag) override;
  void on_deadline() override;

 private:
  friend class Hub;
  friend struct Attempt;

  // ---- race (session_race.cc; one upstream attempt each: session_attempt.cc)
  struct Race {
    RaceSettings settings;
    std::shared_ptr<const pool::BackendList> backends;
    std::vector<std::unique_ptr<Attempt>> attempts;
    std::vector<const pool::Backend*> tried;
    std::vector<char> client_bytes;  // the client's first bytes, kept for replay
    bool client_eof = false;
    bool client_error = false;
    bool client_drained = false;  // the last read emptied the socket
    bool can_start_more = true;
    bool can_hedge = true;   // false once the frontend's hedge budget refused one
    Replay replay = Replay::Pending;  // what client_bytes are (first_bytes.h): set as they grow
    int rejections = 0;      // backends that closed on the client's bytes (the client's doing)
    HubClock::time_point started = HubClock::now();
    std::vector<AttemptView> views;  // what decide() is shown, rebuilt at each step
  };
  void step();
  void start_attempt(Hedge hedge);
  void connect_attempt(Attempt& a, const asio::ip::tcp::endpoint& endpoint);
  void connected(Attempt& a);
  void on_attempt_event(Attempt& a, std::uint32_t events);
  void on_resolved(Attempt& a, const std::error_code& ec, std::vector<asio::ip::tcp::endpoint> addresses);
  // A connect failed with `err`: the name's next address if it has one, else the
  // attempt fails.
  void connect_failed(Attempt& a, int err);
  // `blame_backend`: a passive check failure (counted, reported to health); false for
  // local trouble such as running out of descriptors.
  void attempt_failed(Attempt& a, const std::string& reason, bool blame_backend = true);
  void send_client_bytes(Attempt& a);
  void read_client(std::uint32_t events);
  void read_answer(Attempt& a, std::uint32_t events);
  void race_failed(const std::string& reason);
  // The race is over: `winner` gets the client. `reply`/`reply_size`: its first bytes
  // (in the per-thread buffer), not yet sent to the client.
  void hand_over(Attempt& winner, const char* reply, std::size_t reply_size, bool upstream_closed);

  // ---- relay (session_relay.cc)
  // Leg i reads side i and writes side 1 - i (leg 0: client -> backend, leg 1:
  // backend -> client). Sides: 0 = client, 1 = upstream.
  enum class Step { WaitRead, WaitWrite, Eof, Error };
  struct Leg {
    int from = -1;
    int to = -1;
    std::atomic<std::uint64_t>* bytes = nullptr;
    LegMode mode = LegMode::Copy;
    bool done = false;
    bool blocked = false;          // waiting for `to` to take more
    bool peer_closed = false;      // epoll said the source shut down (EPOLLRDHUP): read to EOF
    bool reset = false;            // the source was reset (EPOLLERR): read what it had, then end
    Pipe pipe;                     // splice: held only while it has bytes to write
    std::size_t queued = 0;        // bytes in `pipe` not yet written
    std::unique_ptr<char[]> held;  // copy: bytes the destination could not take yet
    std::size_t held_from = 0, held_to = 0;
    std::size_t round = 0;  // bytes moved since the source last ran dry
  };
  void relay_event(std::uint32_t events, unsigned side);
  void run_leg(int i);
  void finish_leg(int i, Step step);
  Step move(Leg& leg);
  Step copy_round(Leg& leg);
  // Sends what one recv got; `last`: the source is at EOF after these bytes.
  Step forward(Leg& leg, const char* buf, std::size_t got, bool last);
  Step flush_held(Leg& leg);
  Step splice_round(Leg& leg);
  Step flush_pipe(Leg& leg);
  void note(Leg& leg, std::size_t n);
  void release(Leg& leg);
  void hold(Leg& leg, const char* buf, std::size_t n);

  Hub& hub_;
  WorkerServices& services_;
  SessionSlot slot_;      // counts against the frontend's max_sessions until the session ends
  FrontendPtr frontend_;  // race only
  std::unique_ptr<Race> race_;
  std::chrono::milliseconds idle_{0};
  int fd_[2] = {-1, -1};
  Leg legs_[2];
  pool::BackendPtr backend_;  // relay: the winner
  SessionControl control_;
  std::optional<SessionRegistry::Handle> handle_;
  std::list<Session>::iterator self_;
  bool deferred_ = false;
  bool dead_ = false;
};

}  // namespace kha::proxy
