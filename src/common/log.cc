// Logging: the text/JSON line format, the spdlog stderr logger and the count of failed coroutines.
#include "common/log.h"

#include <atomic>

#include <nlohmann/json.hpp>
#include <spdlog/sinks/stdout_sinks.h>

#include "common/json_text.h"

namespace kha::log {
namespace {

std::atomic<Format> g_format{Format::Text};

bool needs_quotes(std::string_view v) {
  if (v.empty()) return true;
  for (char c : v)
    if (c == ' ' || c == '"' || c == '=' || c == '\n') return true;
  return false;
}

}  // namespace

bool parse_format(std::string_view text, Format* out) {
  if (text == "text") *out = Format::Text;
  else if (text == "json") *out = Format::Json;
  else return false;
  return true;
}

void setup(Format format, spdlog::level::level_enum level) {
  g_format = format;
  spdlog::drop_all();
  auto logger = spdlog::stderr_logger_mt("kha");
  if (format == Format::Json) logger->set_pattern("%v");
  else logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e%z %l %v");
  logger->set_level(level);
  logger->flush_on(spdlog::level::trace);
  spdlog::set_default_logger(logger);
}

void event(spdlog::level::level_enum level, std::string_view message, std::initializer_list<Field> fields) {
  auto logger = spdlog::default_logger_raw();
  if (!logger->should_log(level)) return;
  if (g_format == Format::Json) {
    nlohmann::json line;
    const auto now = std::chrono::system_clock::now();
    line["ts"] = std::chrono::duration<double>(now.time_since_epoch()).count();
    line["level"] = std::string(spdlog::level::to_string_view(level).data());
    line["msg"] = std::string(message);
    for (const auto& [key, value] : fields) line[std::string(key)] = value;
    logger->log(level, "{}", json_text(line));
    return;
  }
  std::string text(message);
  for (const auto& [key, value] : fields) {
    text += ' ';
    text += key;
    text += '=';
    text += needs_quotes(value) ? json_text(nlohmann::json(value)) : value;
  }
  logger->log(level, "{}", text);
}

namespace {
std::atomic<std::uint64_t> g_coroutine_failures{0};
}  // namespace

void CoroutineEnd::operator()(std::exception_ptr failure) const {
  if (!failure) return;
  g_coroutine_failures.fetch_add(1, std::memory_order_relaxed);
  try {
    std::rethrow_exception(failure);
  } catch (const std::exception& e) {
    error("coroutine_failed", {{"task", task}, {"error", e.what()}});
  } catch (...) {
    error("coroutine_failed", {{"task", task}, {"error", "not a std::exception"}});
  }
}

std::uint64_t coroutine_failures() { return g_coroutine_failures.load(std::memory_order_relaxed); }

}  // namespace kha::log
