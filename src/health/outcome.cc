// The names of the layers an Outcome is decided at (connect, tls, http, timeout, passive, local).
#include "health/outcome.h"

namespace kha::health {

const char* to_string(Layer layer) {
  switch (layer) {
    case Layer::Connect: return "connect";
    case Layer::Tls: return "tls";
    case Layer::Http: return "http";
    case Layer::Timeout: return "timeout";
    case Layer::Passive: return "passive";
    case Layer::Local: return "local";
  }
  return "?";
}

const char* to_string(Connection c) {
  switch (c) {
    case Connection::None: return "none";
    case Connection::Reused: return "reused";
    case Connection::New: return "new";
    case Connection::Resumed: return "resumed";
  }
  return "?";
}

}  // namespace kha::health
