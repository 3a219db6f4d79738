// Plan output: JSON and YAML with the field names of issue #4 (for tools), a table (for
// people) and the text of `kha plan explain`. Pure.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "common/result.h"
#include "planner/plan.h"

namespace kha::planner {

nlohmann::ordered_json plan_to_json(const Plan& plan);
std::string plan_to_yaml(const Plan& plan);
std::string plan_to_table(const Plan& plan);

// The rule and inputs behind one field. `host` is an inventory host or "cluster"; `field` an
// output field name (cluster fields also by dotted path, e.g. "localhost_lb.upstreams").
Result<std::string> explain(const Plan& plan, const std::string& host, const std::string& field);

}  // namespace kha::planner
