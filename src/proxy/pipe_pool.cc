// PipePool: hands out an idle pipe or a new one, keeps up to max_idle returned pipes, closes the rest.
#include "proxy/pipe_pool.h"

#include <fcntl.h>
#include <unistd.h>

namespace kha::proxy {

PipePool::~PipePool() {
  for (auto& p : idle_) {
    ::close(p.read_fd);
    ::close(p.write_fd);
  }
}

Pipe PipePool::acquire() {
  if (!idle_.empty()) {
    Pipe p = idle_.back();
    idle_.pop_back();
    ++in_use_;
    return p;
  }
  int fds[2];
  if (::pipe2(fds, O_NONBLOCK | O_CLOEXEC) != 0) return {};
  if (pipe_size_ > 0) ::fcntl(fds[1], F_SETPIPE_SZ, static_cast<int>(pipe_size_));  // best effort
  ++in_use_;
  return {fds[0], fds[1]};
}

void PipePool::release(Pipe pipe) {
  --in_use_;
  if (idle_.size() < max_idle_) {
    idle_.push_back(pipe);
    return;
  }
  ::close(pipe.read_fd);
  ::close(pipe.write_fd);
}

void PipePool::discard(Pipe pipe) {
  --in_use_;
  ::close(pipe.read_fd);
  ::close(pipe.write_fd);
}

}  // namespace kha::proxy
