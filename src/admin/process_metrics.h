// The standard Prometheus process_* metrics (as the official client libraries export them)
// read from /proc/self: parsing is pure and unit tested; read_process_stats() does the I/O.
//
// | name                          | type    | meaning |
// |-------------------------------|---------|---------|
// | process_cpu_seconds_total     | counter | user + system CPU time |
// | process_open_fds              | gauge   | open file descriptors |
// | process_max_fds               | gauge   | the soft open-files limit (RLIMIT_NOFILE) |
// | process_virtual_memory_bytes  | gauge   | virtual memory size |
// | process_resident_memory_bytes | gauge   | resident set size |
// | process_start_time_seconds    | gauge   | start time, seconds since the Unix epoch |
// A value that cannot be read is left out of the scrape (as the client libraries do).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace kha::admin {

// The fields of /proc/<pid>/stat that the metrics need (proc(5)).
struct ProcStat {
  std::uint64_t utime_ticks = 0;   // field 14
  std::uint64_t stime_ticks = 0;   // field 15
  std::uint64_t start_ticks = 0;   // field 22, since boot
  std::uint64_t vsize_bytes = 0;   // field 23
  std::uint64_t rss_pages = 0;     // field 24
};

// /proc/self/stat; the command name (field 2) may hold spaces and parentheses.
std::optional<ProcStat> parse_proc_stat(std::string_view text);
// The "btime" line of /proc/stat: boot time, seconds since the epoch.
std::optional<std::uint64_t> parse_boot_time(std::string_view proc_stat);
// The soft "Max open files" of /proc/self/limits; +Inf for "unlimited".
std::optional<double> parse_max_open_files(std::string_view limits);

struct ProcessStats {
  std::optional<double> cpu_seconds;
  std::optional<double> start_time_seconds;
  std::optional<double> virtual_memory_bytes;
  std::optional<double> resident_memory_bytes;
  std::optional<double> open_fds;
  std::optional<double> max_fds;
};

// The stats from parsed parts; `boot_time` absent leaves the start time out.
ProcessStats process_stats(const ProcStat& stat, std::optional<std::uint64_t> boot_time, long ticks_per_second,
                           long page_size);

// Prometheus text (HELP, TYPE, sample) for each value present.
std::string render_process_metrics(const ProcessStats& stats);

// Reads /proc/self/stat, /proc/stat, /proc/self/limits and /proc/self/fd.
ProcessStats read_process_stats();

}  // namespace kha::admin
