// Errors that are this process's or this host's lack of resources, never a peer's
// doing: out of descriptors (EMFILE, ENFILE), of buffers or memory (ENOBUFS, ENOMEM), of
// local ports (EADDRNOTAVAIL). A backend is never blamed for them (issue #14).
#pragma once

#include <cerrno>

namespace kha {

inline bool is_local_resource_error(int err) {
  return err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM || err == EADDRNOTAVAIL;
}

}  // namespace kha
