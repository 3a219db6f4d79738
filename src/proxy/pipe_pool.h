// PipePool: the pipes the splice path moves bytes through, per worker thread.
// A session takes a pipe only while bytes are in flight and gives it back, empty,
// as soon as the source would block: an idle session holds no pipe descriptors
// (the hard open-files limit is 20,000; two pipes per idle session would halve
// the sessions a node can hold).
#pragma once

#include <cstddef>
#include <vector>

namespace kha::proxy {

struct Pipe {
  int read_fd = -1;
  int write_fd = -1;
  bool valid() const { return read_fd >= 0; }
};

class PipePool {
 public:
  // pipe_size: F_SETPIPE_SZ for new pipes (0 keeps the kernel's 64 KiB).
  explicit PipePool(std::size_t max_idle = 64, std::size_t pipe_size = 0)
      : max_idle_(max_idle), pipe_size_(pipe_size) {}
  ~PipePool();
  PipePool(const PipePool&) = delete;
  PipePool& operator=(const PipePool&) = delete;

  // An empty pipe, or an invalid one when pipe2() failed (EMFILE: use the copy path).
  Pipe acquire();
  // Returns an EMPTY pipe; one that may hold bytes must go to discard().
  void release(Pipe pipe);
  void discard(Pipe pipe);

  std::size_t idle() const { return idle_.size(); }
  std::size_t in_use() const { return in_use_; }

 private:
  std::size_t max_idle_;
  std::size_t pipe_size_;
  std::size_t in_use_ = 0;
  std::vector<Pipe> idle_;
};

}  // namespace kha::proxy
