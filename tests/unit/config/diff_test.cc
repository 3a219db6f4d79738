// config::diff: what a reload changes.
#include "config/diff.h"

#include <gtest/gtest.h>

namespace kha::config {
namespace {

using Names = std::vector<std::string>;

Frontend frontend(const std::string& name, Names listen, std::vector<Backend> backends) {
  Frontend f;
  f.name = name;
  f.listen = std::move(listen);
  f.backends = std::move(backends);
  return f;
}

Config base() {
  Config c;
  c.frontends.push_back(frontend("apiserver", {"127.0.0.1:6443", "[::1]:6443"},
                                 {{"cp1", "10.0.0.1:6443"}, {"cp2", "10.0.0.2:6443"}, {"cp3", "10.0.0.3:6443"}}));
  c.frontends.push_back(frontend("etcd", {"127.0.0.1:2379"}, {{"e1", "10.0.0.1:2379"}}));
  return c;
}

TEST(Diff, SameConfigHasNoChanges) {
  const auto d = diff(base(), base());
  EXPECT_TRUE(d.empty());
  EXPECT_EQ(d.summary(), "no changes");
}

TEST(Diff, ListenerOrderAndSpellingDoNotCount) {
  Config b = base();
  b.frontends[0].listen = {"[0::1]:6443", "127.0.0.1:6443"};
  b.source = "other.yaml";
  EXPECT_TRUE(diff(base(), b).empty());
}

TEST(Diff, FrontendsAddedAndRemoved) {
  Config b = base();
  b.frontends.erase(b.frontends.begin() + 1);
  b.frontends.push_back(frontend("konnectivity", {"127.0.0.1:8132"}, {{"k1", "10.0.0.1:8132"}}));
  const auto d = diff(base(), b);
  EXPECT_EQ(d.frontends_added, Names{"konnectivity"});
  EXPECT_EQ(d.frontends_removed, Names{"etcd"});
  EXPECT_TRUE(d.frontends_changed.empty());
  EXPECT_EQ(d.summary(), "frontends +konnectivity -etcd");
}

TEST(Diff, ListenersAndBackends) {
  Config b = base();
  auto& f = b.frontends[0];
  f.listen = {"127.0.0.1:6443", "127.0.0.2:6443"};
  f.backends = {{"cp2", "10.0.0.22:6443"}, {"cp3", "10.0.0.3:6443"}, {"cp4", "10.0.0.4:6443"}};
  const auto d = diff(base(), b);
  ASSERT_EQ(d.frontends_changed.size(), 1u);
  const FrontendDiff& fd = d.frontends_changed[0];
  EXPECT_EQ(fd.name, "apiserver");
  EXPECT_EQ(fd.listeners_added, Names{"127.0.0.2:6443"});
  EXPECT_EQ(fd.listeners_removed, Names{"[::1]:6443"});
  EXPECT_EQ(fd.backends_added, Names{"cp4"});
  EXPECT_EQ(fd.backends_removed, Names{"cp1"});
  EXPECT_EQ(fd.backends_changed, Names{"cp2"});
  EXPECT_TRUE(fd.settings_changed.empty());
  EXPECT_EQ(d.summary(), "apiserver: listeners +127.0.0.2:6443 -[::1]:6443, backends +cp4 -cp1 ~cp2");
}

TEST(Diff, UnnamedBackendsAreMatchedByAddress) {
  Config a = base(), b = base();
  a.frontends[1].backends = {{"", "10.0.0.1:2379"}, {"", "10.0.0.2:2379"}};
  b.frontends[1].backends = {{"", "10.0.0.2:2379"}, {"", "10.0.0.3:2379"}};
  const auto d = diff(a, b);
  ASSERT_EQ(d.frontends_changed.size(), 1u);
  EXPECT_EQ(d.frontends_changed[0].backends_added, Names{"10.0.0.3:2379"});
  EXPECT_EQ(d.frontends_changed[0].backends_removed, Names{"10.0.0.1:2379"});
  EXPECT_TRUE(d.frontends_changed[0].backends_changed.empty());
}

TEST(Diff, FrontendSettings) {
  Config b = base();
  b.frontends[1].balance = Balance::LeastConn;
  b.frontends[1].timeouts.connect = Millis(500);
  b.frontends[1].hedge.first_bytes_max = 1024;
  b.frontends[1].health.interval = Millis(2000);
  b.frontends[1].health.tls.verify = true;
  const auto d = diff(base(), b);
  ASSERT_EQ(d.frontends_changed.size(), 1u);
  EXPECT_EQ(d.frontends_changed[0].name, "etcd");
  EXPECT_EQ(d.frontends_changed[0].settings_changed,
            (Names{"balance", "timeouts.connect", "hedge.first_bytes_max", "health.interval", "health.tls.verify"}));
  EXPECT_EQ(d.summary(),
            "etcd: settings balance timeouts.connect hedge.first_bytes_max health.interval health.tls.verify");
}

// What a change touches decides what the frontend's owner rebuilds.
TEST(Diff, ChangeKindsOfOneFrontend) {
  const Frontend a = base().frontends[0];
  Frontend b = a;
  b.health.tls.server_name = "api.local";  // the old hand comparison missed this one
  auto d = diff(a, b);
  EXPECT_TRUE(d.checks_changed);
  EXPECT_FALSE(d.data_path_changed || d.discovery_changed || d.listeners_touched() || d.backends_touched());

  b = a;
  b.close_sessions_on_down = false;
  EXPECT_TRUE(diff(a, b).checks_changed);

  b = a;
  b.hedge.connect_delay = Millis(50);
  d = diff(a, b);
  EXPECT_TRUE(d.data_path_changed);
  EXPECT_FALSE(d.checks_changed || d.discovery_changed);

  b = a;
  b.discovery.kubeconfig = "/etc/kha/kubeconfig";
  d = diff(a, b);
  EXPECT_TRUE(d.discovery_changed);
  EXPECT_EQ(d.settings_changed, Names{"discovery.kubeconfig"});
  EXPECT_FALSE(d.checks_changed || d.data_path_changed);

  b = a;
  b.listen.push_back("127.0.0.2:6443");
  d = diff(a, b);
  EXPECT_TRUE(d.listeners_touched());
  EXPECT_FALSE(d.backends_touched() || d.checks_changed || d.data_path_changed);

  b = a;
  b.backends[1].address = "10.0.0.9:6443";
  d = diff(a, b);
  EXPECT_TRUE(d.backends_touched());
  EXPECT_FALSE(d.listeners_touched() || d.checks_changed);
  EXPECT_TRUE(diff(a, a).empty());
}

TEST(Diff, TopLevelSettings) {
  Config b = base();
  b.workers = 4;
  b.admin.listen = "";
  b.admin.metrics_listen = "0.0.0.0:9101";
  b.drain_timeout = Millis(1000);
  const auto d = diff(base(), b);
  EXPECT_EQ(d.settings_changed, (Names{"workers", "drain_timeout", "admin.listen", "admin.metrics_listen"}));
  EXPECT_TRUE(d.frontends_changed.empty());
  EXPECT_EQ(d.summary(), "settings workers drain_timeout admin.listen admin.metrics_listen");
}

TEST(Diff, EverythingAtOnce) {
  Config b = base();
  b.splice = false;
  b.frontends[0].backends.pop_back();
  b.frontends[0].health.rise = 3;
  b.frontends.pop_back();
  EXPECT_EQ(diff(base(), b).summary(), "frontends -etcd; settings splice; apiserver: backends -cp3, settings health.rise");
}

}  // namespace
}  // namespace kha::config
