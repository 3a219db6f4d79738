// libFuzzer target: an HTTP reply as a health probe reads it from a backend (head, then
// body, chunked or not). Must parse or report an error, never crash.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "health/http_reply.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace kha::health;
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  std::string error;
  const auto head = parse_reply_head(bytes, &error);
  if (!head) return 0;
  const auto end = bytes.find("\r\n\r\n");
  const std::string_view body = end == std::string_view::npos ? std::string_view{} : bytes.substr(end + 4);
  if (body_complete(*head, body)) (void)excerpt(decode_body(*head, body));
  return 0;
}
