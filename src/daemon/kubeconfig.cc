// load_kubeconfig(): a kubeconfig's current context, its PEMs and token loaded (see kubeconfig.h).
#include "daemon/kubeconfig.h"

#include <openssl/evp.h>

#include <cctype>
#include <filesystem>

#include <yaml-cpp/yaml.h>

#include "common/address.h"
#include "common/read_file.h"

namespace kha::daemon {
namespace {

bool base64_decode(const std::string& in, std::string* out) {
  std::string clean;
  for (char c : in)
    if (!std::isspace(static_cast<unsigned char>(c))) clean += c;
  if (clean.size() % 4 != 0) return false;
  out->assign(clean.size() / 4 * 3, '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out->data()),
                                reinterpret_cast<const unsigned char*>(clean.data()), static_cast<int>(clean.size()));
  if (n < 0) return false;
  std::size_t len = static_cast<std::size_t>(n);
  for (auto it = clean.rbegin(); it != clean.rend() && *it == '='; ++it) --len;  // padding decodes as zeros
  out->resize(len);
  return true;
}

// The entry of `list` (clusters, users, contexts) named `name`.
YAML::Node named(const YAML::Node& list, const std::string& name) {
  if (list && list.IsSequence())
    for (const auto& item : list)
      if (item["name"] && item["name"].as<std::string>() == name) return item;
  return {};
}

}  // namespace

Result<Kubeconfig> load_kubeconfig(const std::string& path) {
  const auto dir = std::filesystem::path(path).parent_path();
  auto relative = [&](const std::string& p) { return std::filesystem::path(p).is_absolute() ? p : (dir / p).string(); };
  // A problem at `at` (its line and column; the file alone when the node has no mark).
  auto problem = [&](const YAML::Node& at, std::string key, std::string message) {
    Diagnostic d{path, 0, 0, std::move(key), std::move(message)};
    if (at && at.Mark().line >= 0) {
      d.line = at.Mark().line + 1;
      d.column = at.Mark().column + 1;
    }
    return d;
  };
  try {
    const YAML::Node root = YAML::LoadFile(path);
    const std::string current = root["current-context"] ? root["current-context"].as<std::string>() : "";
    YAML::Node context = named(root["contexts"], current);
    // named() finds nothing as a null node, which tests true: IsMap() says whether it found one.
    if (!context.IsMap() && root["contexts"] && root["contexts"].IsSequence() && root["contexts"].size() > 0)
      context.reset(root["contexts"][0]);  // no current-context: the first one
    std::string cluster_name, user_name;
    if (context && context["context"]) {
      cluster_name = context["context"]["cluster"] ? context["context"]["cluster"].as<std::string>() : "";
      user_name = context["context"]["user"] ? context["context"]["user"].as<std::string>() : "";
    }
    YAML::Node cluster = named(root["clusters"], cluster_name);
    if (!cluster.IsMap() && root["clusters"] && root["clusters"].IsSequence() && root["clusters"].size() == 1)
      cluster.reset(root["clusters"][0]);
    if (!cluster.IsMap() || !cluster["cluster"] || !cluster["cluster"]["server"])
      return problem(cluster.IsMap() ? cluster : root["clusters"] ? root["clusters"] : root, "clusters",
                     "no cluster with a server for context '" + current + "'");
    Kubeconfig kc;
    const YAML::Node c = cluster["cluster"];
    const std::string cluster_key = "clusters[" + cluster_name + "].cluster";
    kc.server = c["server"].as<std::string>();
    std::string rest = kc.server;
    if (rest.rfind("https://", 0) != 0)
      return problem(c["server"], cluster_key + ".server", "expected https://host:port, got '" + kc.server + "'");
    rest = rest.substr(8);
    rest = rest.substr(0, rest.find('/'));
    auto hp = parse_host_port(rest.find(':') == std::string::npos || (rest.front() == '[' && rest.back() == ']')
                                  ? rest + ":443"
                                  : rest);
    if (!hp) return problem(c["server"], cluster_key + ".server", "cannot parse '" + kc.server + "'");
    kc.server_host = hp->host;
    kc.insecure_skip_verify = c["insecure-skip-tls-verify"] && c["insecure-skip-tls-verify"].as<bool>();
    // A PEM from the *-data field (base64) or the file the other field names.
    auto pem = [&](const YAML::Node& node, const char* data_key, const char* file_key, const std::string& key_path,
                   std::string* out) -> std::optional<Diagnostic> {
      if (node[data_key]) {
        if (!base64_decode(node[data_key].as<std::string>(), out))
          return problem(node[data_key], key_path + "." + data_key, "not valid base64");
      } else if (node[file_key]) {
        const std::string file = relative(node[file_key].as<std::string>());
        auto text = read_file(file);
        if (!text) return problem(node[file_key], key_path + "." + file_key, "cannot read " + file);
        *out = std::move(*text);
      }
      return std::nullopt;
    };
    if (auto bad = pem(c, "certificate-authority-data", "certificate-authority", cluster_key, &kc.ca_pem)) return *bad;
    YAML::Node user = named(root["users"], user_name);
    if (user && user["user"]) {
      const YAML::Node u = user["user"];
      const std::string up = "users[" + user_name + "].user";
      if (auto bad = pem(u, "client-certificate-data", "client-certificate", up, &kc.client_cert_pem)) return *bad;
      if (auto bad = pem(u, "client-key-data", "client-key", up, &kc.client_key_pem)) return *bad;
      if (u["token"]) kc.token = u["token"].as<std::string>();
      if (u["tokenFile"] && kc.token.empty()) {
        const std::string file = relative(u["tokenFile"].as<std::string>());
        auto text = read_file(file);
        if (!text) return problem(u["tokenFile"], up + ".tokenFile", "cannot read " + file);
        kc.token = std::move(*text);
        while (!kc.token.empty() && std::isspace(static_cast<unsigned char>(kc.token.back()))) kc.token.pop_back();
      }
      if (kc.client_cert_pem.empty() != kc.client_key_pem.empty())
        return problem(u, up, "client-certificate and client-key go together");
    }
    return kc;
  } catch (const YAML::BadFile&) {
    return Diagnostic{path, 0, 0, "", "cannot read the file"};
  } catch (const YAML::Exception& e) {
    // A YAML syntax error, or a value of the wrong kind (a map where a string belongs).
    return Diagnostic{path, e.mark.line >= 0 ? e.mark.line + 1 : 0, e.mark.column >= 0 ? e.mark.column + 1 : 0, "", e.msg};
  }
}

}  // namespace kha::daemon
