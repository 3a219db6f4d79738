// raise_open_files_limit(): RLIMIT_NOFILE's soft limit raised to the hard one at start, logged either way.
#include "daemon/open_files.h"

#include <sys/resource.h>

#include <cerrno>
#include <string>
#include <system_error>

#include "common/log.h"

namespace kha::daemon {

OpenFiles raise_open_files_limit() {
  OpenFiles r;
  rlimit lim{};
  if (::getrlimit(RLIMIT_NOFILE, &lim) != 0) return r;
  const auto count = [](rlim_t v) { return v == RLIM_INFINITY ? std::size_t{1} << 20 : static_cast<std::size_t>(v); };
  r.soft_before = r.soft = count(lim.rlim_cur);
  r.hard = count(lim.rlim_max);
  if (lim.rlim_cur != lim.rlim_max) {
    rlimit raised = lim;
    raised.rlim_cur = lim.rlim_max;
    if (::setrlimit(RLIMIT_NOFILE, &raised) == 0) {
      r.soft = r.hard;
    } else {
      log::warn("open_files_limit_not_raised", {{"soft", std::to_string(r.soft)}, {"hard", std::to_string(r.hard)},
                                                {"error", std::error_code(errno, std::system_category()).message()}});
    }
  }
  log::info("open_files_limit", {{"soft", std::to_string(r.soft)}, {"hard", std::to_string(r.hard)},
                                 {"soft_at_start", std::to_string(r.soft_before)}});
  return r;
}

}  // namespace kha::daemon
