// classify_first_bytes(): walks TLS records to tell a whole ClientHello from a partial one or plain text.
#include "proxy/first_bytes.h"

namespace kha::proxy {
namespace {

constexpr std::uint8_t kHandshake = 22;
constexpr std::uint8_t kClientHello = 1;
constexpr std::size_t kRecordHeader = 5;
constexpr std::size_t kMaxRecord = 16384;  // 2^14 (RFC 8446 5.1)
// A ClientHello larger than this is no client's (post-quantum key shares stay far below).
constexpr std::size_t kMaxHello = 65536;

}  // namespace

FirstBytes classify_first_bytes(std::span<const std::uint8_t> b) {
  if (b.empty()) return FirstBytes::Empty;
  std::size_t at = 0;            // start of the current record
  std::size_t hello_seen = 0;    // handshake bytes received so far (header included)
  std::size_t hello_total = 0;   // 4 + the message length, once its header is in
  while (at < b.size()) {
    // The record header, byte by byte: a prefix is judged on what it has.
    const std::size_t have = b.size() - at;
    if (b[at] != kHandshake) return FirstBytes::Other;
    if (have > 1 && b[at + 1] != 3) return FirstBytes::Other;
    if (have > 2 && b[at + 2] > 4) return FirstBytes::Other;
    if (have < kRecordHeader) return FirstBytes::PartialHello;
    const std::size_t length = (std::size_t{b[at + 3]} << 8) | b[at + 4];
    if (length == 0 || length > kMaxRecord) return FirstBytes::Other;
    const std::size_t body = std::min(length, have - kRecordHeader);
    for (std::size_t i = 0; i < body; ++i) {
      const std::size_t pos = hello_seen + i;  // position within the handshake message
      const std::uint8_t byte = b[at + kRecordHeader + i];
      if (pos == 0 && byte != kClientHello) return FirstBytes::Other;
      if (pos >= 1 && pos <= 3) {
        hello_total = (hello_total << 8) | byte;
        if (pos == 3) {
          hello_total += 4;
          if (hello_total > kMaxHello) return FirstBytes::Other;
        }
      }
    }
    hello_seen += body;
    if (hello_seen >= 4 && hello_seen >= hello_total) {
      // Complete; bytes past the hello in this record or after it are not a hello's.
      if (hello_seen > hello_total) return FirstBytes::Other;
      return at + kRecordHeader + length == b.size() ? FirstBytes::ClientHello : FirstBytes::Other;
    }
    if (body < length) return FirstBytes::PartialHello;  // the record is still arriving
    at += kRecordHeader + length;
  }
  return FirstBytes::PartialHello;
}

}  // namespace kha::proxy
