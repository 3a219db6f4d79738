// The process-wide resolver thread: one io_context where getaddrinfo blocks instead of a worker.
#include "proxy/resolver_thread.h"

#include <memory>
#include <thread>

namespace kha::proxy {
namespace {

struct ResolverThread {
  ResolverThread() : work(context.get_executor()), thread([this] { context.run(); }) {}
  ~ResolverThread() {
    work.reset();
    context.stop();
    thread.join();
  }
  asio::io_context context{1};
  asio::executor_work_guard<asio::io_context::executor_type> work;
  std::thread thread;
};

}  // namespace

void resolve_off_thread(const std::string& host, std::uint16_t port,
                        std::function<void(const std::error_code&, std::vector<asio::ip::tcp::endpoint>)> done) {
  static ResolverThread resolver;  // started on first use (most configs use addresses)
  asio::post(resolver.context, [host, port, done = std::move(done)]() mutable {
    auto r = std::make_shared<asio::ip::tcp::resolver>(resolver.context);
    r->async_resolve(host, std::to_string(port),
                     [r, done = std::move(done)](const asio::error_code& ec,
                                                 const asio::ip::tcp::resolver::results_type& results) {
                       if (ec) return done(ec, {});
                       std::vector<asio::ip::tcp::endpoint> endpoints;
                       for (const auto& entry : results) endpoints.push_back(entry.endpoint());
                       if (endpoints.empty()) return done(asio::error::host_not_found, {});
                       done({}, std::move(endpoints));
                     });
  });
}

}  // namespace kha::proxy
