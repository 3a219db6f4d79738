// Discovery: the list/watch loop and its retries over the shared HTTP client (see discovery.h).
#include "daemon/discovery.h"

#include <asio/experimental/awaitable_operators.hpp>
#include <asio/ssl.hpp>

#include "common/log.h"
#include "http/client.h"
#include "http/request.h"
#include "tls/asio_context.h"
#include "tls/context.h"

namespace kha::daemon {

namespace {

constexpr const char* kSlicesPath = "/apis/discovery.k8s.io/v1/namespaces/default/endpointslices";
constexpr const char* kSelector = "labelSelector=kubernetes.io%2Fservice-name%3Dkubernetes";
constexpr auto kWatchSeconds = std::chrono::seconds(60);  // the server ends a watch after this
constexpr auto kReadTimeout = std::chrono::seconds(90);   // silence longer than this: the API is gone
constexpr std::size_t kMaxBody = 16u << 20;               // a list reply, and one watch event line
constexpr auto kSettle = std::chrono::milliseconds(200);  // quiet time after watch events before reconciling

}  // namespace

struct Discovery::State {
  asio::io_context& io;
  std::string frontend;
  HostPort through;
  config::Discovery settings;
  Kubeconfig kc;
  OnSet on_set;
  OnError on_error;
  std::unique_ptr<asio::ssl::context> tls;  // null when the kubeconfig's TLS material is unusable
  std::string tls_error;                    // why tls is null
  bool stopped = false;
  SliceMap slices;
  std::string resource_version;
  asio::steady_timer pause{io};
  asio::steady_timer settle{io};
  http::Client* current = nullptr;  // the open connection, for stop(); non-null only inside list_and_watch

  explicit State(asio::io_context& i) : io(i) {}

  void report() { on_set(all_backends(slices)); }

  // Watch events come in bursts (one per slice: a member moving between slices is a
  // DELETED and an ADDED); report once the burst is over, never a state in between.
  void report_soon(const std::shared_ptr<State>& self) {
    settle.expires_after(kSettle);
    settle.async_wait([self](const asio::error_code& ec) {
      if (!ec && !self->stopped) self->report();
    });
  }
};

namespace {

std::string request_text(const Kubeconfig& kc, const std::string& target) {
  http::Request r{.target = target,
                  .host = wrap_ipv6(kc.server_host),
                  .user_agent = "kha-discovery",
                  .accept = "application/json",
                  .keep_alive = true};
  if (!kc.token.empty()) r.fields.emplace_back("Authorization", "Bearer " + kc.token);
  return http::serialize(r);
}

// The list, then watches on the same connection (keep-alive) while the server ends them
// cleanly. Returns why it stopped.
asio::awaitable<std::string> session(std::shared_ptr<Discovery::State> st, http::Client& client,
                                     const asio::ip::tcp::endpoint& endpoint) {
  if (auto e = co_await client.connect(endpoint)) {
    if (e->stage == http::Stage::Connect) co_return "connect " + st->through.to_string() + ": " + e->ec.message();
    co_return e->reason;
  }
  http::ResponseParser parser({.max_body = kMaxBody});
  const std::string list = std::string(kSlicesPath) + "?" + kSelector;
  if (auto e = co_await client.exchange(request_text(st->kc, list), parser)) co_return "list: " + e->reason;
  if (parser.head().status != 200)
    co_return "list: HTTP " + std::to_string(parser.head().status) + ": " + parser.body().substr(0, 200);
  if (auto why = read_slice_list(parser.body(), st->settings.port, &st->slices, &st->resource_version); !why.empty())
    co_return "list: " + why;
  st->report();
  parser.next(http::Limits{.max_body = http::kUnlimited});  // a watch streams for minutes; its lines are bounded below
  while (!st->stopped) {
    const std::string watch = list + "&watch=1&allowWatchBookmarks=true&timeoutSeconds=" +
                              std::to_string(kWatchSeconds.count()) +
                              (st->resource_version.empty() ? "" : "&resourceVersion=" + st->resource_version);
    std::string lines, failure;
    const http::BodySink sink = [&](std::string_view piece) {
      lines.append(piece);
      std::size_t start = 0;
      for (auto nl = lines.find('\n'); nl != std::string::npos; start = nl + 1, nl = lines.find('\n', start)) {
        const auto step = apply_watch_line(std::string_view(lines).substr(start, nl - start), st->settings.port,
                                           &st->slices, &st->resource_version);
        if (!step.error.empty()) {
          failure = "watch: " + step.error;
          return false;
        }
        if (step.changed) st->report_soon(st);
      }
      lines.erase(0, start);
      if (lines.size() >= kMaxBody) failure = "watch: an event over " + std::to_string(kMaxBody) + " bytes";
      return failure.empty();
    };
    auto e = co_await client.exchange(request_text(st->kc, watch), parser, sink);
    if (!failure.empty()) co_return failure;
    if (e) co_return "watch: " + e->reason;
    if (parser.head().status != 200) co_return "watch: HTTP " + std::to_string(parser.head().status);
  }
  co_return std::string{};
}

// One connection: its session, bounded by kReadTimeout of silence.
asio::awaitable<std::string> list_and_watch(std::shared_ptr<Discovery::State> st) {
  asio::error_code ec;
  const asio::ip::address address = asio::ip::make_address(st->through.host, ec);
  if (ec) co_return "discovery connects to an IP literal, got " + st->through.host;
  if (!st->tls) co_return "TLS: " + st->tls_error;
  http::Client client(st->io.get_executor(), {.tls = st->tls.get(),
                                              .peer_name = st->kc.server_host,
                                              .verify_name = !st->kc.insecure_skip_verify,
                                              .timeout = kReadTimeout,
                                              .idle = true});
  st->current = &client;
  struct Forget {  // also when the frame is destroyed unfinished
    Discovery::State& st;
    ~Forget() { st.current = nullptr; }
  } forget{*st};
  auto result = co_await client.bounded(session(st, client, asio::ip::tcp::endpoint(address, st->through.port)));
  if (!result) co_return "no answer from the API for " + std::to_string(kReadTimeout.count()) + "s";
  co_return *result;
}

asio::awaitable<void> run(std::shared_ptr<Discovery::State> st) {
  while (!st->stopped) {
    const std::string why = co_await list_and_watch(st);
    if (st->stopped) break;
    st->on_error(why);
    st->pause.expires_after(st->settings.retry);
    asio::error_code ec;
    co_await st->pause.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
}

}  // namespace

Discovery::Discovery(asio::io_context& io, std::string frontend, HostPort through, config::Discovery settings,
                     Kubeconfig kc, OnSet on_set, OnError on_error)
    : state_(std::make_shared<State>(io)) {
  state_->frontend = std::move(frontend);
  state_->through = std::move(through);
  state_->settings = std::move(settings);
  state_->kc = std::move(kc);
  state_->on_set = std::move(on_set);
  state_->on_error = std::move(on_error);
  const Kubeconfig& k = state_->kc;
  // Verified against the kubeconfig's CA, or the system store when it names none.
  auto made = tls::make_client_context({.verify = !k.insecure_skip_verify,
                                        .ca_pem = k.ca_pem,
                                        .cert_pem = k.client_cert_pem,
                                        .key_pem = k.client_key_pem});
  if (made) {
    state_->tls = std::make_unique<asio::ssl::context>(tls::adopt(std::move(made.value())));
  } else {
    for (const auto& d : made.errors()) state_->tls_error += (state_->tls_error.empty() ? "" : "; ") + d.message;
    log::error("discovery_tls_failed", {{"frontend", state_->frontend}, {"error", state_->tls_error}});
  }
}

Discovery::~Discovery() { stop(); }

void Discovery::start() {
  asio::co_spawn(state_->io, run(state_), log::CoroutineEnd{"discovery"});
}

void Discovery::stop() {
  state_->stopped = true;
  state_->pause.cancel();
  state_->settle.cancel();
  // Abortive (RST): the watch goes through kha's own listener, and a plain FIN would
  // only half-close that session, which then waits for the apiserver to close its
  // side and holds up SIGTERM's drain (seen: the process killed after 10 s).
  if (state_->current) state_->current->abort();
}

}  // namespace kha::daemon
