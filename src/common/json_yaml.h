// json_yaml: a JSON document (nlohmann) as YAML text, for `-o yaml` outputs; strings are
// double-quoted so that "yes", "0x1" or "1.10" stay strings. The includer links yaml-cpp.
#pragma once

#include <string>

#include <yaml-cpp/yaml.h>

#include "common/json_text.h"

namespace kha {

template <class Json>
void emit_yaml(YAML::Emitter& out, const Json& v) {
  if (v.is_object()) {
    out << YAML::BeginMap;
    for (const auto& [k, item] : v.items()) {
      out << YAML::Key << k << YAML::Value;
      emit_yaml(out, item);
    }
    out << YAML::EndMap;
  } else if (v.is_array()) {
    out << YAML::BeginSeq;
    for (const auto& item : v) emit_yaml(out, item);
    out << YAML::EndSeq;
  } else if (v.is_string()) {
    out << YAML::DoubleQuoted << v.template get<std::string>();
  } else if (v.is_null()) {
    out << YAML::Null;
  } else if (v.is_boolean()) {
    out << YAML::TrueFalseBool << v.template get<bool>();
  } else {
    out << json_text(v);
  }
}

template <class Json>
std::string json_yaml(const Json& v) {
  YAML::Emitter out;
  emit_yaml(out, v);
  return std::string(out.c_str()) + "\n";
}

}  // namespace kha
