// The request writer: field order, Content-Length rules, no header injection.
#include "http/request.h"

#include <gtest/gtest.h>

namespace kha::http {
namespace {

TEST(Serialize, ProbeGetIsAClosingHttp11Get) {
  EXPECT_EQ(serialize({.target = "/readyz", .host = "10.0.0.1:6443", .user_agent = "kha-health-check"}),
            "GET /readyz HTTP/1.1\r\nHost: 10.0.0.1:6443\r\nUser-Agent: kha-health-check\r\n"
            "Accept: */*\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(serialize({.target = "", .host = "h"}).rfind("GET / HTTP/1.1\r\n", 0), 0u);
}

TEST(Serialize, KeepAliveWithExtraFields) {
  EXPECT_EQ(serialize({.target = "/apis?watch=1",
                       .host = "[::1]:6443",
                       .user_agent = "kha-discovery",
                       .accept = "application/json",
                       .fields = {{"Authorization", "Bearer t"}},
                       .keep_alive = true}),
            "GET /apis?watch=1 HTTP/1.1\r\nHost: [::1]:6443\r\nUser-Agent: kha-discovery\r\n"
            "Accept: application/json\r\nAuthorization: Bearer t\r\n\r\n");
}

TEST(Serialize, PostCarriesContentLengthEvenWhenEmpty) {
  EXPECT_EQ(serialize({.method = "POST", .target = "/reload", .host = "127.0.0.1:8081"}),
            "POST /reload HTTP/1.1\r\nHost: 127.0.0.1:8081\r\nUser-Agent: kha\r\nAccept: */*\r\n"
            "Content-Length: 0\r\nConnection: close\r\n\r\n");
  const std::string with_body = serialize({.method = "POST", .target = "/echo", .host = "h", .body = "hi"});
  EXPECT_NE(with_body.find("\r\nContent-Length: 2\r\n"), std::string::npos);
  EXPECT_EQ(with_body.substr(with_body.size() - 6), "\r\n\r\nhi");
}

TEST(Serialize, LineBreaksInAValueCannotEndTheHead) {
  const std::string text = serialize({.host = "h", .fields = {{"Authorization", "Bearer x\r\n\r\nGET /evil"}}});
  EXPECT_NE(text.find("Authorization: Bearer x    GET /evil\r\n"), std::string::npos) << text;
  EXPECT_EQ(text.find("\r\n\r\n"), text.size() - 4);
}

}  // namespace
}  // namespace kha::http
