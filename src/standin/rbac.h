// RbacGate: the stand-in's authorizer. Bearer tokens name users, and RBAC objects read
// from a manifest (Role, ClusterRole, RoleBinding, ClusterRoleBinding) decide what each
// may do, as kube-apiserver's RBAC authorizer decides resource requests. Lets the tests
// prove that kha's discovery works with exactly the permissions deploy/ grants it.
// Pure: no I/O apart from reading the manifest.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "standin/http.h"

namespace YAML {
class Node;
}

namespace kha::standin {

// What a resource request asks for ("list discovery.k8s.io endpointslices in default").
struct ResourceRequest {
  std::string verb;        // get, list, watch (the stand-in serves GET only)
  std::string api_group;   // "" for the core group
  std::string resource;    // "endpointslices"
  std::string namespace_;  // "" for cluster-scoped
  std::string name;        // "" for a collection
};

// The resource request of `r`, or nullopt for a non-resource path (/readyz, /version),
// which kube-apiserver shows to everyone (system:public-info-viewer).
std::optional<ResourceRequest> resource_request(const Request& r);

struct RbacDecision {
  int status = 200;    // 200 allowed, 401 no or unknown token, 403 forbidden
  std::string reason;  // kube-apiserver's wording for 401/403
};

class RbacGate {
 public:
  // `manifest`: multi-document YAML; objects of other kinds are skipped. `tokens`:
  // bearer token -> user ("system:serviceaccount:kube-system:kha-discovery").
  static Result<RbacGate> load(const std::string& manifest, std::map<std::string, std::string> tokens);

  RbacDecision decide(const Request& r) const;

 private:
  struct Rule {
    std::vector<std::string> api_groups, resources, verbs, resource_names;
  };
  struct Binding {
    std::string namespace_;  // "" = ClusterRoleBinding: everywhere
    std::string role_kind;   // Role or ClusterRole
    std::string role_name;
    std::vector<std::string> users;  // subjects as user names
  };
  bool allows(const std::string& user, const ResourceRequest& q) const;
  void read(const std::vector<YAML::Node>& docs);

  std::map<std::string, std::string> tokens_;
  std::map<std::string, std::vector<Rule>> roles_;  // "ns/name" for Role, "/name" for ClusterRole
  std::vector<Binding> bindings_;
  std::string error_;  // the first problem read() found
};

}  // namespace kha::standin
