// Status rendering: Prometheus text and JSON carry the state, counters and drops by reason.
#include "vip/status.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace kha::vip {
namespace {

Status sample() {
  Status s;
  s.interface = "eth0";
  s.vrid = 51;
  s.state = State::Master;
  s.priority = 90;
  s.base_priority = 150;
  s.transitions = 2;
  s.adverts_sent = 7;
  s.adverts_received = 3;
  s.tracking = true;
  s.tracked_healthy = false;
  s.master_down_interval_seconds = 3.609375;
  s.count_drop(DropReason::Checksum);
  s.count_drop(DropReason::Checksum);
  s.count_drop(DropReason::Ttl);
  return s;
}

TEST(StatusTest, PrometheusText) {
  std::string t = render_prometheus(sample());
  EXPECT_NE(t.find("kha_vip_state{interface=\"eth0\",vrid=\"51\",state=\"master\"} 1\n"), std::string::npos) << t;
  EXPECT_NE(t.find("kha_vip_state{interface=\"eth0\",vrid=\"51\",state=\"backup\"} 0\n"), std::string::npos);
  EXPECT_NE(t.find("kha_vip_priority{interface=\"eth0\",vrid=\"51\"} 90\n"), std::string::npos);
  EXPECT_NE(t.find("kha_vip_transitions_total{interface=\"eth0\",vrid=\"51\"} 2\n"), std::string::npos);
  EXPECT_NE(t.find("kha_vip_adverts_sent_total{interface=\"eth0\",vrid=\"51\"} 7\n"), std::string::npos);
  EXPECT_NE(t.find("kha_vip_adverts_dropped_total{interface=\"eth0\",vrid=\"51\",reason=\"checksum\"} 2\n"), std::string::npos);
  EXPECT_NE(t.find("kha_vip_adverts_dropped_total{interface=\"eth0\",vrid=\"51\",reason=\"ttl\"} 1\n"), std::string::npos);
  EXPECT_NE(t.find("kha_vip_tracked_healthy{interface=\"eth0\",vrid=\"51\"} 0\n"), std::string::npos);
  EXPECT_NE(t.find("# TYPE kha_vip_adverts_dropped_total counter\n"), std::string::npos);
  EXPECT_NE(t.find("kha_vip_master_down_interval_seconds{interface=\"eth0\",vrid=\"51\"} 3.609375\n"), std::string::npos);
}

TEST(StatusTest, Json) {
  auto j = nlohmann::json::parse(render_json(sample()));
  EXPECT_EQ(j["state"], "master");
  EXPECT_EQ(j["priority"], 90);
  EXPECT_EQ(j["base_priority"], 150);
  EXPECT_EQ(j["dropped"]["checksum"], 2);
  EXPECT_EQ(j["dropped"]["vrid"], 0);
  EXPECT_EQ(j["tracked_healthy"], false);
  EXPECT_EQ(sample().dropped_total(), 3u);
}

}  // namespace
}  // namespace kha::vip
