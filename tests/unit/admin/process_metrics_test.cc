// process_* metrics: /proc/self/stat, /proc/stat and /proc/self/limits parsing, and the rendering.
#include "admin/process_metrics.h"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <unistd.h>

#include <cmath>

namespace kha::admin {
namespace {

// A real line of a process whose name holds a space and a parenthesis.
constexpr const char* kStat =
    "4242 (kha (proxy) x) S 1 4242 4242 0 -1 4194560 1234 0 0 0 250 75 0 0 20 0 3 0 "
    "123456 104857600 2560 18446744073709551615 1 1 0 0 0 0 0 4096 0 0 0 0 17 1 0 0 0 0 0\n";

TEST(ProcStat, ReadsTheFieldsAfterTheCommandName) {
  const auto s = parse_proc_stat(kStat);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->utime_ticks, 250u);
  EXPECT_EQ(s->stime_ticks, 75u);
  EXPECT_EQ(s->start_ticks, 123456u);
  EXPECT_EQ(s->vsize_bytes, 104857600u);
  EXPECT_EQ(s->rss_pages, 2560u);
}

TEST(ProcStat, RejectsTruncatedOrMalformedText) {
  EXPECT_FALSE(parse_proc_stat(""));
  EXPECT_FALSE(parse_proc_stat("4242 (kha) S 1 4242"));
  EXPECT_FALSE(parse_proc_stat("4242 kha S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22"));
  std::string bad = kStat;
  bad.replace(bad.find(" 250 "), 5, " x50 ");
  EXPECT_FALSE(parse_proc_stat(bad));
}

TEST(BootTime, ReadsTheBtimeLine) {
  EXPECT_EQ(parse_boot_time("cpu  1 2 3\nintr 5 6\nbtime 1764720000\nprocesses 99\n"), 1764720000u);
  EXPECT_FALSE(parse_boot_time("cpu 1 2 3\n"));
  EXPECT_FALSE(parse_boot_time("btime soon\n"));
}

TEST(Limits, ReadsTheSoftOpenFilesLimit) {
  const char* limits =
      "Limit                     Soft Limit           Hard Limit           Units     \n"
      "Max cpu time              unlimited            unlimited            seconds   \n"
      "Max open files            1024                 524288               files     \n";
  EXPECT_EQ(parse_max_open_files(limits), 1024.0);
  const auto unlimited = parse_max_open_files("Max open files            unlimited            unlimited    files\n");
  ASSERT_TRUE(unlimited);
  EXPECT_TRUE(std::isinf(*unlimited));
  EXPECT_FALSE(parse_max_open_files("Max cpu time              unlimited            unlimited            seconds\n"));
}

TEST(ProcessStats, ConvertsTicksAndPages) {
  const auto s = process_stats(*parse_proc_stat(kStat), 1764720000u, 100, 4096);
  EXPECT_DOUBLE_EQ(*s.cpu_seconds, 3.25);
  EXPECT_DOUBLE_EQ(*s.start_time_seconds, 1764720000.0 + 1234.56);
  EXPECT_DOUBLE_EQ(*s.virtual_memory_bytes, 104857600.0);
  EXPECT_DOUBLE_EQ(*s.resident_memory_bytes, 2560.0 * 4096);
  EXPECT_FALSE(process_stats(*parse_proc_stat(kStat), std::nullopt, 100, 4096).start_time_seconds);
}

TEST(ProcessStats, RendersWhatIsKnownWithTheClientLibrariesTypes) {
  ProcessStats s;
  s.cpu_seconds = 3.25;
  s.open_fds = 12;
  s.max_fds = 1024;
  const auto text = render_process_metrics(s);
  EXPECT_NE(text.find("# TYPE process_cpu_seconds_total counter\nprocess_cpu_seconds_total 3.25\n"),
            std::string::npos);
  EXPECT_NE(text.find("# TYPE process_open_fds gauge\nprocess_open_fds 12\n"), std::string::npos);
  EXPECT_NE(text.find("# TYPE process_max_fds gauge\nprocess_max_fds 1024\n"), std::string::npos);
  EXPECT_EQ(text.find("process_start_time_seconds"), std::string::npos) << "unknown values are left out";
}

TEST(ProcessStats, ReadsThisProcess) {
  const auto before = read_process_stats();
  ASSERT_TRUE(before.open_fds && before.max_fds && before.resident_memory_bytes && before.start_time_seconds);
  EXPECT_GT(*before.resident_memory_bytes, 0);
  EXPECT_GT(*before.start_time_seconds, 1.6e9);
  const int fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  EXPECT_EQ(*read_process_stats().open_fds, *before.open_fds + 1);
  ::close(fd);
  EXPECT_EQ(*read_process_stats().open_fds, *before.open_fds);
}

}  // namespace
}  // namespace kha::admin
