#include "admin/http_client.h"

#include <asio.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <charconv>

#include "common/address.h"

namespace kha::admin {
namespace {

using asio::ip::tcp;
constexpr auto use_tuple = asio::experimental::as_tuple(asio::use_awaitable);
constexpr std::size_t kMaxResponse = 16u << 20;

// Splits a raw response into status, content type and body.
void parse_response(const std::string& raw, HttpResult* out) {
  const auto head_end = raw.find("\r\n\r\n");
  if (raw.rfind("HTTP/1.", 0) != 0 || head_end == std::string::npos || raw.size() < 12) {
    out->error = "not an HTTP response";
    return;
  }
  int status = 0;
  const auto [ptr, ec] = std::from_chars(raw.data() + 9, raw.data() + 12, status);
  if (ec != std::errc() || ptr != raw.data() + 12) {
    out->error = "bad HTTP status line";
    return;
  }
  out->status = status;
  std::size_t pos = raw.find("\r\n") + 2;
  std::size_t length = raw.size() - head_end - 4;
  while (pos < head_end) {
    const auto eol = raw.find("\r\n", pos);
    std::string field = raw.substr(pos, eol - pos);
    pos = eol + 2;
    const auto colon = field.find(':');
    if (colon == std::string::npos) continue;
    std::string name = field.substr(0, colon);
    for (auto& ch : name) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    std::string value = field.substr(colon + 1);
    while (!value.empty() && value.front() == ' ') value.erase(0, 1);
    if (name == "content-type") out->content_type = value;
    if (name == "content-length") std::from_chars(value.data(), value.data() + value.size(), length);
  }
  out->body = raw.substr(head_end + 4, length);
}

asio::awaitable<void> exchange(std::string host, std::string port, std::string request, HttpResult* out, bool* done) {
  auto executor = co_await asio::this_coro::executor;
  tcp::resolver resolver(executor);
  auto [rec, endpoints] = co_await resolver.async_resolve(host, port, use_tuple);
  if (rec) {
    out->error = "cannot resolve " + host + ": " + rec.message();
    *done = true;
    co_return;
  }
  tcp::socket socket(executor);
  auto [cec, endpoint] = co_await asio::async_connect(socket, endpoints, use_tuple);
  if (cec) {
    out->error = cec.message();
    *done = true;
    co_return;
  }
  // Host names the address connected to, not the name given: the admin server refuses
  // POSTs whose Host is a name other than localhost (DNS rebinding, request_guard.h).
  const std::string host_line =
      "Host: " + HostPort{endpoint.address().to_string(), endpoint.port()}.to_string() + "\r\n";
  request.insert(request.find("\r\n") + 2, host_line);
  auto [wec, written] = co_await asio::async_write(socket, asio::buffer(request), use_tuple);
  std::string raw;
  if (!wec) {
    auto [ec, n] = co_await asio::async_read(socket, asio::dynamic_buffer(raw, kMaxResponse), use_tuple);
    if (ec && ec != asio::error::eof && ec != asio::error::not_found) {
      if (raw.empty()) out->error = ec.message();
    }
  } else {
    out->error = wec.message();
  }
  if (out->error.empty()) parse_response(raw, out);
  *done = true;
}

}  // namespace

HttpResult http_request(const std::string& address, const std::string& method, const std::string& path,
                        std::chrono::milliseconds timeout, const std::string& body) {
  HttpResult out;
  std::string why;
  const auto hp = parse_host_port(address, &why);
  if (!hp) {
    out.error = "bad address \"" + address + "\": " + why;
    return out;
  }
  std::string request = method + ' ' + path + " HTTP/1.1\r\nUser-Agent: kha\r\nAccept: */*\r\nConnection: close\r\n";
  if (!body.empty() || method == "POST") request += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  request += "\r\n" + body;
  try {
    asio::io_context io;
    bool done = false;
    asio::co_spawn(io, exchange(hp->host, std::to_string(hp->port), std::move(request), &out, &done),
                   asio::detached);
    io.run_for(timeout);
    if (!done) out.error = "timed out after " + std::to_string(timeout.count()) + "ms";
  } catch (const std::exception& e) {
    out.error = e.what();
  }
  return out;
}

}  // namespace kha::admin
