// EndpointSlice JSON as discovery reads it: list replies, watch lines, ready endpoints.
#include "daemon/slice_json.h"

#include <gtest/gtest.h>

namespace kha::daemon {
namespace {

std::vector<std::string> texts(const std::vector<HostPort>& list) {
  std::vector<std::string> out;
  for (const auto& b : list) out.push_back(b.to_string());
  return out;
}

const char* kSlice = R"({"metadata": {"name": "kubernetes", "resourceVersion": "7"},
  "ports": [{"port": 6443}],
  "endpoints": [{"addresses": ["10.0.0.1"], "conditions": {"ready": true}},
                {"addresses": ["10.0.0.2"], "conditions": {"ready": false}},
                {"addresses": ["fd00::3"]}]})";

TEST(SliceJson, ReadyEndpointsWithTheSlicePortOrTheOverride) {
  EXPECT_EQ(texts(slice_backends(kSlice, 0)), (std::vector<std::string>{"10.0.0.1:6443", "[fd00::3]:6443"}));
  EXPECT_EQ(texts(slice_backends(kSlice, 8443)), (std::vector<std::string>{"10.0.0.1:8443", "[fd00::3]:8443"}));
  EXPECT_TRUE(slice_backends("not json", 0).empty());
  EXPECT_TRUE(slice_backends(R"({"endpoints": "x", "ports": [1]})", 0).empty());
  EXPECT_TRUE(slice_backends(R"({"ports": [{"port": 70000}], "endpoints": []})", 0).empty());
}

TEST(SliceJson, ListReplaceTheSlicesAndTheVersion) {
  SliceMap slices{{"old", {HostPort{"10.9.9.9", 1}}}};
  std::string version = "1";
  const std::string list = std::string(R"({"metadata": {"resourceVersion": "42"}, "items": [)") + kSlice + "]}";
  EXPECT_EQ(read_slice_list(list, 0, &slices, &version), "");
  EXPECT_EQ(version, "42");
  ASSERT_EQ(slices.size(), 1u);
  EXPECT_EQ(texts(all_backends(slices)), (std::vector<std::string>{"10.0.0.1:6443", "[fd00::3]:6443"}));
  EXPECT_EQ(read_slice_list(R"({"kind": "Status"})", 0, &slices, &version), "not an EndpointSliceList");
  EXPECT_EQ(read_slice_list("[1,2]", 0, &slices, &version), "not an EndpointSliceList");
  EXPECT_EQ(slices.size(), 1u) << "a bad reply leaves the slices as they were";
}

TEST(SliceJson, WatchLinesAddModifyDeleteAndFail) {
  SliceMap slices;
  std::string version;
  auto step = apply_watch_line(std::string(R"({"type": "ADDED", "object": )") + kSlice + "}", 0, &slices, &version);
  EXPECT_TRUE(step.changed);
  EXPECT_EQ(version, "7");
  EXPECT_EQ(slices.size(), 1u);
  step = apply_watch_line(R"({"type": "BOOKMARK", "object": {"metadata": {"resourceVersion": "9"}}})", 0, &slices,
                          &version);
  EXPECT_FALSE(step.changed);
  EXPECT_EQ(version, "9");
  step = apply_watch_line(R"({"type": "DELETED", "object": {"metadata": {"name": "kubernetes"}}})", 0, &slices,
                          &version);
  EXPECT_TRUE(step.changed);
  EXPECT_TRUE(slices.empty());
  EXPECT_FALSE(apply_watch_line("garbage", 0, &slices, &version).changed);
  EXPECT_FALSE(apply_watch_line(R"({"type": 5, "object": {}})", 0, &slices, &version).changed);
  step = apply_watch_line(R"({"type": "ERROR", "object": {"message": "too old resource version"}})", 0, &slices,
                          &version);
  EXPECT_EQ(step.error, "too old resource version");
  EXPECT_EQ(apply_watch_line(R"({"type": "ERROR", "object": {}})", 0, &slices, &version).error, "error event");
}

TEST(SliceJson, AllBackendsAreUniqueAndSorted) {
  SliceMap slices{{"a", {HostPort{"10.0.0.2", 6443}, HostPort{"10.0.0.1", 6443}}},
                  {"b", {HostPort{"10.0.0.1", 6443}}}};
  EXPECT_EQ(texts(all_backends(slices)), (std::vector<std::string>{"10.0.0.1:6443", "10.0.0.2:6443"}));
}

}  // namespace
}  // namespace kha::daemon
