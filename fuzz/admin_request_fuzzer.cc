// libFuzzer target: a request head as the admin endpoint reads it from any local client.
// Must parse or report an error, never crash.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "admin/http_message.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  kha::admin::HttpRequest request;
  (void)kha::admin::parse_request_head(std::string_view(reinterpret_cast<const char*>(data), size), &request);
  return 0;
}
