// json_text: the JSON text of data that came from outside (inventories, configs, the
// network, log fields). That data is not always UTF-8, and nlohmann::json's plain
// dump() throws on invalid bytes; here they become U+FFFD (found by the fuzzers).
#pragma once

#include <string>

namespace kha {

// `Json`: nlohmann::json or nlohmann::ordered_json. indent -1: one line.
template <class Json>
std::string json_text(const Json& value, int indent = -1) {
  return value.dump(indent, ' ', false, Json::error_handler_t::replace);
}

}  // namespace kha
