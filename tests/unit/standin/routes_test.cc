// The stand-in's URL space: what each path answers and how control changes state.
#include "standin/routes.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace kha::standin {
namespace {

class RoutesTest : public ::testing::Test {
 protected:
  Reply call(const std::string& method, const std::string& target) {
    std::string why;
    auto r = parse_request(method + " " + target + " HTTP/1.1\r\nHost: x\r\n\r\n", &why);
    EXPECT_TRUE(r) << why;
    return route(*r, state_, endpoints_);
  }
  State state_{"cp1"};
  EndpointSource endpoints_{"", {HostPort{"127.0.0.1", 6443}}};
};

TEST_F(RoutesTest, HealthEndpoints) {
  for (const char* path : {"/readyz", "/livez", "/healthz"}) {
    auto r = call("GET", path);
    EXPECT_EQ(r.response.status, 200) << path;
    EXPECT_EQ(r.response.body, "ok") << path;
  }
  auto verbose = call("GET", "/readyz?verbose");
  EXPECT_EQ(verbose.response.status, 200);
  EXPECT_NE(verbose.response.body.find("readyz check passed"), std::string::npos);
}

TEST_F(RoutesTest, NotReadyLooksLikeAShuttingDownApiserver) {
  auto set = call("POST", "/_standin/readyz?status=500");
  EXPECT_EQ(set.response.status, 200);
  EXPECT_FALSE(state_.ready);
  auto r = call("GET", "/readyz");
  EXPECT_EQ(r.response.status, 500);
  EXPECT_NE(r.response.body.find("[-]shutdown failed: reason withheld\n"), std::string::npos);
  EXPECT_NE(r.response.body.find("readyz check failed"), std::string::npos);
  EXPECT_EQ(call("GET", "/livez").response.status, 200);
  call("POST", "/_standin/readyz?status=200");
  EXPECT_TRUE(state_.ready);
}

TEST_F(RoutesTest, VersionCarriesIdentity) {
  auto r = call("GET", "/version");
  auto doc = nlohmann::json::parse(r.response.body);
  EXPECT_EQ(doc["identity"], "cp1");
  EXPECT_EQ(doc["gitVersion"], "v1.29.0-kha-standin");
  EXPECT_EQ(r.response.content_type, "application/json");
}

TEST_F(RoutesTest, WatchOnAnyPath) {
  EXPECT_EQ(call("GET", "/api/v1/namespaces/default/pods?watch=true").stream, StreamKind::Pods);
  EXPECT_EQ(call("GET", "/anything?watch=1").stream, StreamKind::Pods);
  EXPECT_EQ(call("GET", "/apis/discovery.k8s.io/v1/namespaces/default/endpointslices?watch=true").stream,
            StreamKind::EndpointSlices);
  EXPECT_EQ(call("GET", "/api/v1/namespaces/default/pods?watch=false").stream, StreamKind::None);
}

TEST_F(RoutesTest, PodEvents) {
  auto first = nlohmann::json::parse(pod_event("cp1", 1));
  auto second = nlohmann::json::parse(pod_event("cp1", 2));
  EXPECT_EQ(first["type"], "ADDED");
  EXPECT_EQ(second["type"], "MODIFIED");
  EXPECT_EQ(second["identity"], "cp1");
  EXPECT_EQ(second["object"]["metadata"]["resourceVersion"], "2");
  EXPECT_EQ(pod_event("cp1", 1).back(), '\n');
}

TEST_F(RoutesTest, ModeControl) {
  auto r = call("POST", "/_standin/mode?m=hang");
  ASSERT_TRUE(r.set_mode);
  EXPECT_EQ(*r.set_mode, Mode::Hang);
  EXPECT_EQ(state_.mode, Mode::Normal) << "the server applies the mode, not route()";
  auto bad = call("POST", "/_standin/mode?m=sleepy");
  EXPECT_EQ(bad.response.status, 400);
  EXPECT_FALSE(bad.set_mode);
  EXPECT_EQ(call("GET", "/_standin/mode?m=hang").response.status, 405);
  EXPECT_EQ(call("POST", "/_standin/readyz?status=404").response.status, 400);
  EXPECT_EQ(call("POST", "/_standin/nothing").response.status, 404);
}

TEST_F(RoutesTest, UnknownPathsAndMethods) {
  auto r = call("GET", "/nope");
  EXPECT_EQ(r.response.status, 404);
  auto doc = nlohmann::json::parse(r.response.body);
  EXPECT_EQ(doc["kind"], "Status");
  EXPECT_EQ(doc["reason"], "NotFound");
  EXPECT_EQ(call("DELETE", "/readyz").response.status, 405);
}

TEST_F(RoutesTest, SliceListDefaultsToOwnAddress) {
  auto r = call("GET", "/apis/discovery.k8s.io/v1/namespaces/default/endpointslices?labelSelector=x");
  auto doc = nlohmann::json::parse(r.response.body);
  EXPECT_EQ(doc["kind"], "EndpointSliceList");
  EXPECT_EQ(doc["items"][0]["endpoints"][0]["addresses"][0], "127.0.0.1");
  EXPECT_EQ(doc["items"][0]["ports"][0]["port"], 6443);
}

TEST(Modes, ParseAndPrint) {
  for (Mode m : {Mode::Normal, Mode::Hang, Mode::Reset, Mode::Refuse}) EXPECT_EQ(parse_mode(to_string(m)), m);
  EXPECT_FALSE(parse_mode("Hang"));
}

}  // namespace
}  // namespace kha::standin
