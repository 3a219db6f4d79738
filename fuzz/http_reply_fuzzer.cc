// libFuzzer target: an HTTP/1.1 response as kha's clients read it (health probes,
// discovery, the admin client): the one parser, src/http/response.cc, fed in two reads
// split where the first byte says, then the close. Must parse or report an error, never crash.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "http/response.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace kha::http;
  if (size == 0) return 0;
  const std::size_t split = data[0] % size;
  const std::string_view bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
  ResponseParser parser({.max_head = 4096, .max_body = 4096, .cut_body = (data[0] & 1) != 0});
  parser.feed(bytes.substr(0, split));
  parser.feed(bytes.substr(split < bytes.size() ? split : bytes.size()));
  if (parser.progress() == Progress::Complete) {
    (void)excerpt(parser.body());
    parser.next();  // keep-alive: whatever followed is the next response
  }
  parser.finish();
  (void)excerpt(parser.error());
  return 0;
}
