// fetch_async() and the blocking fetch() over it on a private io_context (see fetch.h).
#include "http/fetch.h"

#include <vector>

#include <asio.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/experimental/awaitable_operators.hpp>

#include "common/address.h"
#include "http/client.h"
#include "http/request.h"

namespace kha::http {
namespace {

using asio::ip::tcp;

asio::awaitable<void> run(HostPort where, const std::string& target, const FetchOptions& options, FetchResult* out) {
  auto executor = co_await asio::this_coro::executor;
  auto endpoints = co_await resolve(where, &out->error);
  if (endpoints.empty()) co_return;
  Client client(executor, ClientOptions{.timeout = options.timeout});
  auto work = [&]() -> asio::awaitable<std::optional<Error>> {
    std::optional<Error> error;
    for (const auto& endpoint : endpoints) {
      error = co_await client.connect(endpoint);
      if (!error) {
        Request request{.method = options.method,
                        .target = target,
                        .host = HostPort{endpoint.address().to_string(), endpoint.port()}.to_string(),
                        .user_agent = options.user_agent,
                        .body = options.body};
        ResponseParser parser(options.limits);
        const std::string text = serialize(request);
        error = co_await client.exchange(text, parser);
        if (!error) {
          out->status = parser.head().status;
          out->content_type = std::string(parser.head().field("content-type"));
          out->body = parser.take_body();
        }
        co_return error;
      }
    }
    co_return error;
  };
  const auto result = co_await client.bounded(work());
  if (!result) {
    out->error = "timed out after " + std::to_string(options.timeout.count()) + "ms";
  } else if (*result) {
    // A refused or unreachable connect reads as the system says it ("Connection refused").
    out->error = (*result)->stage == Stage::Connect ? (*result)->ec.message() : (*result)->reason;
  }
}

std::string describe(const std::exception_ptr& failure) {
  try {
    std::rethrow_exception(failure);
  } catch (const std::exception& e) {
    return e.what();
  } catch (...) {
    return "unknown error";
  }
}

}  // namespace

asio::awaitable<FetchResult> fetch_async(std::string address, std::string target, FetchOptions options) {
  using namespace asio::experimental::awaitable_operators;
  FetchResult out;
  std::string why;
  const auto hp = parse_host_port(address, &why);
  if (!hp) {
    out.error = "bad address \"" + address + "\": " + why;
    co_return out;
  }
  std::exception_ptr failure;
  try {
    // The client's deadline bounds connect and exchange; this bounds name resolution too.
    asio::steady_timer limit(co_await asio::this_coro::executor, options.timeout + std::chrono::milliseconds(100));
    // Named, not temporaries in the co_await expression: GCC 12 may destroy those twice.
    auto work = run(*hp, target, options, &out);
    auto expiry = limit.async_wait(asio::use_awaitable);
    const auto first = co_await (std::move(work) || std::move(expiry));
    if (first.index() == 1) out.error = "timed out after " + std::to_string(options.timeout.count()) + "ms";
  } catch (...) {
    failure = std::current_exception();
  }
  if (failure) out.error = describe(failure);
  co_return out;
}

FetchResult fetch(const std::string& address, const std::string& target, const FetchOptions& options) {
  FetchResult out;
  try {
    asio::io_context io;
    bool done = false;
    asio::co_spawn(io, fetch_async(address, target, options), [&](std::exception_ptr e, FetchResult result) {
      done = true;
      if (e) out.error = describe(e);
      else out = std::move(result);
    });
    // A resolver that cannot be cancelled must not hold the caller past the timeout.
    io.run_for(options.timeout + std::chrono::milliseconds(200));
    if (!done) out.error = "timed out after " + std::to_string(options.timeout.count()) + "ms";
  } catch (const std::exception& e) {
    out.error = e.what();
  }
  return out;
}

}  // namespace kha::http
