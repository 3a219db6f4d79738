// write_rendered(): the file I/O of `kha plan render`.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "planner/render.h"

namespace kha::planner {

namespace fs = std::filesystem;

namespace {

std::optional<std::string> read_existing(const fs::path& p) {
  std::error_code ec;
  if (!fs::is_regular_file(p, ec)) return std::nullopt;
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// Writes to a temporary file in the same directory, fsyncs it and renames it into place.
std::string write_atomic(const fs::path& p, const std::string& content) {
  std::error_code ec;
  fs::create_directories(p.parent_path(), ec);
  if (ec) return "cannot create directory " + p.parent_path().string() + ": " + ec.message();
  const fs::path tmp = p.string() + ".tmp." + std::to_string(::getpid());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return "cannot create " + tmp.string() + ": " + std::strerror(errno);
  std::size_t done = 0;
  while (done < content.size()) {
    const ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const std::string why = std::strerror(errno);
      ::close(fd);
      ::unlink(tmp.c_str());
      return "cannot write " + tmp.string() + ": " + why;
    }
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    ::unlink(tmp.c_str());
    return "cannot flush " + tmp.string() + ": " + std::strerror(errno);
  }
  if (::rename(tmp.c_str(), p.c_str()) != 0) {
    const std::string why = std::strerror(errno);
    ::unlink(tmp.c_str());
    return "cannot rename into " + p.string() + ": " + why;
  }
  return "";
}

}  // namespace

WriteResult write_rendered(const std::vector<RenderedFile>& files, const std::string& out_dir, bool force) {
  WriteResult r;
  std::vector<int> state(files.size(), 0);  // 0 new, 1 unchanged, 2 differs
  for (std::size_t i = 0; i < files.size(); ++i) {
    const fs::path p = fs::path(out_dir) / files[i].path;
    std::error_code ec;
    if (fs::exists(p, ec) && !fs::is_regular_file(p, ec)) {
      r.errors.push_back({p.string(), 0, 0, "", "exists and is not a regular file"});
      continue;
    }
    if (auto old = read_existing(p)) {
      state[i] = *old == files[i].content ? 1 : 2;
      if (state[i] == 2 && !force) {
        r.errors.push_back({p.string(), 0, 0, "", "exists with other content; pass --force to replace it"});
        r.conflict = true;
      }
    }
  }
  if (!r.errors.empty()) return r;
  for (std::size_t i = 0; i < files.size(); ++i) {
    const fs::path p = fs::path(out_dir) / files[i].path;
    if (state[i] == 1) {
      r.report.push_back("unchanged " + p.string());
      continue;
    }
    const std::string err = write_atomic(p, files[i].content);
    if (!err.empty()) {
      r.errors.push_back({p.string(), 0, 0, "", err});
      return r;
    }
    r.report.push_back((state[i] == 2 ? "replaced " : "wrote ") + p.string());
  }
  return r;
}

}  // namespace kha::planner
