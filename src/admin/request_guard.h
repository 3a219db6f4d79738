// Which requests may change state through the admin endpoint. The endpoint has no
// authentication and relies on listening on loopback; a web page in a browser on the
// same host can still reach loopback: by a cross-site "simple" request (a form POST or a
// no-cors fetch, sent without a CORS preflight) or by DNS rebinding (a name of the
// attacker's that resolves to 127.0.0.1, making the page same-origin with kha). Neither
// can be sent without a header that gives it away, so state-changing requests carrying
// one are refused:
//   Origin (any value)                         -> 403  browsers send it on cross-site POSTs
//   Sec-Fetch-Site other than "none"           -> 403  a page initiated the request
//   Host naming something other than this      -> 421  DNS rebinding: the name is the attacker's
//     endpoint (its listen address or port, localhost, 127.0.0.1, [::1]; any IP literal
//     when listening on a wildcard address)
//   Content-Type text/plain, application/x-www-form-urlencoded,
//     multipart/form-data                      -> 415  the types a page may send without a preflight
// Absent headers pass: `kha reload`, curl and scripts send none of these. Pure.
#pragma once

#include <optional>
#include <string>

#include "admin/http_message.h"
#include "common/address.h"

namespace kha::admin {

struct Refusal {
  int status = 0;           // 403, 421 or 415
  std::string reason;       // metric label: "origin", "fetch_site", "host" or "content_type"
  std::string message;      // the answer's body: names the rule, never a path or a header's value
};

// nullopt when `req` may change state on an endpoint bound to `listen` (the bound
// address, with the real port).
std::optional<Refusal> refuse_browser_request(const HttpRequest& req, const HostPort& listen);

}  // namespace kha::admin
