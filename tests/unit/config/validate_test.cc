// Semantic rules: one case per rule, asserting the exact message, through YAML (with
// positions) and through the flag form (Config built in code, keys named after flags).
#include "config/validate.h"

#include <gtest/gtest.h>

#include "config/loader.h"

namespace kha::config {
namespace {

using Lines = std::vector<std::string>;

// Line 1..5: a valid frontend; `extra` continues it from line 6; `more` follows at top level.
std::string doc(const std::string& extra, const std::string& more = "") {
  return "frontends:\n"
         "  - name: api\n"
         "    listen: [\"127.0.0.1:6443\"]\n"
         "    backends:\n"
         "      - {name: cp1, address: 10.0.0.1:6443}\n" +
         extra + more;
}

// `text` with the first `from` replaced by `to`.
std::string sub(std::string text, const std::string& from, const std::string& to) {
  return text.replace(text.find(from), from.size(), to);
}

Lines errors(const std::string& yaml) {
  Lines out;
  const auto r = load_config_text(yaml, "c.yaml");
  if (!r.ok()) {
    for (const auto& d : r.errors()) out.push_back(d.to_string());
  }
  return out;
}

struct Rule {
  const char* name;
  std::string yaml;
  std::string message;
};

class ValidateRule : public ::testing::TestWithParam<Rule> {};

TEST_P(ValidateRule, GivesItsMessage) { EXPECT_EQ(errors(GetParam().yaml), Lines{GetParam().message}); }

const std::string k2 = "  - name: two\n    backends: [{address: 10.0.0.9:1}]\n";

INSTANTIATE_TEST_SUITE_P(
    Rules, ValidateRule,
    ::testing::Values(
        Rule{"LogFormat", doc("", "log_format: xml\n"), "c.yaml:6:13: log_format: expected text or json, got \"xml\""},
        Rule{"Workers", doc("", "workers: -2\n"), "c.yaml:6:10: workers: must be >= 0, got -2"},
        Rule{"NoFrontends", "frontends: []\n", "c.yaml:1:12: frontends: at least one frontend is required"},
        Rule{"NoFrontendsKey", "workers: 1\n", "c.yaml:1:1: frontends: at least one frontend is required"},
        Rule{"NameRequired", "frontends:\n  - listen: [\"127.0.0.1:1\"]\n    backends: [{address: 10.0.0.1:1}]\n",
             "c.yaml:2:5: frontends[0].name: is required"},
        Rule{"NamePattern", sub(doc(""), "name: api", "name: Api"),
             "c.yaml:2:11: frontends[0].name: must match [a-z0-9_-]+, got \"Api\""},
        Rule{"DuplicateFrontendName", doc("", "  - name: api\n    listen: [\"127.0.0.1:1\"]\n"
                                              "    backends: [{address: 10.0.0.1:1}]\n"),
             "c.yaml:6:11: frontends[1].name: duplicate frontend name \"api\" (also frontends[0])"},
        Rule{"ListenEmpty", sub(doc(""), "[\"127.0.0.1:6443\"]", "[]"), "c.yaml:3:13: frontends[0].listen: at least one address is required"},
        Rule{"ListenNoPort", sub(doc(""), "127.0.0.1:6443", "127.0.0.1"),
             "c.yaml:3:14: frontends[0].listen[0]: expected host:port, e.g. 127.0.0.1:6443, got \"127.0.0.1\""},
        Rule{"ListenIpv6Unbracketed", sub(doc(""), "127.0.0.1:6443", "::1:6443"),
             "c.yaml:3:14: frontends[0].listen[0]: expected an IPv6 address in brackets, e.g. [::1]:6443, got \"::1:6443\""},
        Rule{"ListenBadPort", sub(doc(""), "127.0.0.1:6443", "127.0.0.1:70000"),
             "c.yaml:3:14: frontends[0].listen[0]: expected a port number from 0 to 65535, got \"127.0.0.1:70000\""},
        Rule{"ListenName", sub(doc(""), "127.0.0.1:6443", "localhost:6443"),
             "c.yaml:3:14: frontends[0].listen[0]: expected an IP address to listen on (names are not resolved), got host \"localhost\""},
        Rule{"ListenDuplicateInFrontend", sub(doc(""), "[\"127.0.0.1:6443\"]", "[\"127.0.0.1:6443\", \"127.0.0.1:6443\"]"),
             "c.yaml:3:32: frontends[0].listen[1]: address 127.0.0.1:6443 is already used by frontends[0].listen[0]"},
        Rule{"ListenDuplicateAcrossFrontends", doc("", "  - name: two\n    listen: [\"[::1]:1\", \"127.0.0.1:6443\"]\n"
                                                      "    backends: [{address: 10.0.0.1:1}]\n"),
             "c.yaml:7:25: frontends[1].listen[1]: address 127.0.0.1:6443 is already used by frontends[0].listen[0]"},
        Rule{"ListenOverlapsWildcard", doc("", "  - name: two\n    listen: [\"0.0.0.0:6443\"]\n"
                                              "    backends: [{address: 10.0.0.1:1}]\n"),
             "c.yaml:7:14: frontends[1].listen[0]: address 0.0.0.0:6443 overlaps 127.0.0.1:6443 of frontends[0].listen[0]"},
        Rule{"BackendsEmpty", "frontends:\n  - name: a\n    listen: [\"127.0.0.1:1\"]\n    backends: []\n",
             "c.yaml:4:15: frontends[0].backends: at least one backend is required"},
        Rule{"BackendAddressRequired", doc("      - {name: cp2}\n"),
             "c.yaml:6:9: frontends[0].backends[1].address: is required"},
        Rule{"BackendAddressMalformed", doc("      - {address: \"10.0.0.2\"}\n"),
             "c.yaml:6:19: frontends[0].backends[1].address: expected host:port, e.g. 127.0.0.1:6443, got \"10.0.0.2\""},
        Rule{"BackendPortZero", doc("      - {address: 10.0.0.2:0}\n"),
             "c.yaml:6:19: frontends[0].backends[1].address: port must be 1..65535, got 0"},
        Rule{"BackendAddressDuplicate", doc("      - {name: cp2, address: 10.0.0.1:6443}\n"),
             "c.yaml:6:30: frontends[0].backends[1].address: duplicate backend address 10.0.0.1:6443 (also backends[0])"},
        Rule{"BackendNameDuplicate", doc("      - {name: cp1, address: 10.0.0.2:6443}\n"),
             "c.yaml:6:16: frontends[0].backends[1].name: duplicate backend name \"cp1\" (also backends[0])"},
        Rule{"MaxConnectAttempts", doc("    max_connect_attempts: 0\n"),
             "c.yaml:6:27: frontends[0].max_connect_attempts: must be >= 1, got 0"},
        Rule{"ConnectTimeout", doc("    timeouts: {connect: 0s}\n"),
             "c.yaml:6:25: frontends[0].timeouts.connect: must be 1ms..5m, got 0ms"},
        Rule{"ClientIdle", doc("    timeouts: {client_idle: 0ms}\n"),
             "c.yaml:6:29: frontends[0].timeouts.client_idle: must be 1ms..24h, got 0ms"},
        Rule{"ServerIdle", doc("    timeouts: {server_idle: 0h}\n"),
             "c.yaml:6:29: frontends[0].timeouts.server_idle: must be 1ms..24h, got 0ms"},
        Rule{"FirstBytesMax", doc("    hedge: {first_bytes_max: 65537}\n"),
             "c.yaml:6:30: frontends[0].hedge.first_bytes_max: must be 1..65536, got 65537"},
        Rule{"Interval", doc("    health: {interval: 0s}\n"), "c.yaml:6:24: frontends[0].health.interval: must be 1ms..1h, got 0ms"},
        Rule{"TransitionInterval", doc("    health: {transition_interval: 0s}\n"),
             "c.yaml:6:35: frontends[0].health.transition_interval: must be 1ms..1h, got 0ms"},
        Rule{"DownInterval", doc("    health: {down_interval: 0s}\n"),
             "c.yaml:6:29: frontends[0].health.down_interval: must be 1ms..1h, got 0ms"},
        Rule{"CheckTimeout", doc("    health: {timeout: 0s}\n"), "c.yaml:6:23: frontends[0].health.timeout: must be 1ms..5m, got 0ms"},
        Rule{"Rise", doc("    health: {rise: 0}\n"), "c.yaml:6:20: frontends[0].health.rise: must be >= 1, got 0"},
        Rule{"Fall", doc("    health: {fall: -1}\n"), "c.yaml:6:20: frontends[0].health.fall: must be >= 1, got -1"},
        Rule{"Jitter", doc("    health: {jitter: 0.75}\n"), "c.yaml:6:22: frontends[0].health.jitter: must be 0..0.5, got 0.75"},
        Rule{"Path", doc("    health: {path: readyz}\n"),
             "c.yaml:6:20: frontends[0].health.path: must start with \"/\", got \"readyz\""},
        Rule{"ExpectStatus", doc("    health: {expect_status: 600}\n"),
             "c.yaml:6:29: frontends[0].health.expect_status: must be 100..599, got 600"},
        Rule{"VerifyWithoutCa", doc("    health: {kind: tls, tls: {verify: true}}\n"),
             "c.yaml:6:30: frontends[0].health.tls.ca_file: is required when verify is true"},
        Rule{"CertWithoutKey", doc("    health: {tls: {cert_file: c.pem}}\n"),
             "c.yaml:6:19: frontends[0].health.tls.key_file: is required when cert_file is set"},
        Rule{"KeyWithoutCert", doc("    health: {tls: {key_file: k.pem}}\n"),
             "c.yaml:6:19: frontends[0].health.tls.cert_file: is required when key_file is set"},
        // Upper bounds: one row per duration key, just past its bound.
        Rule{"ConnectTimeoutTooLong", doc("    timeouts: {connect: 5m1ms}\n"),
             "c.yaml:6:25: frontends[0].timeouts.connect: must be 1ms..5m, got 300001ms"},
        Rule{"ClientIdleTooLong", doc("    timeouts: {client_idle: 25h}\n"),
             "c.yaml:6:29: frontends[0].timeouts.client_idle: must be 1ms..24h, got 25h"},
        Rule{"ServerIdleTooLong", doc("    timeouts: {server_idle: 24h1s}\n"),
             "c.yaml:6:29: frontends[0].timeouts.server_idle: must be 1ms..24h, got 86401s"},
        Rule{"HedgeConnectDelayTooLong", doc("    hedge: {connect_delay: 6m}\n"),
             "c.yaml:6:28: frontends[0].hedge.connect_delay: must be 0ms..5m, got 6m"},
        Rule{"HedgeFirstByteDelayTooLong", doc("    hedge: {first_byte_delay: 1h}\n"),
             "c.yaml:6:31: frontends[0].hedge.first_byte_delay: must be 0ms..5m, got 1h"},
        Rule{"IntervalTooLong", doc("    health: {interval: 61m}\n"),
             "c.yaml:6:24: frontends[0].health.interval: must be 1ms..1h, got 61m"},
        Rule{"TransitionIntervalTooLong", doc("    health: {transition_interval: 2h}\n"),
             "c.yaml:6:35: frontends[0].health.transition_interval: must be 1ms..1h, got 2h"},
        Rule{"DownIntervalTooLong", doc("    health: {down_interval: 1h1ms}\n"),
             "c.yaml:6:29: frontends[0].health.down_interval: must be 1ms..1h, got 3600001ms"},
        Rule{"CheckTimeoutTooLong", doc("    health: {timeout: 10m}\n"),
             "c.yaml:6:23: frontends[0].health.timeout: must be 1ms..5m, got 10m"},
        Rule{"DiscoveryRetryTooLong", doc("    discovery: {retry: 2h}\n"),
             "c.yaml:6:24: frontends[0].discovery.retry: must be 1ms..1h, got 2h"},
        Rule{"DiscoveryRetryZero", doc("    discovery: {retry: 0s}\n"),
             "c.yaml:6:24: frontends[0].discovery.retry: must be 1ms..1h, got 0ms"},
        Rule{"ShutdownGraceTooLong", doc("", "shutdown_grace: 2h\n"), "c.yaml:6:17: shutdown_grace: must be 0ms..1h, got 2h"},
        Rule{"DrainTimeoutTooLong", doc("", "drain_timeout: 90m\n"), "c.yaml:6:16: drain_timeout: must be 0ms..1h, got 90m"},
        // Past what parse_duration() accepts at all: the reader reports it, at the value.
        Rule{"IntervalAbsurd", doc("    health: {interval: 1000000000h}\n"),
             "c.yaml:6:24: frontends[0].health.interval: expected a duration of at most 1000000h, got \"1000000000h\""},
        Rule{"SlowStartBounded", doc("    slow_start: 2h\n"), "c.yaml:6:17: frontends[0].slow_start: must be 0ms..1h, got 2h"},
        Rule{"ResolveIntervalBounded", doc("    resolve_interval: 0s\n"),
             "c.yaml:6:23: frontends[0].resolve_interval: must be 1s..1h, got 0ms"},
        Rule{"DownIntervalMaxBounded", doc("    health: {down_interval_max: 2h}\n"),
             "c.yaml:6:33: frontends[0].health.down_interval_max: must be 1ms..1h, got 2h"},
        Rule{"CloseSpreadBounded", doc("    close_on_down_spread: 2m\n"),
             "c.yaml:6:27: frontends[0].close_on_down_spread: must be 0ms..1m, got 2m"},
        Rule{"AdminListenMalformed", doc("", "admin: {listen: \"8081\"}\n"),
             "c.yaml:6:17: admin.listen: expected host:port, e.g. 127.0.0.1:6443, got \"8081\""},
        Rule{"AdminListenTaken", doc("", "admin: {listen: \"127.0.0.1:6443\"}\n"),
             "c.yaml:6:17: admin.listen: address 127.0.0.1:6443 is already used by frontends[0].listen[0]"},
        Rule{"MetricsListenNotAnIp", doc("", "admin: {metrics_listen: \"node1:9101\"}\n"),
             "c.yaml:6:25: admin.metrics_listen: expected an IP address to listen on (names are not resolved), "
             "got host \"node1\""},
        Rule{"MetricsListenTakenByAdmin", doc("", "admin: {listen: \"127.0.0.1:8081\", metrics_listen: \"127.0.0.1:8081\"}\n"),
             "c.yaml:6:51: admin.metrics_listen: address 127.0.0.1:8081 is already used by admin.listen"},
        Rule{"MetricsListenOverlapsAdmin", doc("", "admin: {metrics_listen: \"0.0.0.0:8081\"}\n"),
             "c.yaml:6:25: admin.metrics_listen: address 0.0.0.0:8081 overlaps 127.0.0.1:8081 of admin.listen"}),
    [](const auto& rule) { return std::string(rule.param.name); });

TEST(Validate, DurationBoundsAreInclusive) {
  EXPECT_EQ(errors(doc("    timeouts: {connect: 5m, client_idle: 24h, server_idle: 1ms}\n"
                       "    hedge: {connect_delay: 0ms, first_byte_delay: 5m}\n"
                       "    slow_start: 1h\n"
                       "    health: {interval: 1h, transition_interval: 1ms, down_interval: 1h, down_interval_max: 1h, timeout: 5m}\n"
                       "    discovery: {retry: 1h}\n",
                       "shutdown_grace: 0s\ndrain_timeout: 1h\n")),
            Lines{});
}

// 2^64 ms + 5s, written as parts: a parser summing without checks wraps it to 5s and accepts it.
TEST(Validate, DurationPartsSummingPast2To64AreRejected) {
  std::string parts;
  for (int i = 0; i < 5124; ++i) parts += "1000000000h";
  parts += "95576030h1556616ms";
  const Lines got = errors(doc("    health: {interval: " + parts + "}\n"));
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].rfind("c.yaml:6:24: frontends[0].health.interval: expected a duration of at most 1000000h, got \"", 0), 0u)
      << got[0];
}

TEST(Validate, AdminCanBeDisabled) { EXPECT_EQ(errors(doc("", "admin: {listen: \"\"}\n")), Lines{}); }

TEST(Validate, PortZeroListenersNeverCollide) {
  EXPECT_EQ(errors(sub(doc(""), "127.0.0.1:6443", "127.0.0.1:0") +
                   "  - name: two\n    listen: [\"127.0.0.1:0\"]\n    backends: [{address: 10.0.0.1:1}]\n"),
            Lines{});
}

TEST(Validate, Ipv6ListenersAreNormalisedBeforeComparing) {
  EXPECT_EQ(errors(sub(doc(""), "[\"127.0.0.1:6443\"]", "[\"[::1]:6443\", \"[0::0001]:6443\"]")),
            Lines{"c.yaml:3:28: frontends[0].listen[1]: address [::1]:6443 is already used by frontends[0].listen[0]"});
}

// The flag form: `kha proxy --listen ... --backend ... --health-check ...` builds this Config.
Config flags_config() {
  Config c;  // source "<flags>"
  Frontend f;
  f.name = "default";
  f.listen = {"127.0.0.1:6443"};
  f.backends = {{"", "127.0.0.1:7001"}, {"", "127.0.0.1:7002"}};
  c.frontends.push_back(f);
  fill_defaults(c);
  return c;
}

Lines flag_errors(const Config& c) {
  Lines out;
  for (const auto& d : validate(c)) out.push_back(d.to_string());
  return out;
}

TEST(ValidateFlags, ValidFlagsPass) { EXPECT_EQ(flag_errors(flags_config()), Lines{}); }

TEST(ValidateFlags, KeysNameTheFlags) {
  Config c = flags_config();
  c.frontends[0].listen.push_back("localhost:1");
  c.frontends[0].backends.push_back({"", "nope"});
  c.log_format = "xml";
  c.admin.listen = "127.0.0.1:6443";
  EXPECT_EQ(flag_errors(c),
            (Lines{"--log-format: expected text or json, got \"xml\"",
                   "--listen: expected an IP address to listen on (names are not resolved), got host \"localhost\"",
                   "--backend: expected host:port, e.g. 127.0.0.1:6443, got \"nope\"",
                   "--admin: address 127.0.0.1:6443 is already used by --listen 127.0.0.1:6443"}));
}

TEST(ValidateFlags, MissingListenAndBackend) {
  Config c = flags_config();
  c.frontends[0].listen.clear();
  c.frontends[0].backends.clear();
  EXPECT_EQ(flag_errors(c), (Lines{"--listen: at least one address is required",
                                   "--backend: at least one backend is required"}));
}

TEST(ValidateFlags, DuplicateListen) {
  Config c = flags_config();
  c.frontends[0].listen.push_back("127.0.0.1:6443");
  EXPECT_EQ(flag_errors(c), (Lines{"--listen: address 127.0.0.1:6443 is given twice"}));
}

TEST(ValidateFlags, DuplicateBackendIsReportedOnce) {
  Config c = flags_config();
  c.frontends[0].backends.push_back({"", "127.0.0.1:7001"});
  fill_defaults(c);
  EXPECT_EQ(flag_errors(c), (Lines{"--backend: duplicate backend address 127.0.0.1:7001 (given twice)"}));
}

}  // namespace
}  // namespace kha::config
