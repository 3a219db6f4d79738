// The YAML layout as tables of keys, one table per schema struct (HAProxy's srv_kws style):
// each row names a key and how it is read. Semantic rules live in validate.cc.
#include "config/loader.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <functional>

#include "config/validate.h"
#include "config/yaml_reader.h"

namespace kha::config {
namespace {

using Entry = YamlReader::Entry;

template <class S>
struct Field {
  std::string_view key;
  std::function<void(YamlReader&, const Entry&, S&)> read;
};

template <class S>
using Fields = std::vector<Field<S>>;

template <class S>
void read_struct(YamlReader& r, const YAML::Node& node, const std::string& path, const Fields<S>& fields, S& out) {
  std::vector<std::string_view> keys;
  for (const auto& f : fields) keys.push_back(f.key);
  for (const auto& e : r.map_entries(node, path, keys)) {
    for (const auto& f : fields) {
      if (f.key == e.key) f.read(r, e, out);
    }
  }
}

// A key read straight into a member with YamlReader::read.
template <class S, class M>
Field<S> scalar(std::string_view key, M S::*member) {
  return {key, [member](YamlReader& r, const Entry& e, S& s) { r.read(e.value, e.path, &(s.*member)); }};
}

// A key holding a nested map read with its own table.
template <class S, class M>
Field<S> nested(std::string_view key, M S::*member, const Fields<M>* fields) {
  return {key, [member, fields](YamlReader& r, const Entry& e, S& s) {
            read_struct(r, e.value, e.path, *fields, s.*member);
          }};
}

// A key holding a list of maps, each read with `fields`. Elements that fail keep their slot
// (default values) so that later key paths still match the file's indices.
template <class S, class M>
Field<S> list_of(std::string_view key, std::vector<M> S::*member, const Fields<M>* fields, const char* what) {
  return {key, [member, fields, what](YamlReader& r, const Entry& e, S& s) {
            for (const auto& item : r.list_entries(e.value, e.path, what)) {
              (s.*member).emplace_back();
              read_struct(r, item.value, item.path, *fields, (s.*member).back());
            }
          }};
}

template <class S>
Field<S> string_list(std::string_view key, std::vector<std::string> S::*member, const char* what) {
  return {key, [member, what](YamlReader& r, const Entry& e, S& s) {
            for (const auto& item : r.list_entries(e.value, e.path, what)) {
              (s.*member).emplace_back();
              r.read(item.value, item.path, &(s.*member).back());
            }
          }};
}

template <class S>
Field<S> skipped(std::string_view key) {
  return {key, [](YamlReader&, const Entry&, S&) {}};
}

template <class S, class E>
Field<S> choice(std::string_view key, E S::*member, std::vector<std::pair<std::string_view, E>> names,
                std::string expected) {
  return {key, [member, names, expected](YamlReader& r, const Entry& e, S& s) {
            std::string text;
            if (!r.read(e.value, e.path, &text)) return;
            for (const auto& [name, value] : names) {
              if (name == text) {
                s.*member = value;
                return;
              }
            }
            r.error(e.value, e.path, "expected " + expected + ", got " + describe(e.value));
          }};
}

const Fields<TlsClient> kTlsFields = {
    scalar("verify", &TlsClient::verify),       scalar("ca_file", &TlsClient::ca_file),
    scalar("server_name", &TlsClient::server_name), scalar("cert_file", &TlsClient::cert_file),
    scalar("key_file", &TlsClient::key_file),
};

const Fields<HealthCheck> kHealthFields = {
    choice("kind", &HealthCheck::kind,
           {{"none", CheckKind::None}, {"tcp", CheckKind::Tcp}, {"tls", CheckKind::Tls}, {"https", CheckKind::Https}},
           "none, tcp, tls or https"),
    scalar("interval", &HealthCheck::interval),
    scalar("transition_interval", &HealthCheck::transition_interval),
    scalar("down_interval", &HealthCheck::down_interval),
    scalar("down_interval_max", &HealthCheck::down_interval_max),
    scalar("timeout", &HealthCheck::timeout),
    scalar("rise", &HealthCheck::rise),
    scalar("fall", &HealthCheck::fall),
    scalar("jitter", &HealthCheck::jitter),
    scalar("fresh_connect_interval", &HealthCheck::fresh_connect_interval),
    scalar("path", &HealthCheck::path),
    scalar("expect_status", &HealthCheck::expect_status),
    nested("tls", &HealthCheck::tls, &kTlsFields),
};

const Fields<Timeouts> kTimeoutFields = {
    scalar("connect", &Timeouts::connect),
    scalar("client_idle", &Timeouts::client_idle),
    scalar("server_idle", &Timeouts::server_idle),
};

const Fields<Hedge> kHedgeFields = {
    scalar("connect_delay", &Hedge::connect_delay),
    scalar("first_byte_delay", &Hedge::first_byte_delay),
    scalar("first_bytes_max", &Hedge::first_bytes_max),
    choice("replay", &Hedge::replay, {{"tls-hello", Replay::TlsHello}, {"any", Replay::Any}}, "tls-hello or any"),
    scalar("budget_percent", &Hedge::budget_percent),
};

const Fields<Rebalance> kRebalanceFields = {
    scalar("enabled", &Rebalance::enabled),
    scalar("max_skew_percent", &Rebalance::max_skew_percent),
    scalar("rate_percent", &Rebalance::rate_percent),
    scalar("settle", &Rebalance::settle),
    scalar("quiet", &Rebalance::quiet),
};

const Fields<Backend> kBackendFields = {
    scalar("name", &Backend::name),
    scalar("address", &Backend::address),
};

const Fields<Discovery> kDiscoveryFields = {
    scalar("kubeconfig", &Discovery::kubeconfig),
    scalar("port", &Discovery::port),
    scalar("state_file", &Discovery::state_file),
    scalar("retry", &Discovery::retry),
};

const Fields<Frontend> kFrontendFields = {
    scalar("name", &Frontend::name),
    string_list("listen", &Frontend::listen, "host:port addresses"),
    choice("balance", &Frontend::balance, {{"roundrobin", Balance::RoundRobin}, {"leastconn", Balance::LeastConn}},
           "roundrobin or leastconn"),
    scalar("client_first", &Frontend::client_first),
    scalar("close_sessions_on_down", &Frontend::close_sessions_on_down),
    scalar("close_on_down_spread", &Frontend::close_on_down_spread),
    scalar("max_connect_attempts", &Frontend::max_connect_attempts),
    scalar("max_sessions", &Frontend::max_sessions),
    scalar("slow_start", &Frontend::slow_start),
    scalar("resolve_interval", &Frontend::resolve_interval),
    nested("timeouts", &Frontend::timeouts, &kTimeoutFields),
    nested("hedge", &Frontend::hedge, &kHedgeFields),
    nested("rebalance", &Frontend::rebalance, &kRebalanceFields),
    nested("health", &Frontend::health, &kHealthFields),
    nested("discovery", &Frontend::discovery, &kDiscoveryFields),
    list_of("backends", &Frontend::backends, &kBackendFields, "backends"),
};

const Fields<Admin> kAdminFields = {
    scalar("listen", &Admin::listen),
    scalar("metrics_listen", &Admin::metrics_listen),
};

const Fields<Config> kConfigFields = {
    scalar("log_format", &Config::log_format),
    scalar("workers", &Config::workers),
    scalar("max_sessions", &Config::max_sessions),
    scalar("splice", &Config::splice),
    scalar("shutdown_grace", &Config::shutdown_grace),
    scalar("drain_timeout", &Config::drain_timeout),
    nested("admin", &Config::admin, &kAdminFields),
    list_of("frontends", &Config::frontends, &kFrontendFields, "frontends"),
    skipped<Config>("vip"),        // owned by `kha vip`
};

bool by_position(const Diagnostic& a, const Diagnostic& b) {
  return std::tie(a.line, a.column) < std::tie(b.line, b.column);
}

}  // namespace

Result<Config> load_config_text(std::string_view yaml, std::string source) {
  YamlReader reader(source);
  YAML::Node root;
  try {
    const auto documents = YAML::LoadAll(std::string(yaml));
    if (documents.size() > 1) {
      reader.error(documents[1], "", "expected one YAML document, found a second one here");
      return reader.take_diagnostics();
    }
    if (!documents.empty()) root = documents[0];
  } catch (const YAML::Exception& e) {
    reader.error_at(e.mark, "", "invalid YAML: " + e.msg);
    return reader.take_diagnostics();
  }
  Config config;
  config.source = source;
  if (root.IsNull()) {
    return Diagnostic{source, 0, 0, "", "the file is empty; expected a map with a frontends list"};
  }
  try {
    reader.note("", root);
    if (!root.IsMap()) {
      reader.error(root, "", "expected a map with a frontends list at the top level, got " + describe(root));
      return reader.take_diagnostics();
    }
    read_struct(reader, root, "", kConfigFields, config);
  } catch (const YAML::Exception& e) {  // not expected once parsed; never let it escape
    reader.error_at(e.mark, "", "invalid YAML: " + e.msg);
    return reader.take_diagnostics();
  }
  fill_defaults(config);
  Diagnostics all = reader.take_diagnostics();
  for (auto& d : validate(config)) {
    if (reader.failed_at_or_above(d.key)) continue;  // already reported as unreadable
    reader.place(&d);
    all.push_back(std::move(d));
  }
  if (!all.empty()) {
    std::stable_sort(all.begin(), all.end(), by_position);
    return all;
  }
  return config;
}

Result<Config> load_config_file(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Diagnostic{path, 0, 0, "", std::string("cannot read the file: ") + std::strerror(errno)};
  std::string text;
  char buf[16384];
  while (true) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n == 0) break;
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      ::close(fd);
      return Diagnostic{path, 0, 0, "", std::string("cannot read the file: ") + std::strerror(err)};
    }
    text.append(buf, static_cast<std::size_t>(n));
    if (text.size() > (16u << 20)) {
      ::close(fd);
      return Diagnostic{path, 0, 0, "", "the file is larger than 16 MiB; is it a config file?"};
    }
  }
  ::close(fd);
  return load_config_text(text, path);
}

}  // namespace kha::config
