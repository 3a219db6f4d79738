// The stand-in's HTTP/1.1 subset: request heads, queries, keep-alive rules, framing.
#include "standin/http.h"

#include <gtest/gtest.h>

namespace kha::standin {
namespace {

TEST(ParseRequest, LineHeadersAndQuery) {
  std::string why;
  auto r = parse_request(
      "GET /api/v1/pods?watch=true&labelSelector=kubernetes.io%2Fservice-name%3Dkubernetes&verbose HTTP/1.1\r\n"
      "Host: x\r\nContent-Length: 5\r\nX-Thing:  spaced \r\n\r\n",
      &why);
  ASSERT_TRUE(r) << why;
  EXPECT_EQ(r->method, "GET");
  EXPECT_EQ(r->path, "/api/v1/pods");
  EXPECT_EQ(r->query_value("watch"), "true");
  EXPECT_EQ(r->query_value("labelSelector"), "kubernetes.io/service-name=kubernetes");
  EXPECT_TRUE(r->has_query("verbose"));
  EXPECT_EQ(r->query_value("missing", "dflt"), "dflt");
  EXPECT_EQ(r->header("x-thing"), "spaced");
  EXPECT_EQ(r->content_length, 5u);
  EXPECT_TRUE(r->keep_alive());
}

TEST(ParseRequest, KeepAliveRules) {
  std::string why;
  EXPECT_FALSE(parse_request("GET / HTTP/1.1\r\nConnection: close\r\n\r\n", &why)->keep_alive());
  EXPECT_FALSE(parse_request("GET / HTTP/1.0\r\n\r\n", &why)->keep_alive());
  EXPECT_TRUE(parse_request("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", &why)->keep_alive());
}

TEST(ParseRequest, Rejects) {
  const std::pair<const char*, const char*> cases[] = {
      {"GARBAGE\r\n\r\n", "malformed request line"},
      {"GET / HTTP/2\r\n\r\n", "unsupported HTTP version"},
      {"GET nopath HTTP/1.1\r\n\r\n", "malformed request target"},
      {"GET / HTTP/1.1\r\nNoColon\r\n\r\n", "malformed header line"},
      {"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", "chunked request bodies are not supported"},
      {"POST / HTTP/1.1\r\nContent-Length: 12x\r\n\r\n", "malformed Content-Length"},
  };
  for (const auto& [input, message] : cases) {
    std::string why;
    EXPECT_FALSE(parse_request(input, &why)) << input;
    EXPECT_EQ(why, message) << input;
  }
}

TEST(Serialize, FixedBodyCarriesIdentityAndLength) {
  const std::string out = serialize(Response{500, "text/plain", "nope", {{"X-A", "b"}}}, "cp1", false);
  EXPECT_EQ(out,
            "HTTP/1.1 500 Internal Server Error\r\nContent-Type: text/plain\r\nContent-Length: 4\r\n"
            "Cache-Control: no-cache, private\r\nX-Standin-Identity: cp1\r\nX-A: b\r\nConnection: close\r\n\r\nnope");
}

TEST(Serialize, Chunks) {
  EXPECT_EQ(chunk("0123456789abcdefX"), "11\r\n0123456789abcdefX\r\n");
  EXPECT_EQ(chunk(""), "0\r\n\r\n");
  const std::string head = serialize_stream_head(200, "application/json", "cp2");
  EXPECT_NE(head.find("Transfer-Encoding: chunked\r\n"), std::string::npos);
  EXPECT_NE(head.find("X-Standin-Identity: cp2\r\n"), std::string::npos);
  EXPECT_EQ(head.find("Content-Length"), std::string::npos);
}

}  // namespace
}  // namespace kha::standin
