// `kha plan check-certs`: the live certificate check of a planned cluster (plan_check_certs.cc).
#pragma once

#include <string>

#include "planner/plan.h"

namespace kha::cli {

// Connects to every apiserver and etcd member the plan names, reads the certificate each
// serves and reports the dialed names its SANs do not cover. output: "table" or "json".
// Returns the exit code: 0 all covered, 1 a name missing or an endpoint unreachable,
// 2 a bad --timeout.
int run_plan_check_certs(const planner::Plan& plan, const std::string& output, const std::string& timeout);

}  // namespace kha::cli
