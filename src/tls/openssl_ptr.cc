// take_errors(): drains OpenSSL's error queue into one message.
#include "tls/openssl_ptr.h"

#include <openssl/err.h>

namespace kha::tls {

std::string take_errors(const char* fallback) {
  std::string out;
  while (const unsigned long code = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(code, buf, sizeof buf);
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out.empty() ? std::string(fallback) : out;
}

}  // namespace kha::tls
