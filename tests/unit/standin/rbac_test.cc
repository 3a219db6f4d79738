// The stand-in's RBAC gate: which requests a token's user may make, as kube-apiserver's
// RBAC authorizer decides them.
#include "standin/rbac.h"

#include <cstdio>
#include <fstream>

#include <gtest/gtest.h>

namespace kha::standin {
namespace {

Request get(const std::string& target, const std::string& token = "t1") {
  std::string why;
  std::string head = "GET " + target + " HTTP/1.1\r\nHost: x\r\n";
  if (!token.empty()) head += "Authorization: Bearer " + token + "\r\n";
  auto r = parse_request(head + "\r\n", &why);
  EXPECT_TRUE(r) << why;
  return *r;
}

class RbacTest : public ::testing::Test {
 protected:
  RbacGate load(const std::string& yaml) {
    path_ = ::testing::TempDir() + "rbac_test.yaml";
    std::ofstream(path_) << yaml;
    auto gate = RbacGate::load(path_, {{"t1", "system:serviceaccount:kube-system:sa"}, {"t2", "alice"}});
    EXPECT_TRUE(gate.ok());
    return std::move(gate).value();
  }
  void TearDown() override { std::remove(path_.c_str()); }
  std::string path_;
};

constexpr const char* kRoleInDefault = R"(
kind: Role
metadata: {name: slices, namespace: default}
rules:
  - apiGroups: [discovery.k8s.io]
    resources: [endpointslices]
    verbs: [get, list, watch]
---
kind: RoleBinding
metadata: {name: slices, namespace: default}
roleRef: {kind: Role, name: slices}
subjects: [{kind: ServiceAccount, name: sa, namespace: kube-system}]
)";

TEST(ResourceRequest, FromPathAndQuery) {
  auto q = resource_request(get("/apis/discovery.k8s.io/v1/namespaces/default/endpointslices?labelSelector=a"));
  ASSERT_TRUE(q);
  EXPECT_EQ(q->verb, "list");
  EXPECT_EQ(q->api_group, "discovery.k8s.io");
  EXPECT_EQ(q->resource, "endpointslices");
  EXPECT_EQ(q->namespace_, "default");
  q = resource_request(get("/apis/discovery.k8s.io/v1/namespaces/default/endpointslices?watch=1"));
  EXPECT_EQ(q->verb, "watch");
  q = resource_request(get("/api/v1/namespaces/kube-system/secrets/x"));
  EXPECT_EQ(q->verb, "get");
  EXPECT_EQ(q->api_group, "");
  EXPECT_EQ(q->name, "x");
  q = resource_request(get("/api/v1/nodes"));
  EXPECT_EQ(q->namespace_, "");
  EXPECT_EQ(q->resource, "nodes");
  EXPECT_FALSE(resource_request(get("/readyz")));
  EXPECT_FALSE(resource_request(get("/version")));
  EXPECT_FALSE(resource_request(get("/apis/discovery.k8s.io/v1")));  // API discovery
}

TEST_F(RbacTest, RoleBindingGrantsInItsNamespaceOnly) {
  auto gate = load(kRoleInDefault);
  EXPECT_EQ(gate.decide(get("/apis/discovery.k8s.io/v1/namespaces/default/endpointslices")).status, 200);
  EXPECT_EQ(gate.decide(get("/apis/discovery.k8s.io/v1/namespaces/default/endpointslices?watch=true")).status, 200);
  EXPECT_EQ(gate.decide(get("/apis/discovery.k8s.io/v1/namespaces/kube-system/endpointslices")).status, 403);
  EXPECT_EQ(gate.decide(get("/apis/discovery.k8s.io/v1/endpointslices")).status, 403);
  EXPECT_EQ(gate.decide(get("/api/v1/namespaces/default/secrets")).status, 403);
  const auto d = gate.decide(get("/api/v1/namespaces/default/pods"));
  EXPECT_EQ(d.reason, "User \"system:serviceaccount:kube-system:sa\" cannot list resource \"pods\" in API group \"\" "
                      "in the namespace \"default\"");
}

TEST_F(RbacTest, TokensAuthenticate) {
  auto gate = load(kRoleInDefault);
  const std::string slices = "/apis/discovery.k8s.io/v1/namespaces/default/endpointslices";
  EXPECT_EQ(gate.decide(get(slices, "")).status, 401);
  EXPECT_EQ(gate.decide(get(slices, "nope")).status, 401);
  EXPECT_EQ(gate.decide(get(slices, "t2")).status, 403);  // alice is bound to nothing
  EXPECT_EQ(gate.decide(get("/readyz", "")).status, 200);  // non-resource paths stay public
}

TEST_F(RbacTest, ClusterRoleBindingGrantsEverywhereAndResourceNamesNeverAList) {
  auto gate = load(R"(
kind: ClusterRole
metadata: {name: read}
rules:
  - apiGroups: ["*"]
    resources: [pods]
    verbs: ["*"]
  - apiGroups: [""]
    resources: [secrets]
    resourceNames: [one]
    verbs: [get, list]
---
kind: ClusterRoleBinding
metadata: {name: read}
roleRef: {kind: ClusterRole, name: read}
subjects: [{kind: User, name: alice}]
)");
  EXPECT_EQ(gate.decide(get("/api/v1/namespaces/a/pods?watch=1", "t2")).status, 200);
  EXPECT_EQ(gate.decide(get("/api/v1/pods", "t2")).status, 200);
  EXPECT_EQ(gate.decide(get("/api/v1/namespaces/a/secrets/one", "t2")).status, 200);
  EXPECT_EQ(gate.decide(get("/api/v1/namespaces/a/secrets/two", "t2")).status, 403);
  EXPECT_EQ(gate.decide(get("/api/v1/namespaces/a/secrets", "t2")).status, 403);
  EXPECT_EQ(gate.decide(get("/api/v1/pods", "t1")).status, 403);
}

TEST_F(RbacTest, BrokenManifestNamesFileAndLine) {
  path_ = ::testing::TempDir() + "rbac_broken.yaml";
  std::ofstream(path_) << "kind: Role\nrules: [\n";
  auto gate = RbacGate::load(path_, {});
  ASSERT_FALSE(gate.ok());
  EXPECT_EQ(gate.errors()[0].file, path_);
  EXPECT_GT(gate.errors()[0].line, 0);
}

}  // namespace
}  // namespace kha::standin
