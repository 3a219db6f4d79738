#include "daemon/discovery.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include <asio/experimental/as_tuple.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/ssl.hpp>
#include <nlohmann/json.hpp>
#include <yaml-cpp/yaml.h>

#include "common/json_text.h"
#include "common/log.h"
#include "tls/context.h"

namespace kha::daemon {

using asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using namespace asio::experimental::awaitable_operators;

namespace {

constexpr const char* kSlicesPath = "/apis/discovery.k8s.io/v1/namespaces/default/endpointslices";
constexpr const char* kSelector = "labelSelector=kubernetes.io%2Fservice-name%3Dkubernetes";
constexpr auto kWatchSeconds = std::chrono::seconds(60);  // the server ends a watch after this
constexpr auto kReadTimeout = std::chrono::seconds(90);   // silence longer than this: the API is gone
constexpr std::size_t kMaxBody = 16u << 20;
constexpr auto kSettle = std::chrono::milliseconds(200);  // quiet time after watch events before reconciling

bool read_file(const std::string& path, std::string* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::ostringstream ss;
  ss << in.rdbuf();
  *out = ss.str();
  return true;
}

bool base64_decode(const std::string& in, std::string* out) {
  std::string clean;
  for (char c : in)
    if (!std::isspace(static_cast<unsigned char>(c))) clean += c;
  if (clean.size() % 4 != 0) return false;
  out->assign(clean.size() / 4 * 3, '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out->data()),
                                reinterpret_cast<const unsigned char*>(clean.data()), static_cast<int>(clean.size()));
  if (n < 0) return false;
  std::size_t len = static_cast<std::size_t>(n);
  for (auto it = clean.rbegin(); it != clean.rend() && *it == '='; ++it) --len;  // padding decodes as zeros
  out->resize(len);
  return true;
}

// The entry of `list` (clusters, users, contexts) named `name`.
YAML::Node named(const YAML::Node& list, const std::string& name) {
  if (list && list.IsSequence())
    for (const auto& item : list)
      if (item["name"] && item["name"].as<std::string>() == name) return item;
  return {};
}

}  // namespace

std::optional<Kubeconfig> load_kubeconfig(const std::string& path, std::string* error) {
  const std::string where = "kubeconfig " + path;
  const auto dir = std::filesystem::path(path).parent_path();
  auto relative = [&](const std::string& p) { return std::filesystem::path(p).is_absolute() ? p : (dir / p).string(); };
  try {
    const YAML::Node root = YAML::LoadFile(path);
    const std::string current = root["current-context"] ? root["current-context"].as<std::string>() : "";
    YAML::Node context = named(root["contexts"], current);
    if (!context && root["contexts"] && root["contexts"].IsSequence() && root["contexts"].size() > 0)
      context = root["contexts"][0];  // no current-context: the first one
    std::string cluster_name, user_name;
    if (context && context["context"]) {
      cluster_name = context["context"]["cluster"] ? context["context"]["cluster"].as<std::string>() : "";
      user_name = context["context"]["user"] ? context["context"]["user"].as<std::string>() : "";
    }
    YAML::Node cluster = named(root["clusters"], cluster_name);
    if (!cluster && root["clusters"] && root["clusters"].IsSequence() && root["clusters"].size() == 1)
      cluster = root["clusters"][0];
    if (!cluster || !cluster["cluster"] || !cluster["cluster"]["server"]) {
      *error = where + ": clusters: no cluster with a server for context '" + current + "'";
      return std::nullopt;
    }
    Kubeconfig kc;
    const YAML::Node c = cluster["cluster"];
    kc.server = c["server"].as<std::string>();
    std::string rest = kc.server;
    if (rest.rfind("https://", 0) == 0) rest = rest.substr(8);
    else {
      *error = where + ": clusters[" + cluster_name + "].cluster.server: expected https://host:port, got '" + kc.server + "'";
      return std::nullopt;
    }
    rest = rest.substr(0, rest.find('/'));
    auto hp = parse_host_port(rest.find(':') == std::string::npos || (rest.front() == '[' && rest.back() == ']')
                                  ? rest + ":443"
                                  : rest);
    if (!hp) {
      *error = where + ": clusters[" + cluster_name + "].cluster.server: cannot parse '" + kc.server + "'";
      return std::nullopt;
    }
    kc.server_host = hp->host;
    kc.insecure_skip_verify = c["insecure-skip-tls-verify"] && c["insecure-skip-tls-verify"].as<bool>();
    auto pem = [&](const YAML::Node& node, const char* data_key, const char* file_key, const std::string& key_path,
                   std::string* out) {
      if (node[data_key]) {
        if (!base64_decode(node[data_key].as<std::string>(), out)) {
          *error = where + ": " + key_path + "." + data_key + ": not valid base64";
          return false;
        }
      } else if (node[file_key]) {
        const std::string file = relative(node[file_key].as<std::string>());
        if (!read_file(file, out)) {
          *error = where + ": " + key_path + "." + file_key + ": cannot read " + file;
          return false;
        }
      }
      return true;
    };
    if (!pem(c, "certificate-authority-data", "certificate-authority", "clusters[" + cluster_name + "].cluster", &kc.ca_pem))
      return std::nullopt;
    YAML::Node user = named(root["users"], user_name);
    if (user && user["user"]) {
      const YAML::Node u = user["user"];
      const std::string up = "users[" + user_name + "].user";
      if (!pem(u, "client-certificate-data", "client-certificate", up, &kc.client_cert_pem)) return std::nullopt;
      if (!pem(u, "client-key-data", "client-key", up, &kc.client_key_pem)) return std::nullopt;
      if (u["token"]) kc.token = u["token"].as<std::string>();
      if (u["tokenFile"] && kc.token.empty()) {
        const std::string file = relative(u["tokenFile"].as<std::string>());
        if (!read_file(file, &kc.token)) {
          *error = where + ": " + up + ".tokenFile: cannot read " + file;
          return std::nullopt;
        }
        while (!kc.token.empty() && std::isspace(static_cast<unsigned char>(kc.token.back()))) kc.token.pop_back();
      }
      if (kc.client_cert_pem.empty() != kc.client_key_pem.empty()) {
        *error = where + ": " + up + ": client-certificate and client-key go together";
        return std::nullopt;
      }
    }
    return kc;
  } catch (const YAML::Exception& e) {
    *error = where + ":" + std::to_string(e.mark.line + 1) + ": " + e.msg;
    return std::nullopt;
  }
}

std::optional<std::vector<HostPort>> load_state(const std::string& path, std::string* error) {
  error->clear();
  std::string text;
  if (!read_file(path, &text)) return std::nullopt;  // none yet: not an error
  auto fail = [&](const std::string& why) -> std::optional<std::vector<HostPort>> {
    *error = path + ": " + why;
    return std::nullopt;
  };
  const auto doc = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return fail("not JSON");
  if (!doc.is_object() || !doc.contains("backends") || !doc["backends"].is_array())
    return fail("expected {\"frontend\": ..., \"backends\": [\"host:port\", ...]}");
  std::vector<HostPort> out;
  for (std::size_t i = 0; i < doc["backends"].size(); ++i) {
    const auto& b = doc["backends"][i];
    std::string why;
    auto hp = b.is_string() ? parse_host_port(b.get<std::string>(), &why) : std::nullopt;
    if (!hp || hp->port == 0) return fail("backends[" + std::to_string(i) + "]: expected host:port");
    out.push_back(*hp);
  }
  if (out.empty()) return fail("backends: empty");
  return out;
}

std::string save_state(const std::string& path, const std::string& frontend, const std::vector<HostPort>& backends) {
  nlohmann::json doc{{"frontend", frontend}, {"backends", nlohmann::json::array()}};
  for (const auto& b : backends) doc["backends"].push_back(b.to_string());
  const std::string text = json_text(doc, 2) + "\n";
  const std::string tmp = path + ".tmp";
  // O_NOFOLLOW: a symlink planted at the temp name (in a directory another user can
  // write) must not make kha write through it.
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return tmp + ": " + std::strerror(errno);
  const bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) && ::fsync(fd) == 0;
  const int saved = errno;
  ::close(fd);
  if (!ok) return tmp + ": " + std::strerror(saved);
  if (::rename(tmp.c_str(), path.c_str()) < 0) return path + ": " + std::strerror(errno);
  return {};
}

namespace {

// The string at j[path...] when every step has the type it must: a reply of the wrong
// shape is then an error the retry loop handles, never an exception that ends it.
const std::string* text_at(const nlohmann::json& root, std::initializer_list<const char*> path) {
  const nlohmann::json* j = &root;
  for (const char* key : path) {
    if (!j->is_object()) return nullptr;
    const auto it = j->find(key);
    if (it == j->end()) return nullptr;
    j = &*it;
  }
  return j->get_ptr<const std::string*>();
}

std::vector<HostPort> backends_of(const nlohmann::json& slice, int port_override) {
  std::vector<HostPort> out;
  int port = port_override;
  if (port == 0 && slice.contains("ports") && slice["ports"].is_array() && !slice["ports"].empty() &&
      slice["ports"][0].contains("port") && slice["ports"][0]["port"].is_number_integer())
    port = slice["ports"][0]["port"].get<int>();
  if (port <= 0 || port > 65535 || !slice.contains("endpoints") || !slice["endpoints"].is_array()) return out;
  for (const auto& e : slice["endpoints"]) {
    if (e.contains("conditions") && e["conditions"].contains("ready") && e["conditions"]["ready"].is_boolean() &&
        !e["conditions"]["ready"].get<bool>())
      continue;  // an apiserver that is shutting down or not yet ready
    if (!e.contains("addresses") || !e["addresses"].is_array()) continue;
    for (const auto& a : e["addresses"])
      if (a.is_string()) out.push_back(HostPort{a.get<std::string>(), static_cast<std::uint16_t>(port)});
  }
  return out;
}

}  // namespace

std::vector<HostPort> slice_backends(const std::string& text, int port_override) {
  const auto doc = nlohmann::json::parse(text, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) return {};
  return backends_of(doc, port_override);
}

// ---- the list/watch loop --------------------------------------------------------

struct Discovery::State {
  asio::io_context& io;
  std::string frontend;
  HostPort through;
  config::Discovery settings;
  Kubeconfig kc;
  OnSet on_set;
  OnError on_error;
  std::unique_ptr<asio::ssl::context> tls;
  bool stopped = false;
  std::map<std::string, std::vector<HostPort>> slices;  // by slice name
  std::string resource_version;
  asio::steady_timer pause{io};
  asio::steady_timer settle{io};
  std::shared_ptr<asio::ssl::stream<tcp::socket>> current;  // the open connection, for stop()

  State(asio::io_context& i) : io(i) {}

  void report() {
    std::set<std::string> seen;
    std::vector<HostPort> all;
    for (const auto& [_, list] : slices)
      for (const auto& b : list)
        if (seen.insert(b.to_string()).second) all.push_back(b);
    std::sort(all.begin(), all.end(), [](const HostPort& a, const HostPort& b) { return a.to_string() < b.to_string(); });
    on_set(all);
  }

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

using SslStream = asio::ssl::stream<tcp::socket>;

// Reads an HTTP/1.1 response head and body; calls `on_body` with each decoded piece.
// Returns "" when the body ended, else why not. `deadline` is pushed forward on every read.
class Exchange {
 public:
  Exchange(SslStream& s, Clock::time_point& deadline) : s_(s), deadline_(deadline) {}

  asio::awaitable<std::string> run(const std::string& request, int* status,
                                   const std::function<bool(std::string_view)>& on_body) {
    deadline_ = Clock::now() + kReadTimeout;
    auto [wec, wn] = co_await asio::async_write(s_, asio::buffer(request), asio::experimental::as_tuple(asio::use_awaitable));
    if (wec) co_return "send: " + wec.message();
    left_ = 0;
    skip_crlf_ = false;
    std::size_t head_end;
    for (;;) {
      while (raw_.rfind("\r\n", 0) == 0) raw_.erase(0, 2);  // the CRLF after a previous last chunk
      if ((head_end = raw_.find("\r\n\r\n")) != std::string::npos) break;
      if (raw_.size() > 65536) co_return "response head too long";
      if (auto e = co_await more(); !e.empty()) co_return e;
    }
    const std::string head = raw_.substr(0, head_end);
    raw_.erase(0, head_end + 4);
    if (head.size() < 12 || head.rfind("HTTP/1.", 0) != 0) co_return "not an HTTP response";
    (void)std::from_chars(head.data() + 9, head.data() + 12, *status);
    std::string lower = head;
    std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
    const bool chunked = lower.find("transfer-encoding: chunked") != std::string::npos;
    std::optional<std::size_t> length;
    if (auto p = lower.find("content-length:"); p != std::string::npos) {
      std::size_t n = 0;
      const auto start = std::min(lower.find_first_not_of(' ', p + 15), lower.size());
      (void)std::from_chars(lower.data() + start, lower.data() + lower.size(), n);
      length = n;
    }
    std::size_t total = 0;
    for (;;) {
      std::string piece;
      bool done = false;
      if (chunked) {
        done = decode_chunks(&piece);
      } else {
        piece = std::move(raw_);
        raw_.clear();
        if (length) {
          if (total + piece.size() >= *length) {
            piece.resize(*length - total);
            done = true;
          }
        }
      }
      total += piece.size();
      if (!piece.empty() && !on_body(piece)) co_return std::string{};
      if (done || (length && total >= *length)) co_return std::string{};
      if (auto e = co_await more(); !e.empty()) {
        if (!chunked && !length && e == "eof") co_return std::string{};
        co_return e;
      }
    }
  }

 private:
  asio::awaitable<std::string> more() {
    char buf[16384];
    auto [ec, n] = co_await s_.async_read_some(asio::buffer(buf), asio::experimental::as_tuple(asio::use_awaitable));
    if (n > 0) {
      raw_.append(buf, n);
      deadline_ = Clock::now() + kReadTimeout;
      co_return std::string{};
    }
    if (ec == asio::error::eof || ec == asio::ssl::error::stream_truncated) co_return "eof";
    co_return ec ? ec.message() : "no data";
  }

  // Moves whole decoded chunk data from raw_ to *out; true at the last (empty) chunk.
  bool decode_chunks(std::string* out) {
    for (;;) {
      if (skip_crlf_) {
        if (raw_.size() < 2) return false;
        raw_.erase(0, 2);
        skip_crlf_ = false;
      }
      if (left_ == 0) {
        const auto p = raw_.find("\r\n");
        if (p == std::string::npos) return false;
        std::size_t size = 0;
        (void)std::from_chars(raw_.data(), raw_.data() + p, size, 16);
        raw_.erase(0, p + 2);
        if (size == 0) return true;
        left_ = size;
      }
      const std::size_t n = std::min(left_, raw_.size());
      if (n == 0) return false;
      out->append(raw_, 0, n);
      raw_.erase(0, n);
      left_ -= n;
      if (left_ == 0) skip_crlf_ = true;
    }
  }

  SslStream& s_;
  Clock::time_point& deadline_;
  std::string raw_;
  std::size_t left_ = 0;
  bool skip_crlf_ = false;
};

// Closes the connection when `deadline` passes without being pushed forward.
asio::awaitable<void> watchdog(std::shared_ptr<SslStream> stream, const Clock::time_point& deadline) {
  asio::steady_timer timer(stream->get_executor());
  for (auto now = Clock::now(); deadline > now; now = Clock::now()) {
    timer.expires_at(deadline);
    asio::error_code ec;
    co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return;  // the exchange finished first
  }
  asio::error_code ec;
  stream->lowest_layer().close(ec);
}

std::string request_text(const Kubeconfig& kc, const std::string& target) {
  std::string r = "GET " + target + " HTTP/1.1\r\nHost: " + wrap_ipv6(kc.server_host) +
                  "\r\nAccept: application/json\r\nUser-Agent: kha-discovery\r\n";
  if (!kc.token.empty()) r += "Authorization: Bearer " + kc.token + "\r\n";
  return r + "\r\n";
}

// One list and then watches until an error; returns why it stopped.
asio::awaitable<std::string> list_and_watch(std::shared_ptr<Discovery::State> st) {
  auto stream = std::make_shared<SslStream>(st->io, *st->tls);
  st->current = stream;
  tcp::socket* socket = &stream->next_layer();
  Clock::time_point deadline = Clock::now() + kReadTimeout;
  auto session = [&]() -> asio::awaitable<std::string> {
    asio::error_code ec;
    asio::ip::address address = asio::ip::make_address(st->through.host, ec);
    if (ec) co_return "discovery connects to an IP literal, got " + st->through.host;
    auto [cec] = co_await socket->async_connect(tcp::endpoint(address, st->through.port),
                                                asio::experimental::as_tuple(asio::use_awaitable));
    if (cec) co_return "connect " + st->through.to_string() + ": " + cec.message();
    SslStream& tls = *stream;
    if (!tls::set_peer_name(tls.native_handle(), st->kc.server_host, !st->kc.insecure_skip_verify))
      co_return "TLS: cannot set the server name";
    auto [hec] = co_await tls.async_handshake(asio::ssl::stream_base::client, asio::experimental::as_tuple(asio::use_awaitable));
    if (hec) co_return "TLS handshake: " + hec.message();
    Exchange ex(tls, deadline);
    // List.
    std::string body;
    int status = 0;
    const std::string list = std::string(kSlicesPath) + "?" + kSelector;
    if (auto e = co_await ex.run(request_text(st->kc, list), &status, [&](std::string_view p) {
          body.append(p);
          return body.size() < kMaxBody;
        });
        !e.empty())
      co_return "list: " + e;
    if (status != 200) co_return "list: HTTP " + std::to_string(status) + ": " + body.substr(0, 200);
    const auto doc = nlohmann::json::parse(body, nullptr, false);
    if (doc.is_discarded() || !doc.contains("items") || !doc["items"].is_array()) co_return "list: not an EndpointSliceList";
    st->slices.clear();
    for (const auto& item : doc["items"])
      if (const auto* name = text_at(item, {"metadata", "name"})) st->slices[*name] = backends_of(item, st->settings.port);
    st->resource_version.clear();
    if (const auto* version = text_at(doc, {"metadata", "resourceVersion"})) st->resource_version = *version;
    st->report();
    // Watch, again and again on the same connection (keep-alive) while the server ends them cleanly.
    while (!st->stopped) {
      const std::string watch = list + "&watch=1&allowWatchBookmarks=true&timeoutSeconds=" +
                                std::to_string(kWatchSeconds.count()) +
                                (st->resource_version.empty() ? "" : "&resourceVersion=" + st->resource_version);
      std::string line_buffer, failure;
      if (auto e = co_await ex.run(request_text(st->kc, watch), &status, [&](std::string_view p) {
            line_buffer.append(p);
            for (auto nl = line_buffer.find('\n'); nl != std::string::npos; nl = line_buffer.find('\n')) {
              const auto event = nlohmann::json::parse(line_buffer.substr(0, nl), nullptr, false);
              line_buffer.erase(0, nl + 1);
              const auto* kind = event.is_discarded() ? nullptr : text_at(event, {"type"});
              if (!kind || !event.contains("object") || !event["object"].is_object()) continue;
              const std::string type = *kind;
              const auto& object = event["object"];
              if (type == "ERROR") {
                const auto* message = text_at(object, {"message"});
                failure = "watch: " + (message ? *message : std::string("error event"));
                return false;
              }
              if (const auto* version = text_at(object, {"metadata", "resourceVersion"})) st->resource_version = *version;
              const auto* found = text_at(object, {"metadata", "name"});
              if (type == "BOOKMARK" || !found) continue;
              const std::string name = *found;
              if (type == "DELETED") st->slices.erase(name);
              else st->slices[name] = backends_of(object, st->settings.port);
              st->report_soon(st);
            }
            return line_buffer.size() < kMaxBody;
          });
          !e.empty())
        co_return "watch: " + e;
      if (!failure.empty()) co_return failure;
      if (status != 200) co_return "watch: HTTP " + std::to_string(status);
    }
    co_return std::string{};
  };
  auto result = co_await (session() || watchdog(stream, deadline));
  asio::error_code ignored;
  socket->close(ignored);
  st->current.reset();
  if (result.index() == 1) co_return "no answer from the API for " + std::to_string(kReadTimeout.count()) + "s";
  co_return std::get<0>(result);
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
  auto ctx = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_client);
  asio::error_code ec;
  ctx->set_options(asio::ssl::context::no_tlsv1 | asio::ssl::context::no_tlsv1_1);
  if (state_->kc.insecure_skip_verify) {
    ctx->set_verify_mode(asio::ssl::verify_none);
  } else {
    ctx->set_verify_mode(asio::ssl::verify_peer);
    if (state_->kc.ca_pem.empty()) ctx->set_default_verify_paths(ec);
    else ctx->add_certificate_authority(asio::buffer(state_->kc.ca_pem), ec);
    if (ec) log::error("discovery_ca_failed", {{"frontend", state_->frontend}, {"error", ec.message()}});
  }
  if (!state_->kc.client_cert_pem.empty()) {
    ctx->use_certificate_chain(asio::buffer(state_->kc.client_cert_pem), ec);
    if (!ec) ctx->use_private_key(asio::buffer(state_->kc.client_key_pem), asio::ssl::context::pem, ec);
    if (ec) log::error("discovery_client_cert_failed", {{"frontend", state_->frontend}, {"error", ec.message()}});
  }
  state_->tls = std::move(ctx);
}

Discovery::~Discovery() { stop(); }

void Discovery::start() {
  asio::co_spawn(state_->io, run(state_), log::CoroutineEnd{"discovery"});
}

void Discovery::stop() {
  state_->stopped = true;
  state_->pause.cancel();
  state_->settle.cancel();
  if (state_->current) {
    // Abortive (RST): the watch goes through kha's own listener, and a plain FIN would
    // only half-close that session, which then waits for the apiserver to close its
    // side and holds up SIGTERM's drain (seen: the process killed after 10 s).
    asio::error_code ec;
    auto& socket = state_->current->lowest_layer();
    socket.set_option(asio::socket_base::linger(true, 0), ec);
    socket.close(ec);
  }
}

}  // namespace kha::daemon
