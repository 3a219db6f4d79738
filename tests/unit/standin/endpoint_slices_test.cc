// EndpointSlices from an endpoints list, and the watch events between two lists.
#include "standin/endpoint_slices.h"

#include <gtest/gtest.h>

#include <sstream>

namespace kha::standin {
namespace {

std::vector<nlohmann::json> events(const std::string& lines) {
  std::vector<nlohmann::json> out;
  std::istringstream in(lines);
  for (std::string line; std::getline(in, line);) out.push_back(nlohmann::json::parse(line));
  return out;
}

TEST(ParseEndpoints, AcceptsIpPortList) {
  auto r = parse_endpoints(R"(["10.0.0.1:6443", "[fd00::1]:6443"])", "e.json");
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r.value().size(), 2u);
  EXPECT_EQ(r.value()[1].host, "fd00::1");
}

TEST(ParseEndpoints, NamesEveryBadElement) {
  auto r = parse_endpoints(R"(["10.0.0.1", 7, "api.example.com:6443"])", "e.json");
  ASSERT_FALSE(r.ok());
  ASSERT_EQ(r.errors().size(), 3u);
  EXPECT_EQ(r.errors()[0].to_string(), "e.json: [0]: expected host:port, e.g. 127.0.0.1:6443");
  EXPECT_EQ(r.errors()[1].to_string(), "e.json: [1]: expected a string \"ip:port\"");
  EXPECT_EQ(r.errors()[2].to_string(), "e.json: [2]: expected an IP address, got api.example.com");
  EXPECT_FALSE(parse_endpoints("{}", "e.json").ok());
}

TEST(MakeSlices, OnePerFamilyAndPort) {
  auto eps = parse_endpoints(R"(["10.0.0.1:6443", "10.0.0.2:6443", "[fd00::1]:6443", "10.0.0.3:443"])", "f");
  auto slices = make_slices(eps.value(), 7);
  ASSERT_EQ(slices.size(), 3u);
  EXPECT_EQ(slices[0]["metadata"]["name"], "kubernetes");
  EXPECT_EQ(slices[0]["endpoints"].size(), 2u);
  EXPECT_EQ(slices[0]["metadata"]["labels"]["kubernetes.io/service-name"], "kubernetes");
  EXPECT_EQ(slices[0]["metadata"]["resourceVersion"], "7");
  EXPECT_EQ(slices[1]["metadata"]["name"], "kubernetes-ipv6");
  EXPECT_EQ(slices[1]["addressType"], "IPv6");
  EXPECT_EQ(slices[2]["metadata"]["name"], "kubernetes-443");
  EXPECT_EQ(slices[2]["ports"][0]["port"], 443);
  EXPECT_TRUE(slices[0]["endpoints"][0]["conditions"]["ready"].get<bool>());
}

TEST(SliceEvents, AddedModifiedDeleted) {
  auto one = make_slices(parse_endpoints(R"(["10.0.0.1:6443", "[fd00::1]:6443"])", "f").value(), 1);
  auto two = make_slices(parse_endpoints(R"(["10.0.0.2:6443"])", "f").value(), 2);
  auto first = events(slice_events({}, one));
  ASSERT_EQ(first.size(), 2u);
  EXPECT_EQ(first[0]["type"], "ADDED");
  auto change = events(slice_events(one, two));
  ASSERT_EQ(change.size(), 2u);
  EXPECT_EQ(change[0]["type"], "MODIFIED");
  EXPECT_EQ(change[0]["object"]["endpoints"][0]["addresses"][0], "10.0.0.2");
  EXPECT_EQ(change[1]["type"], "DELETED");
  EXPECT_EQ(change[1]["object"]["metadata"]["name"], "kubernetes-ipv6");
  auto same = make_slices(parse_endpoints(R"(["10.0.0.2:6443"])", "f").value(), 3);
  EXPECT_EQ(slice_events(two, same), "") << "a new resourceVersion alone is no change";
}

}  // namespace
}  // namespace kha::standin
