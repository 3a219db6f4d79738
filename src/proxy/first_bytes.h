// FirstBytes: what a client's first bytes are, for deciding whether they may be sent
// to a second backend (hedging, retry) and who is to blame when a backend closes on
// them. Only a TLS ClientHello is safe to replay: a TLS server acts on nothing before
// the handshake, so a copy sent to two backends changes nothing on either. Plain text
// may be a request (a POST) that a second backend would execute again.
// Pure: no sockets, no clock.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace kha::proxy {

enum class FirstBytes : std::uint8_t {
  Empty,         // nothing yet
  PartialHello,  // a prefix of a well-formed ClientHello: more is to come
  ClientHello,   // a whole TLS ClientHello (in one or more handshake records)
  Other,         // anything else: not replayable, and a backend that closes on it is not to blame
};

// Classifies bytes by TLS record framing (RFC 8446 5.1): records of type handshake
// (22), version 3.x, length 1..2^14, carrying a handshake message of type
// client_hello (1) whose length the records complete.
FirstBytes classify_first_bytes(std::span<const std::uint8_t> bytes);

}  // namespace kha::proxy
