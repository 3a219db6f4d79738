// What `kha plan check-certs` checks, pure: the serving endpoints a plan names (every
// apiserver, every etcd member), the names and addresses some node or component dials each
// by, whether a certificate's SANs cover a name, and the per-endpoint report (text, JSON).
// Fetching the certificates is the caller's (http/peer_certificate.h).
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/address.h"
#include "planner/plan.h"

namespace kha::planner {

// One name or address a client dials an endpoint by, and who dials it ("w1
// kube_apiserver_endpoint", "cluster kubeadm_control_plane_endpoint", "localhost LB upstream").
struct DialedName {
  std::string name;  // an IP literal (canonical text) or a DNS name (lower case)
  std::vector<std::string> dialed_by;
};

struct CertTarget {
  std::string component;  // "apiserver" or "etcd"
  std::string host;       // inventory name
  HostPort address;       // where check-certs connects
  std::vector<DialedName> names;
};

// Every apiserver (control plane at main_access_ip:kube_apiserver_port) and etcd member (its
// client URL), in inventory order, with the names dialed to reach it. A name dialed through
// a load balancer, a VIP or a loopback address reaches any apiserver, so every apiserver
// needs it; a name that is one control plane's own address, or inventory name, only that one.
std::vector<CertTarget> cert_targets(const Plan& plan);

// Whether the SANs cover `name`: an IP literal only by an equal IP SAN (never by a DNS
// SAN), a DNS name by an equal DNS SAN (case-insensitive) or a wildcard SAN "*.rest" whose
// star stands for exactly one whole leftmost label (RFC 6125 6.4.3, as Go and OpenSSL do).
bool san_covers(const SanSet& sans, const std::string& name);

// The outcome for one target: the certificate's SANs or why none was read.
struct CertCheck {
  CertTarget target;
  bool fetched = false;
  std::string error;         // when !fetched: "connect: Connection refused", "timed out after 3s ..."
  std::string subject;       // the certificate's subject, for the report
  SanSet sans;               // as presented
  std::vector<DialedName> missing;  // dialed names the SANs do not cover
};

// Fills `missing` from `sans`.
CertCheck judge(CertTarget target, SanSet sans, std::string subject);
CertCheck unreachable(CertTarget target, std::string error);

// Everything is reachable and covered.
bool all_covered(const std::vector<CertCheck>& checks);
std::string cert_checks_to_text(const std::vector<CertCheck>& checks);
nlohmann::ordered_json cert_checks_to_json(const std::vector<CertCheck>& checks);

}  // namespace kha::planner
