// The names of the schema's enums (balance, replay, check kind) as written in YAML and in messages.
#include "config/schema.h"

namespace kha::config {

const char* to_string(Balance b) {
  switch (b) {
    case Balance::RoundRobin: return "roundrobin";
    case Balance::LeastConn: return "leastconn";
  }
  return "?";
}

const char* to_string(Replay r) { return r == Replay::Any ? "any" : "tls-hello"; }

const char* to_string(CheckKind k) {
  switch (k) {
    case CheckKind::None: return "none";
    case CheckKind::Tcp: return "tcp";
    case CheckKind::Tls: return "tls";
    case CheckKind::Https: return "https";
  }
  return "?";
}

}  // namespace kha::config
