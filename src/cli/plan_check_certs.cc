// `kha plan check-certs`: targets from the plan (planner/cert_check.h), certificates read
// over TLS (http/peer_certificate.h), the report on stdout.
#include "cli/plan_check_certs.h"

#include <iostream>

#include "common/duration.h"
#include "common/json_text.h"
#include "http/peer_certificate.h"
#include "planner/cert_check.h"

namespace kha::cli {

int run_plan_check_certs(const planner::Plan& plan, const std::string& output, const std::string& timeout_text) {
  const auto timeout = parse_duration(timeout_text);
  if (!timeout || timeout->count() <= 0) {
    std::cerr << "kha plan check-certs: --timeout " << timeout_text << ": expected a positive duration such as 3s\n";
    return 2;
  }
  auto targets = planner::cert_targets(plan);
  std::vector<HostPort> addresses;
  for (const auto& t : targets) addresses.push_back(t.address);
  const auto certs = http::fetch_peer_certificates(addresses, *timeout);
  std::vector<planner::CertCheck> checks;
  for (std::size_t i = 0; i < targets.size(); ++i) {
    if (!certs[i].ok()) {
      checks.push_back(planner::unreachable(std::move(targets[i]), certs[i].error));
      continue;
    }
    const auto& n = certs[i].names;
    checks.push_back(planner::judge(std::move(targets[i]), planner::SanSet{n.dns, n.ip}, n.subject));
  }
  if (output == "json") std::cout << json_text(planner::cert_checks_to_json(checks), 2) << "\n";
  else std::cout << planner::cert_checks_to_text(checks);
  return planner::all_covered(checks) ? 0 : 1;
}

}  // namespace kha::cli
