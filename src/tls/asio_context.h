// Hands an SSL_CTX built by tls/context.h to Asio. asio::ssl::context takes ownership.
#pragma once

#include <asio/ssl.hpp>

#include "tls/openssl_ptr.h"

namespace kha::tls {

inline asio::ssl::context adopt(SslCtxPtr ctx) { return asio::ssl::context(ctx.release()); }

}  // namespace kha::tls
