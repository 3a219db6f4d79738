// read_file(): see read_file.h.
#include "common/read_file.h"

#include <fstream>
#include <sstream>

namespace kha {

std::optional<std::string> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return std::nullopt;
  return std::move(text).str();
}

}  // namespace kha
