// RbacGate: bearer tokens to users, users to RBAC rules (kube-apiserver's semantics for
// the requests the stand-in serves).
#include "standin/rbac.h"

#include <algorithm>

#include <yaml-cpp/yaml.h>

namespace kha::standin {
namespace {

std::vector<std::string> split_path(const std::string& path) {
  std::vector<std::string> parts;
  std::size_t at = 1;
  while (at <= path.size()) {
    const auto slash = path.find('/', at);
    const auto end = slash == std::string::npos ? path.size() : slash;
    if (end > at) parts.push_back(path.substr(at, end - at));
    at = end + 1;
  }
  return parts;
}

bool listed(const std::vector<std::string>& values, const std::string& v) {
  return std::find(values.begin(), values.end(), v) != values.end() ||
         std::find(values.begin(), values.end(), "*") != values.end();
}

std::vector<std::string> strings(const YAML::Node& n) {
  std::vector<std::string> out;
  if (n && n.IsSequence())
    for (const auto& v : n) out.push_back(v.as<std::string>(""));
  return out;
}

std::string text(const YAML::Node& n, const char* key) {
  return n && n.IsMap() && n[key] && n[key].IsScalar() ? n[key].as<std::string>() : "";
}

}  // namespace

std::optional<ResourceRequest> resource_request(const Request& r) {
  auto p = split_path(r.path);
  ResourceRequest q;
  std::size_t i = 0;
  if (p.size() >= 2 && p[0] == "api") i = 2;  // /api/v1/...
  else if (p.size() >= 3 && p[0] == "apis") q.api_group = p[1], i = 3;  // /apis/GROUP/VERSION/...
  else return std::nullopt;
  if (i + 1 < p.size() && p[i] == "namespaces" && i + 2 < p.size()) {
    q.namespace_ = p[i + 1];
    i += 2;
  }
  if (i >= p.size()) return std::nullopt;  // API discovery documents
  q.resource = p[i];
  if (i + 1 < p.size()) q.name = p[i + 1];
  const std::string watch = r.query_value("watch", "");
  const bool watching = r.has_query("watch") && watch != "0" && watch != "false";
  q.verb = watching ? "watch" : q.name.empty() ? "list" : "get";
  return q;
}

Result<RbacGate> RbacGate::load(const std::string& manifest, std::map<std::string, std::string> tokens) {
  RbacGate gate;
  gate.tokens_ = std::move(tokens);
  std::vector<YAML::Node> docs;
  try {
    docs = YAML::LoadAllFromFile(manifest);
  } catch (const YAML::Exception& e) {
    return Diagnostic{manifest, e.mark.line + 1, e.mark.column + 1, "", e.msg};
  }
  try {
    gate.read(docs);
  } catch (const YAML::Exception& e) {  // a document of an unexpected shape
    return Diagnostic{manifest, e.mark.line + 1, e.mark.column + 1, "", e.msg};
  }
  if (!gate.error_.empty()) return Diagnostic{manifest, 0, 0, "", gate.error_};
  return gate;
}

void RbacGate::read(const std::vector<YAML::Node>& docs) {
  for (const auto& doc : docs) {
    if (!doc.IsMap()) continue;
    const std::string kind = text(doc, "kind");
    const auto meta = doc["metadata"];
    const std::string ns = text(meta, "namespace"), name = text(meta, "name");
    if (kind == "Role" || kind == "ClusterRole") {
      auto& rules = roles_[(kind == "Role" ? ns : "") + "/" + name];
      for (const auto& r : doc["rules"])
        rules.push_back(Rule{strings(r["apiGroups"]), strings(r["resources"]), strings(r["verbs"]),
                             strings(r["resourceNames"])});
    } else if (kind == "RoleBinding" || kind == "ClusterRoleBinding") {
      Binding b{kind == "RoleBinding" ? ns : "", text(doc["roleRef"], "kind"), text(doc["roleRef"], "name"), {}};
      for (const auto& s : doc["subjects"]) {
        const std::string skind = text(s, "kind");
        if (skind == "ServiceAccount")
          b.users.push_back("system:serviceaccount:" + text(s, "namespace") + ":" + text(s, "name"));
        else if (skind == "User") b.users.push_back(text(s, "name"));
      }
      if (kind == "RoleBinding" && ns.empty() && error_.empty())
        error_ = "RoleBinding " + name + ": metadata.namespace is required";
      bindings_.push_back(std::move(b));
    }
  }
}

bool RbacGate::allows(const std::string& user, const ResourceRequest& q) const {
  for (const auto& b : bindings_) {
    if (std::find(b.users.begin(), b.users.end(), user) == b.users.end()) continue;
    if (!b.namespace_.empty() && b.namespace_ != q.namespace_) continue;  // a RoleBinding grants in its namespace only
    const auto role = roles_.find((b.role_kind == "Role" ? b.namespace_ : "") + "/" + b.role_name);
    if (role == roles_.end()) continue;
    for (const auto& rule : role->second) {
      if (!listed(rule.api_groups, q.api_group) || !listed(rule.resources, q.resource) || !listed(rule.verbs, q.verb))
        continue;
      // resourceNames cannot restrict a list or a watch of a whole collection.
      if (!rule.resource_names.empty() && (q.name.empty() || !listed(rule.resource_names, q.name))) continue;
      return true;
    }
  }
  return false;
}

RbacDecision RbacGate::decide(const Request& r) const {
  const auto q = resource_request(r);
  if (!q) return {};
  const std::string auth = r.header("authorization");
  const auto user = auth.rfind("Bearer ", 0) == 0 ? tokens_.find(auth.substr(7)) : tokens_.end();
  if (user == tokens_.end()) return {401, "Unauthorized"};
  if (allows(user->second, *q)) return {};
  std::string where = q->namespace_.empty() ? "at the cluster scope" : "in the namespace \"" + q->namespace_ + "\"";
  return {403, "User \"" + user->second + "\" cannot " + q->verb + " resource \"" + q->resource + "\" in API group \"" +
                   q->api_group + "\" " + where};
}

}  // namespace kha::standin
