// refuse_browser_request: one row per rule, what passes, and what each refusal says.
#include "admin/request_guard.h"

#include <gtest/gtest.h>

namespace kha::admin {
namespace {

HttpRequest post(std::map<std::string, std::string> headers) {
  HttpRequest r;
  r.method = "POST";
  r.path = "/reload";
  r.headers = std::move(headers);
  return r;
}

struct Row {
  const char* name;
  std::map<std::string, std::string> headers;
  int status;  // 0: passes
  const char* reason;
};

TEST(RequestGuard, OneRowPerRule) {
  const HostPort listen{"127.0.0.1", 8081};
  const std::vector<Row> rows = {
      {"kha reload", {{"host", "127.0.0.1:8081"}, {"user-agent", "kha"}}, 0, ""},
      {"no headers at all (HTTP/1.0 tools)", {}, 0, ""},
      {"localhost", {{"host", "localhost:8081"}}, 0, ""},
      {"IPv6 loopback", {{"host", "[::1]:8081"}}, 0, ""},
      {"host without a port", {{"host", "LOCALHOST"}}, 0, ""},
      {"json body", {{"host", "127.0.0.1:8081"}, {"content-type", "application/json"}}, 0, ""},
      {"typed by hand, not a page", {{"sec-fetch-site", "none"}}, 0, ""},
      {"cross-site form", {{"origin", "http://evil.example"}}, 403, "origin"},
      {"opaque origin", {{"origin", "null"}}, 403, "origin"},
      {"fetch metadata", {{"sec-fetch-site", "same-site"}}, 403, "fetch_site"},
      {"DNS rebinding", {{"host", "evil.example:8081"}}, 421, "host"},
      {"rebinding on port 80", {{"host", "evil.example"}}, 421, "host"},
      {"another port", {{"host", "127.0.0.1:9999"}}, 421, "host"},
      {"another address", {{"host", "10.0.0.1:8081"}}, 421, "host"},
      {"garbage host", {{"host", "a:b:c"}}, 421, "host"},
      {"text/plain", {{"content-type", "text/plain;charset=UTF-8"}}, 415, "content_type"},
      {"form", {{"content-type", "Application/X-WWW-Form-Urlencoded"}}, 415, "content_type"},
      {"multipart", {{"content-type", "multipart/form-data; boundary=x"}}, 415, "content_type"},
  };
  for (const auto& row : rows) {
    const auto refusal = refuse_browser_request(post(row.headers), listen);
    if (row.status == 0) {
      EXPECT_FALSE(refusal) << row.name << ": " << refusal->message;
      continue;
    }
    ASSERT_TRUE(refusal) << row.name;
    EXPECT_EQ(refusal->status, row.status) << row.name;
    EXPECT_EQ(refusal->reason, row.reason) << row.name;
    EXPECT_EQ(refusal->message.find("evil"), std::string::npos) << row.name << ": echoes the header";
  }
}

TEST(RequestGuard, WildcardListenAcceptsAnyIpLiteralButNoName) {
  const HostPort listen{"0.0.0.0", 8081};
  EXPECT_FALSE(refuse_browser_request(post({{"host", "10.1.2.3:8081"}}), listen));
  EXPECT_FALSE(refuse_browser_request(post({{"host", "[fd00::1]:8081"}}), listen));
  EXPECT_TRUE(refuse_browser_request(post({{"host", "node1.example:8081"}}), listen));
}

TEST(RequestGuard, ListenAddressItself) {
  EXPECT_FALSE(refuse_browser_request(post({{"host", "10.0.0.5:8081"}}), HostPort{"10.0.0.5", 8081}));
  EXPECT_FALSE(refuse_browser_request(post({{"host", "[FD00::5]:8081"}}), HostPort{"fd00::5", 8081}));
}

}  // namespace
}  // namespace kha::admin
