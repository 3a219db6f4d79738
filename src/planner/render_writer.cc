// write_rendered(): the file I/O of `kha plan render`. Everything is written below --out and
// nowhere else: a rendered path must be relative with no "." or ".." part, and no symbolic link
// below --out is followed (directories are walked with openat(O_NOFOLLOW), files are created
// with O_NOFOLLOW | O_CREAT | O_EXCL), so a link planted there cannot redirect a write.
// --out itself may be a link: the user named it.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <optional>
#include <utility>

#include "planner/render.h"

namespace kha::planner {

namespace fs = std::filesystem;

namespace {

// Owns one file descriptor.
class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  Fd(Fd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  Fd& operator=(Fd&& o) noexcept {
    std::swap(fd_, o.fd_);
    return *this;
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }
  int release() { return std::exchange(fd_, -1); }

 private:
  int fd_;
};

std::string errno_text() { return std::strerror(errno); }

// Why `rel` may not be written below --out, or "".
std::string unsafe_path(const fs::path& rel) {
  if (rel.empty() || rel.is_absolute()) return "is not a relative path";
  for (const auto& part : rel)
    if (part.empty() || part == "." || part == "..") return "has a \".\" or \"..\" part";
  return "";
}

// Opens the directory `dirs` below `root` one part at a time without following links, creating
// missing parts when `create`. Returns the fd, or -1 with *why ("" when a part is just missing).
Fd open_dirs(int root, const fs::path& dirs, bool create, std::string* why) {
  Fd cur(::fcntl(root, F_DUPFD_CLOEXEC, 0));
  if (cur.get() < 0) {
    *why = errno_text();
    return Fd();
  }
  for (const auto& part : dirs) {
    if (create && ::mkdirat(cur.get(), part.c_str(), 0755) != 0 && errno != EEXIST) {
      *why = "cannot create directory " + part.string() + ": " + errno_text();
      return Fd();
    }
    Fd next(::openat(cur.get(), part.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (next.get() < 0) {
      // O_NOFOLLOW on a link gives ELOOP; with O_DIRECTORY some kernels say ENOTDIR.
      if (errno == ELOOP || errno == ENOTDIR)
        *why = part.string() + " is a symbolic link or not a directory; links inside --out are not followed";
      else if (errno != ENOENT || create)
        *why = "cannot open directory " + part.string() + ": " + errno_text();
      else
        why->clear();
      return Fd();
    }
    cur = std::move(next);
  }
  return cur;
}

// The content of regular file `name` in `dir`, nullopt when there is none, or *why.
std::optional<std::string> read_existing(int dir, const std::string& name, std::string* why) {
  struct stat st {};
  if (::fstatat(dir, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno != ENOENT) *why = "cannot stat: " + errno_text();
    return std::nullopt;
  }
  if (S_ISLNK(st.st_mode)) {
    *why = "is a symbolic link; links inside --out are not followed";
    return std::nullopt;
  }
  if (!S_ISREG(st.st_mode)) {
    *why = "exists and is not a regular file";
    return std::nullopt;
  }
  Fd fd(::openat(dir, name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (fd.get() < 0) {
    *why = "cannot open: " + errno_text();
    return std::nullopt;
  }
  std::string out;
  char buf[65536];
  for (;;) {
    const ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      *why = "cannot read: " + errno_text();
      return std::nullopt;
    }
    if (n == 0) return out;
    out.append(buf, static_cast<std::size_t>(n));
  }
}

// Writes a temporary file next to `name` in `dir`, fsyncs it and renames it into place.
std::string write_atomic(int dir, const std::string& name, const std::string& content) {
  const std::string tmp = name + ".tmp." + std::to_string(::getpid());
  ::unlinkat(dir, tmp.c_str(), 0);  // a leftover of a crashed run (or a planted link) goes, never followed
  Fd fd(::openat(dir, tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644));
  if (fd.get() < 0) return "cannot create " + tmp + ": " + errno_text();
  std::size_t done = 0;
  while (done < content.size()) {
    const ssize_t n = ::write(fd.get(), content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const std::string why = errno_text();
      ::unlinkat(dir, tmp.c_str(), 0);
      return "cannot write " + tmp + ": " + why;
    }
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd.get()) != 0 || ::close(fd.release()) != 0) {
    const std::string why = errno_text();
    ::unlinkat(dir, tmp.c_str(), 0);
    return "cannot flush " + tmp + ": " + why;
  }
  // rename() replaces a link at `name` instead of writing through it; the check pass refused one.
  if (::renameat(dir, tmp.c_str(), dir, name.c_str()) != 0) {
    const std::string why = errno_text();
    ::unlinkat(dir, tmp.c_str(), 0);
    return "cannot rename into place: " + why;
  }
  return "";
}

}  // namespace

WriteResult write_rendered(const std::vector<RenderedFile>& files, const std::string& out_dir, bool force) {
  WriteResult r;
  // A missing --out is created only once nothing stands in the way; until then every file is new.
  Fd root(::open(out_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (root.get() < 0 && errno != ENOENT) {
    r.errors.push_back({out_dir, 0, 0, "", "cannot open the output directory: " + errno_text()});
    return r;
  }
  // First pass: refuse unsafe paths and links, find conflicts; nothing is written if any.
  std::vector<int> state(files.size(), 0);  // 0 new, 1 unchanged, 2 differs
  for (std::size_t i = 0; i < files.size(); ++i) {
    const fs::path rel = files[i].path;
    const std::string shown = (fs::path(out_dir) / rel).string();
    if (const std::string why = unsafe_path(rel); !why.empty()) {
      r.errors.push_back({shown, 0, 0, "", why + ": it would leave --out"});
      continue;
    }
    if (root.get() < 0) continue;
    std::string why;
    const Fd dir = open_dirs(root.get(), rel.parent_path(), false, &why);
    if (dir.get() < 0) {
      if (!why.empty()) r.errors.push_back({shown, 0, 0, "", why});
      continue;  // missing directories: a new file
    }
    const auto old = read_existing(dir.get(), rel.filename().string(), &why);
    if (!why.empty()) {
      r.errors.push_back({shown, 0, 0, "", why});
    } else if (old) {
      state[i] = *old == files[i].content ? 1 : 2;
      if (state[i] == 2 && !force) {
        r.errors.push_back({shown, 0, 0, "", "exists with other content; pass --force to replace it"});
        r.conflict = true;
      }
    }
  }
  if (!r.errors.empty()) return r;
  if (root.get() < 0) {
    std::error_code ec;
    fs::create_directories(out_dir, ec);
    root = Fd(::open(out_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (root.get() < 0) {
      const std::string why = ec ? ec.message() : errno_text();
      r.errors.push_back({out_dir, 0, 0, "", "cannot create the output directory: " + why});
      return r;
    }
  }
  for (std::size_t i = 0; i < files.size(); ++i) {
    const fs::path rel = files[i].path;
    const std::string shown = (fs::path(out_dir) / rel).string();
    if (state[i] == 1) {
      r.report.push_back("unchanged " + shown);
      continue;
    }
    std::string err;
    const Fd dir = open_dirs(root.get(), rel.parent_path(), true, &err);
    if (dir.get() >= 0) err = write_atomic(dir.get(), rel.filename().string(), files[i].content);
    if (!err.empty()) {
      r.errors.push_back({shown, 0, 0, "", err});
      return r;
    }
    r.report.push_back((state[i] == 2 ? "replaced " : "wrote ") + shown);
  }
  return r;
}

}  // namespace kha::planner
