// Logging: one line per event that changes state (start, backend up/down, reload,
// stop), never one per byte. Text ("msg key=value ...") or JSON lines, on stderr.
#pragma once

#include <exception>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

#include <spdlog/spdlog.h>

namespace kha::log {

enum class Format { Text, Json };

// Parses "text" | "json".
bool parse_format(std::string_view text, Format* out);

// Installs the process-wide logger. Safe to call again (tests, reload).
void setup(Format format, spdlog::level::level_enum level = spdlog::level::info);

using Field = std::pair<std::string_view, std::string>;

// event(info, "backend_down", {{"backend", "cp1"}, {"reason", "timeout"}})
// text: `backend_down backend=cp1 reason=timeout`; json: {"ts":..,"level":..,"msg":..,"backend":..}
void event(spdlog::level::level_enum level, std::string_view message,
           std::initializer_list<Field> fields = {});

inline void info(std::string_view m, std::initializer_list<Field> f = {}) { event(spdlog::level::info, m, f); }
inline void warn(std::string_view m, std::initializer_list<Field> f = {}) { event(spdlog::level::warn, m, f); }
inline void error(std::string_view m, std::initializer_list<Field> f = {}) { event(spdlog::level::err, m, f); }
inline void debug(std::string_view m, std::initializer_list<Field> f = {}) { event(spdlog::level::debug, m, f); }

// The completion handler for a co_spawn'ed coroutine: an exception that escaped it is
// logged as `message` (error, with its what()), never dropped. A coroutine that finished
// normally logs nothing. asio::co_spawn(io, run(), log::on_failure("takeover_server_failed")).
inline auto on_failure(std::string message) {
  return [message = std::move(message)](std::exception_ptr e) {
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& x) {
      error(message, {{"error", x.what()}});
    } catch (...) {
      error(message, {{"error", "unknown exception"}});
    }
  };
}

}  // namespace kha::log
