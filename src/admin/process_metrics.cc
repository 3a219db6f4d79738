// process_* metrics: /proc parsing, the rendering, and the reads from /proc/self (process_metrics.h).
#include "admin/process_metrics.h"

#include <dirent.h>
#include <unistd.h>

#include <charconv>
#include <cmath>
#include <limits>
#include <vector>

#include "admin/metrics.h"
#include "common/read_file.h"

namespace kha::admin {

namespace {

std::optional<std::uint64_t> to_u64(std::string_view s) {
  std::uint64_t v = 0;
  const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || ptr != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

std::vector<std::string_view> words(std::string_view s) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n')) ++i;
    const std::size_t start = i;
    while (i < s.size() && s[i] != ' ' && s[i] != '\t' && s[i] != '\n') ++i;
    if (i > start) out.push_back(s.substr(start, i - start));
  }
  return out;
}

}  // namespace

std::optional<ProcStat> parse_proc_stat(std::string_view text) {
  // "pid (comm) state ppid ...": the name ends at the last ')', whatever it holds.
  const auto close = text.rfind(')');
  if (close == std::string_view::npos) return std::nullopt;
  const auto w = words(text.substr(close + 1));
  // w[0] is field 3 (state), so field n is w[n - 3].
  auto field = [&](std::size_t n) { return n - 3 < w.size() ? to_u64(w[n - 3]) : std::nullopt; };
  const auto utime = field(14), stime = field(15), start = field(22), vsize = field(23), rss = field(24);
  if (!utime || !stime || !start || !vsize || !rss) return std::nullopt;
  return ProcStat{*utime, *stime, *start, *vsize, *rss};
}

std::optional<std::uint64_t> parse_boot_time(std::string_view proc_stat) {
  std::size_t pos = 0;
  while (pos < proc_stat.size()) {
    auto end = proc_stat.find('\n', pos);
    if (end == std::string_view::npos) end = proc_stat.size();
    const auto w = words(proc_stat.substr(pos, end - pos));
    if (w.size() == 2 && w[0] == "btime") return to_u64(w[1]);
    pos = end + 1;
  }
  return std::nullopt;
}

std::optional<double> parse_max_open_files(std::string_view limits) {
  constexpr std::string_view kKey = "Max open files";
  std::size_t pos = 0;
  while (pos < limits.size()) {
    auto end = limits.find('\n', pos);
    if (end == std::string_view::npos) end = limits.size();
    const auto line = limits.substr(pos, end - pos);
    if (line.substr(0, kKey.size()) == kKey) {
      const auto w = words(line.substr(kKey.size()));  // soft, hard, unit
      if (w.empty()) return std::nullopt;
      if (w[0] == "unlimited") return std::numeric_limits<double>::infinity();
      if (const auto v = to_u64(w[0])) return static_cast<double>(*v);
      return std::nullopt;
    }
    pos = end + 1;
  }
  return std::nullopt;
}

ProcessStats process_stats(const ProcStat& stat, std::optional<std::uint64_t> boot_time, long ticks_per_second,
                           long page_size) {
  ProcessStats s;
  const double ticks = ticks_per_second > 0 ? static_cast<double>(ticks_per_second) : 100.0;
  s.cpu_seconds = static_cast<double>(stat.utime_ticks + stat.stime_ticks) / ticks;
  if (boot_time) s.start_time_seconds = static_cast<double>(*boot_time) + static_cast<double>(stat.start_ticks) / ticks;
  s.virtual_memory_bytes = static_cast<double>(stat.vsize_bytes);
  s.resident_memory_bytes = static_cast<double>(stat.rss_pages) * static_cast<double>(page_size);
  return s;
}

std::string render_process_metrics(const ProcessStats& stats) {
  std::string out;
  auto metric = [&](const char* name, const char* type, const char* help, const std::optional<double>& v) {
    if (!v) return;
    out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
    out += std::string(name) + " " + format_sample(*v) + "\n";
  };
  metric("process_cpu_seconds_total", "counter", "Total user and system CPU time spent in seconds.", stats.cpu_seconds);
  metric("process_open_fds", "gauge", "Number of open file descriptors.", stats.open_fds);
  metric("process_max_fds", "gauge", "Maximum number of open file descriptors.", stats.max_fds);
  metric("process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.", stats.virtual_memory_bytes);
  metric("process_resident_memory_bytes", "gauge", "Resident memory size in bytes.", stats.resident_memory_bytes);
  metric("process_start_time_seconds", "gauge", "Start time of the process since unix epoch in seconds.",
         stats.start_time_seconds);
  return out;
}

ProcessStats read_process_stats() {
  ProcessStats s;
  if (const auto text = read_file("/proc/self/stat")) {
    if (const auto stat = parse_proc_stat(*text)) {
      const auto boot = read_file("/proc/stat");
      s = process_stats(*stat, boot ? parse_boot_time(*boot) : std::nullopt, ::sysconf(_SC_CLK_TCK),
                        ::sysconf(_SC_PAGESIZE));
    }
  }
  if (const auto limits = read_file("/proc/self/limits")) s.max_fds = parse_max_open_files(*limits);
  if (DIR* dir = ::opendir("/proc/self/fd")) {
    double n = 0;
    while (const dirent* e = ::readdir(dir))
      if (e->d_name[0] != '.') ++n;
    ::closedir(dir);
    s.open_fds = n - 1;  // not the descriptor that listed them
  }
  return s;
}

}  // namespace kha::admin
