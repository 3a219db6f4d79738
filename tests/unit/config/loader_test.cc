// YAML loading: structure, types, positions. One case per rule, asserting the exact message.
#include "config/loader.h"

#include <gtest/gtest.h>

#include <fstream>

namespace kha::config {
namespace {

// A valid document; `extra` lines are appended inside the first frontend from line 6 on.
std::string doc(const std::string& extra = "", const std::string& top = "") {
  return top +
         "frontends:\n"
         "  - name: api\n"
         "    listen: [\"127.0.0.1:6443\"]\n"
         "    backends:\n"
         "      - {name: cp1, address: 10.0.0.1:6443}\n" +
         extra;
}

std::vector<std::string> errors(const std::string& yaml) {
  std::vector<std::string> out;
  const auto r = load_config_text(yaml, "c.yaml");
  if (r.ok()) return out;
  for (const auto& d : r.errors()) out.push_back(d.to_string());
  return out;
}

using Lines = std::vector<std::string>;

TEST(Loader, MinimalDocumentGetsSchemaDefaults) {
  const auto r = load_config_text(doc(), "c.yaml");
  ASSERT_TRUE(r.ok()) << format_diagnostics(r.errors());
  const Config& c = r.value();
  EXPECT_EQ(c.source, "c.yaml");
  ASSERT_EQ(c.frontends.size(), 1u);
  const Frontend& f = c.frontends[0];
  EXPECT_EQ(f.balance, Balance::RoundRobin);
  EXPECT_EQ(f.timeouts.client_idle, std::chrono::hours(3));
  EXPECT_EQ(f.health.kind, CheckKind::Tcp);
  EXPECT_EQ(f.health.rise, 2);
  EXPECT_EQ(f.backends[0].name, "cp1");
  EXPECT_EQ(c.admin.listen, "127.0.0.1:8081");
  EXPECT_EQ(c.drain_timeout, std::chrono::minutes(5));
}

TEST(Loader, ReadsEveryKey) {
  const std::string yaml =
      "log_format: json\nworkers: 2\nsplice: false\nshutdown_grace: 10s\ndrain_timeout: 1m\n"
      "admin: {listen: \"\", metrics_listen: \"0.0.0.0:9101\"}\n"
      "frontends:\n"
      "  - name: etcd\n"
      "    listen: [\"127.0.0.1:2379\", \"[::1]:2379\"]\n"
      "    balance: leastconn\n    client_first: false\n    close_sessions_on_down: false\n"
      "    max_connect_attempts: 5\n"
      "    timeouts: {connect: 2s, client_idle: 1h, server_idle: 30m}\n"
      "    hedge: {connect_delay: 0ms, first_byte_delay: 50ms, first_bytes_max: 4096}\n"
      "    health:\n"
      "      kind: https\n      interval: 2s\n      transition_interval: 100ms\n      down_interval: 3s\n"
      "      timeout: 500ms\n      rise: 3\n      fall: 4\n      jitter: 0.2\n      path: /health\n"
      "      expect_status: 204\n"
      "      tls: {verify: true, ca_file: ca.pem, server_name: etcd, cert_file: c.pem, key_file: k.pem}\n"
      "    backends:\n      - address: 10.0.0.1:2379\n      - {name: m2, address: \"[fd00::2]:2379\"}\n";
  const auto r = load_config_text(yaml, "c.yaml");
  ASSERT_TRUE(r.ok()) << format_diagnostics(r.errors());
  const Config& c = r.value();
  EXPECT_EQ(c.log_format, "json");
  EXPECT_EQ(c.workers, 2);
  EXPECT_FALSE(c.splice);
  EXPECT_EQ(c.shutdown_grace, std::chrono::seconds(10));
  EXPECT_EQ(c.drain_timeout, std::chrono::minutes(1));
  EXPECT_EQ(c.admin.listen, "");
  EXPECT_EQ(c.admin.metrics_listen, "0.0.0.0:9101");
  const Frontend& f = c.frontends[0];
  EXPECT_EQ(f.listen, (Lines{"127.0.0.1:2379", "[::1]:2379"}));
  EXPECT_EQ(f.balance, Balance::LeastConn);
  EXPECT_FALSE(f.client_first);
  EXPECT_FALSE(f.close_sessions_on_down);
  EXPECT_EQ(f.max_connect_attempts, 5);
  EXPECT_EQ(f.timeouts.connect, std::chrono::seconds(2));
  EXPECT_EQ(f.timeouts.server_idle, std::chrono::minutes(30));
  EXPECT_EQ(f.hedge.connect_delay, Millis(0));
  EXPECT_EQ(f.hedge.first_byte_delay, Millis(50));
  EXPECT_EQ(f.hedge.first_bytes_max, 4096u);
  const HealthCheck& h = f.health;
  EXPECT_EQ(h.kind, CheckKind::Https);
  EXPECT_EQ(h.interval, std::chrono::seconds(2));
  EXPECT_EQ(h.transition_interval, Millis(100));
  EXPECT_EQ(h.down_interval, std::chrono::seconds(3));
  EXPECT_EQ(h.timeout, Millis(500));
  EXPECT_EQ(h.rise, 3);
  EXPECT_EQ(h.fall, 4);
  EXPECT_DOUBLE_EQ(h.jitter, 0.2);
  EXPECT_EQ(h.path, "/health");
  EXPECT_EQ(h.expect_status, 204);
  EXPECT_TRUE(h.tls.verify);
  EXPECT_EQ(h.tls.ca_file, "ca.pem");
  EXPECT_EQ(h.tls.server_name, "etcd");
  EXPECT_EQ(h.tls.cert_file, "c.pem");
  EXPECT_EQ(h.tls.key_file, "k.pem");
  ASSERT_EQ(f.backends.size(), 2u);
  EXPECT_EQ(f.backends[0].name, "10.0.0.1:2379");  // defaults to the address
  EXPECT_EQ(f.backends[1].name, "m2");
}

TEST(Loader, VipSectionIsSkipped) {
  EXPECT_EQ(errors(doc("", "vip: {interface: eth0, anything: [1, 2]}\n")), Lines{});
}

TEST(Loader, DiscoveryBelongsToAFrontend) {
  EXPECT_EQ(errors(doc("", "discovery:\n  kubeconfig: /k\n")),
            (Lines{"c.yaml:1:1: discovery: unknown key \"discovery\"; expected one of: log_format, workers, max_sessions, splice, "
                   "shutdown_grace, drain_timeout, admin, frontends, vip"}));
}

TEST(Loader, InvalidYamlNamesLineAndColumn) {
  EXPECT_EQ(errors("frontends: [\n  {name: a\n"),
            (Lines{"c.yaml:3:1: invalid YAML: end of map flow not found"}));
}

TEST(Loader, OneDocumentOnly) {
  EXPECT_EQ(errors(doc("", "---\n") + "---\nfoo: 1\n"),
            (Lines{"c.yaml:8:1: expected one YAML document, found a second one here"}));
}

TEST(Loader, ValuesInMessagesAreEscapedAndShortened) {
  EXPECT_EQ(errors(doc("    balance: \"a\\tb\\\"c\\u00e9" + std::string(70, 'x') + "\"\n")),
            (Lines{"c.yaml:6:14: frontends[0].balance: expected roundrobin or leastconn, got "
                   "\"a\\x09b\\\"c\\xc3\\xa9" + std::string(53, 'x') + "...\""}));
}

TEST(Loader, EmptyFile) {
  EXPECT_EQ(errors("# nothing\n"), (Lines{"c.yaml: the file is empty; expected a map with a frontends list"}));
}

TEST(Loader, TopLevelMustBeAMap) {
  EXPECT_EQ(errors("- a\n- b\n"),
            (Lines{"c.yaml:1:1: expected a map with a frontends list at the top level, got a list"}));
}

TEST(Loader, UnknownKeyListsExpectedKeys) {
  EXPECT_EQ(errors(doc("    health: {kind: tcp, intervall: 1s}\n")),
            (Lines{"c.yaml:6:25: frontends[0].health.intervall: unknown key \"intervall\" (did you mean \"interval\"?); expected one of: kind, "
                   "interval, transition_interval, down_interval, down_interval_max, timeout, rise, fall, jitter, fresh_connect_interval, path, "
                   "expect_status, tls"}));
  EXPECT_EQ(errors(doc("", "listen: 1\n")),
            (Lines{"c.yaml:1:1: listen: unknown key \"listen\"; expected one of: log_format, workers, max_sessions, splice, "
                   "shutdown_grace, drain_timeout, admin, frontends, vip"}));
}

TEST(Loader, DuplicateKey) {
  EXPECT_EQ(errors(doc("    balance: leastconn\n    balance: roundrobin\n")),
            (Lines{"c.yaml:7:5: frontends[0].balance: duplicate key \"balance\" (first at line 6)"}));
}

TEST(Loader, WrongTypes) {
  EXPECT_EQ(errors(doc("    health: [tcp]\n")), (Lines{"c.yaml:6:13: frontends[0].health: expected a map, got a list"}));
  EXPECT_EQ(errors("frontends: {name: a}\n"),
            (Lines{"c.yaml:1:12: frontends: expected a list of frontends, got a map"}));
  EXPECT_EQ(errors(doc("    max_connect_attempts: three\n")),
            (Lines{"c.yaml:6:27: frontends[0].max_connect_attempts: expected an integer, got \"three\""}));
  EXPECT_EQ(errors(doc("    client_first: yes\n")),
            (Lines{"c.yaml:6:19: frontends[0].client_first: expected true or false, got \"yes\""}));
  EXPECT_EQ(errors(doc("    health: {jitter: lots}\n")),
            (Lines{"c.yaml:6:22: frontends[0].health.jitter: expected a number, got \"lots\""}));
  EXPECT_EQ(errors(doc("    hedge: {first_bytes_max: -1}\n")),
            (Lines{"c.yaml:6:30: frontends[0].hedge.first_bytes_max: expected an integer from 0 to 4294967295, "
                   "got \"-1\""}));
  EXPECT_EQ(errors(doc("    health:\n      kind: tcp\n      rise:\n      fall: 2\n")),
            (Lines{"c.yaml:8:7: frontends[0].health.rise: expected an integer, got nothing"}));
  EXPECT_EQ(errors(doc("    health: {path: [a]}\n")),
            (Lines{"c.yaml:6:20: frontends[0].health.path: expected a string, got a list"}));
}

TEST(Loader, ListenMustBeAList) {
  EXPECT_EQ(errors("frontends:\n  - name: a\n    listen: 127.0.0.1:1\n    backends: [{address: 10.0.0.1:1}]\n"),
            (Lines{"c.yaml:3:13: frontends[0].listen: expected a list of host:port addresses, got \"127.0.0.1:1\""}));
}

TEST(Loader, DurationWithoutUnit) {
  EXPECT_EQ(errors(doc("    timeouts: {connect: 5}\n")),
            (Lines{"c.yaml:6:25: frontends[0].timeouts.connect: expected a duration with a unit (ms, s, m, h) "
                   "such as \"5s\", got \"5\""}));
  EXPECT_EQ(errors(doc("", "shutdown_grace: 5 sec\n")),
            (Lines{"c.yaml:1:17: shutdown_grace: expected a duration with a unit (ms, s, m, h) such as \"5s\", "
                   "got \"5 sec\""}));
}

TEST(Loader, BadChoices) {
  EXPECT_EQ(errors(doc("    balance: random\n")),
            (Lines{"c.yaml:6:14: frontends[0].balance: expected roundrobin or leastconn, got \"random\""}));
  EXPECT_EQ(errors(doc("    health: {kind: http}\n")),
            (Lines{"c.yaml:6:20: frontends[0].health.kind: expected none, tcp, tls or https, got \"http\""}));
}

TEST(Loader, ReportsEveryProblemAtOnceInFileOrder) {
  const auto e = errors(doc("    balance: random\n    health: {rise: 0, fall: x}\n", "workers: -1\n"));
  EXPECT_EQ(e, (Lines{"c.yaml:1:10: workers: must be >= 0, got -1",
                      "c.yaml:7:14: frontends[0].balance: expected roundrobin or leastconn, got \"random\"",
                      "c.yaml:8:20: frontends[0].health.rise: must be >= 1, got 0",
                      "c.yaml:8:29: frontends[0].health.fall: expected an integer, got \"x\""}));
}

TEST(Loader, UnreadableValueIsNotReportedTwice) {
  // The list is unreadable, so "at least one address is required" would only repeat it.
  EXPECT_EQ(errors("frontends:\n  - name: a\n    listen: {a: 1}\n    backends: [{address: 10.0.0.1:1}]\n"),
            (Lines{"c.yaml:3:13: frontends[0].listen: expected a list of host:port addresses, got a map"}));
}

TEST(Loader, FileThatCannotBeRead) {
  const auto r = load_config_file("/nonexistent/kha.yaml");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(format_diagnostics(r.errors()), "/nonexistent/kha.yaml: cannot read the file: No such file or directory\n");
}

TEST(Loader, FileIsReadAndNamed) {
  const std::string path = ::testing::TempDir() + "/kha_loader_test.yaml";
  std::ofstream(path) << doc("    health: {rise: 0}\n");
  const auto r = load_config_file(path);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(format_diagnostics(r.errors()), path + ":6:20: frontends[0].health.rise: must be >= 1, got 0\n");
}

}  // namespace
}  // namespace kha::config
