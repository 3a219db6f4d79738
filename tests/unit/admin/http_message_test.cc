#include "admin/http_message.h"

#include <gtest/gtest.h>

namespace kha::admin {
namespace {

TEST(HttpMessage, ParsesRequestLineAndHeaders) {
  HttpRequest r;
  EXPECT_EQ(parse_request_head("GET /metrics?x=1 HTTP/1.1\r\nHost: a\r\nConnection:  Close \r\n\r\n", &r), "");
  EXPECT_EQ(r.method, "GET");
  EXPECT_EQ(r.path, "/metrics");
  EXPECT_EQ(r.query, "x=1");
  EXPECT_EQ(r.headers.at("host"), "a");
  EXPECT_FALSE(r.keep_alive());
  EXPECT_EQ(r.content_length(), 0u);
}

TEST(HttpMessage, KeepAliveDefaults) {
  HttpRequest r;
  ASSERT_EQ(parse_request_head("GET / HTTP/1.1\r\n\r\n", &r), "");
  EXPECT_TRUE(r.keep_alive());
  ASSERT_EQ(parse_request_head("GET / HTTP/1.0\r\n\r\n", &r), "");
  EXPECT_FALSE(r.keep_alive());
  ASSERT_EQ(parse_request_head("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", &r), "");
  EXPECT_TRUE(r.keep_alive());
}

TEST(HttpMessage, RejectsBadRequests) {
  HttpRequest r;
  EXPECT_EQ(parse_request_head("GET /\r\n\r\n", &r), "expected a request line \"METHOD /path HTTP/1.1\"");
  EXPECT_EQ(parse_request_head("GET  / HTTP/1.1\r\n\r\n", &r), "expected a request line \"METHOD /path HTTP/1.1\"");
  EXPECT_EQ(parse_request_head("G(T / HTTP/1.1\r\n\r\n", &r), "bad method");
  EXPECT_EQ(parse_request_head("GET metrics HTTP/1.1\r\n\r\n", &r), "expected a target starting with '/'");
  EXPECT_EQ(parse_request_head("GET / HTTP/2.0\r\n\r\n", &r), "expected HTTP/1.0 or HTTP/1.1");
  EXPECT_EQ(parse_request_head("GET / HTTP/1.1\r\nno colon\r\n\r\n", &r), "bad header line");
  EXPECT_EQ(parse_request_head("POST / HTTP/1.1\r\nContent-Length: x\r\n\r\n", &r), "bad Content-Length");
  EXPECT_EQ(parse_request_head("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", &r),
            "chunked request bodies are not supported");
}

TEST(HttpMessage, SerializesResponses) {
  const HttpResponse r{404, "text/plain", "nope\n"};
  EXPECT_EQ(serialize_response(r, false),
            "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nContent-Length: 5\r\nConnection: close\r\n\r\nnope\n");
  EXPECT_EQ(serialize_response(r, true, true, "Allow: GET\r\n"),
            "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nContent-Length: 5\r\nConnection: keep-alive\r\n"
            "Allow: GET\r\n\r\n");
}

TEST(HttpMessage, AnswersNameFilesWithoutTheirDirectories) {
  EXPECT_EQ(without_directories("ok: reloaded /etc/kha/kha.yaml"), "ok: reloaded kha.yaml");
  EXPECT_EQ(without_directories("/tmp/x/kha.yaml:12:5: health.rise: must be > 0\ncannot read '/etc/kha/ca.pem'"),
            "kha.yaml:12:5: health.rise: must be > 0\ncannot read 'ca.pem'");
  EXPECT_EQ(without_directories("a/b stays, so does 1/2 (/run/kha.sock)"), "a/b stays, so does 1/2 (kha.sock)");
}

}  // namespace
}  // namespace kha::admin
