#include "health/outcome.h"

#include <cerrno>

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

bool is_local_resource_error(int err) {
  return err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM || err == EADDRNOTAVAIL;
}

}  // namespace kha::health
