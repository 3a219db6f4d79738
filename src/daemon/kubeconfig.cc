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

std::optional<Kubeconfig> load_kubeconfig(const std::string& path, std::string* error) {
  const std::string where = "kubeconfig " + path;
  const auto dir = std::filesystem::path(path).parent_path();
  auto relative = [&](const std::string& p) { return std::filesystem::path(p).is_absolute() ? p : (dir / p).string(); };
  try {
    const YAML::Node root = YAML::LoadFile(path);
    const std::string current = root["current-context"] ? root["current-context"].as<std::string>() : "";
    YAML::Node context = named(root["contexts"], current);
    if (!context && root["contexts"] && root["contexts"].IsSequence() && root["contexts"].size() > 0)
      context = root["contexts"][0];  // no current-context: the first one
    std::string cluster_name, user_name;
    if (context && context["context"]) {
      cluster_name = context["context"]["cluster"] ? context["context"]["cluster"].as<std::string>() : "";
      user_name = context["context"]["user"] ? context["context"]["user"].as<std::string>() : "";
    }
    YAML::Node cluster = named(root["clusters"], cluster_name);
    if (!cluster && root["clusters"] && root["clusters"].IsSequence() && root["clusters"].size() == 1)
      cluster = root["clusters"][0];
    if (!cluster || !cluster["cluster"] || !cluster["cluster"]["server"]) {
      *error = where + ": clusters: no cluster with a server for context '" + current + "'";
      return std::nullopt;
    }
    Kubeconfig kc;
    const YAML::Node c = cluster["cluster"];
    kc.server = c["server"].as<std::string>();
    std::string rest = kc.server;
    if (rest.rfind("https://", 0) == 0) rest = rest.substr(8);
    else {
      *error = where + ": clusters[" + cluster_name + "].cluster.server: expected https://host:port, got '" + kc.server + "'";
      return std::nullopt;
    }
    rest = rest.substr(0, rest.find('/'));
    auto hp = parse_host_port(rest.find(':') == std::string::npos || (rest.front() == '[' && rest.back() == ']')
                                  ? rest + ":443"
                                  : rest);
    if (!hp) {
      *error = where + ": clusters[" + cluster_name + "].cluster.server: cannot parse '" + kc.server + "'";
      return std::nullopt;
    }
    kc.server_host = hp->host;
    kc.insecure_skip_verify = c["insecure-skip-tls-verify"] && c["insecure-skip-tls-verify"].as<bool>();
    auto pem = [&](const YAML::Node& node, const char* data_key, const char* file_key, const std::string& key_path,
                   std::string* out) {
      if (node[data_key]) {
        if (!base64_decode(node[data_key].as<std::string>(), out)) {
          *error = where + ": " + key_path + "." + data_key + ": not valid base64";
          return false;
        }
      } else if (node[file_key]) {
        const std::string file = relative(node[file_key].as<std::string>());
        auto text = read_file(file);
        if (!text) {
          *error = where + ": " + key_path + "." + file_key + ": cannot read " + file;
          return false;
        }
        *out = std::move(*text);
      }
      return true;
    };
    if (!pem(c, "certificate-authority-data", "certificate-authority", "clusters[" + cluster_name + "].cluster", &kc.ca_pem))
      return std::nullopt;
    YAML::Node user = named(root["users"], user_name);
    if (user && user["user"]) {
      const YAML::Node u = user["user"];
      const std::string up = "users[" + user_name + "].user";
      if (!pem(u, "client-certificate-data", "client-certificate", up, &kc.client_cert_pem)) return std::nullopt;
      if (!pem(u, "client-key-data", "client-key", up, &kc.client_key_pem)) return std::nullopt;
      if (u["token"]) kc.token = u["token"].as<std::string>();
      if (u["tokenFile"] && kc.token.empty()) {
        const std::string file = relative(u["tokenFile"].as<std::string>());
        auto text = read_file(file);
        if (!text) {
          *error = where + ": " + up + ".tokenFile: cannot read " + file;
          return std::nullopt;
        }
        kc.token = std::move(*text);
        while (!kc.token.empty() && std::isspace(static_cast<unsigned char>(kc.token.back()))) kc.token.pop_back();
      }
      if (kc.client_cert_pem.empty() != kc.client_key_pem.empty()) {
        *error = where + ": " + up + ": client-certificate and client-key go together";
        return std::nullopt;
      }
    }
    return kc;
  } catch (const YAML::Exception& e) {
    *error = where + ":" + std::to_string(e.mark.line + 1) + ": " + e.msg;
    return std::nullopt;
  }
}

}  // namespace kha::daemon
