// serialize(Request): an HTTP/1.1 request head and body (see request.h).
#include "http/request.h"

#include <algorithm>

namespace kha::http {
namespace {

void field(std::string& out, std::string_view name, std::string_view value) {
  out.append(name).append(": ");
  const auto at = out.size();
  out.append(value);
  std::replace_if(out.begin() + static_cast<std::ptrdiff_t>(at), out.end(),
                  [](char c) { return c == '\r' || c == '\n'; }, ' ');
  out.append("\r\n");
}

}  // namespace

std::string serialize(const Request& r) {
  std::string out;
  out.reserve(160 + r.target.size() + r.host.size() + r.body.size());
  out.append(r.method).append(" ").append(r.target.empty() ? "/" : r.target).append(" HTTP/1.1\r\n");
  field(out, "Host", r.host);
  field(out, "User-Agent", r.user_agent);
  field(out, "Accept", r.accept);
  for (const auto& [name, value] : r.fields) field(out, name, value);
  if (!r.body.empty() || r.method == "POST" || r.method == "PUT")
    field(out, "Content-Length", std::to_string(r.body.size()));
  if (!r.keep_alive) out.append("Connection: close\r\n");
  out.append("\r\n").append(r.body);
  return out;
}

}  // namespace kha::http
