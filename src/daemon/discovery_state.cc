// The discovery state file: the last learned backends, saved atomically (see discovery_state.h).
#include "daemon/discovery_state.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <nlohmann/json.hpp>

#include "common/json_text.h"
#include "common/read_file.h"

namespace kha::daemon {

std::optional<std::vector<HostPort>> load_state(const std::string& path, std::string* error) {
  error->clear();
  const auto text = read_file(path);
  if (!text) return std::nullopt;  // none yet: not an error
  auto fail = [&](const std::string& why) -> std::optional<std::vector<HostPort>> {
    *error = path + ": " + why;
    return std::nullopt;
  };
  const auto doc = nlohmann::json::parse(*text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return fail("not JSON");
  if (!doc.is_object() || !doc.contains("backends") || !doc["backends"].is_array())
    return fail("expected {\"frontend\": ..., \"backends\": [\"host:port\", ...]}");
  std::vector<HostPort> out;
  for (std::size_t i = 0; i < doc["backends"].size(); ++i) {
    const auto& b = doc["backends"][i];
    std::string why;
    auto hp = b.is_string() ? parse_host_port(b.get<std::string>(), &why) : std::nullopt;
    if (!hp || hp->port == 0) return fail("backends[" + std::to_string(i) + "]: expected host:port");
    out.push_back(*hp);
  }
  if (out.empty()) return fail("backends: empty");
  return out;
}

std::string save_state(const std::string& path, const std::string& frontend, const std::vector<HostPort>& backends) {
  nlohmann::json doc{{"frontend", frontend}, {"backends", nlohmann::json::array()}};
  for (const auto& b : backends) doc["backends"].push_back(b.to_string());
  const std::string text = json_text(doc, 2) + "\n";
  const std::string tmp = path + ".tmp";
  // O_NOFOLLOW: a symlink planted at the temp name (in a directory another user can
  // write) must not make kha write through it.
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return tmp + ": " + std::strerror(errno);
  const bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) && ::fsync(fd) == 0;
  const int saved = errno;
  ::close(fd);
  if (!ok) return tmp + ": " + std::strerror(saved);
  if (::rename(tmp.c_str(), path.c_str()) < 0) return path + ": " + std::strerror(errno);
  return {};
}

}  // namespace kha::daemon
