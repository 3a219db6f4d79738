// HTTP reply parsing for https probes: status line, Content-Length, chunked.
#include "health/http_reply.h"

#include <gtest/gtest.h>

namespace kha::health {
namespace {

TEST(ParseReplyHead, WaitsForTheBlankLine) {
  std::string error;
  EXPECT_FALSE(parse_reply_head("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n", &error));
  EXPECT_TRUE(error.empty());
}

TEST(ParseReplyHead, ReadsStatusAndLength) {
  std::string error;
  const std::string bytes = "HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok";
  auto head = parse_reply_head(bytes, &error);
  ASSERT_TRUE(head) << error;
  EXPECT_EQ(head->status, 200);
  EXPECT_EQ(head->content_length, 2u);
  EXPECT_EQ(head->size, bytes.size() - 2);
  EXPECT_TRUE(body_complete(*head, "ok"));
  EXPECT_FALSE(body_complete(*head, "o"));
  EXPECT_EQ(decode_body(*head, "okEXTRA"), "ok");
}

TEST(ParseReplyHead, StatusLineWithoutReasonPhrase) {
  std::string error;
  auto head = parse_reply_head("HTTP/1.0 503\r\n\r\n", &error);
  ASSERT_TRUE(head) << error;
  EXPECT_EQ(head->status, 503);
  EXPECT_FALSE(head->content_length);
  EXPECT_FALSE(body_complete(*head, "anything")) << "a body without length ends at EOF";
}

TEST(ParseReplyHead, RejectsWhatIsNotHttp) {
  for (const char* bad : {"SSH-2.0-OpenSSH_9.2\r\n\r\n", "HTTP/1.1 2000 OK\r\n\r\n",
                          "HTTP/1.1 abc OK\r\n\r\n", "HTTP/1.1 099 X\r\n\r\n"}) {
    std::string error;
    EXPECT_FALSE(parse_reply_head(bad, &error)) << bad;
    EXPECT_EQ(error.rfind("bad status line: ", 0), 0u) << bad;
  }
  std::string error;
  EXPECT_FALSE(parse_reply_head("HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n", &error));
  EXPECT_EQ(error, "bad Content-Length: x");
}

TEST(ParseReplyHead, ChunkedBodiesAreDecoded) {
  std::string error;
  auto head = parse_reply_head("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", &error);
  ASSERT_TRUE(head) << error;
  EXPECT_TRUE(head->chunked);
  EXPECT_FALSE(body_complete(*head, "1\r\no\r\n"));
  EXPECT_FALSE(body_complete(*head, "1\r\no\r\n1;ext=1\r\nk\r\n0\r\n"));
  EXPECT_TRUE(body_complete(*head, "1\r\no\r\n1;ext=1\r\nk\r\n0\r\n\r\n"));
  EXPECT_EQ(decode_body(*head, "1\r\no\r\n1;ext=1\r\nk\r\n0\r\n\r\n"), "ok");
  EXPECT_EQ(decode_body(*head, "a\r\nhello"), "hello") << "a partial chunk keeps what came";
}

TEST(ParseReplyHead, BodilessStatusesHaveNoBody) {
  std::string error;
  auto head = parse_reply_head("HTTP/1.1 204 No Content\r\n\r\n", &error);
  ASSERT_TRUE(head);
  EXPECT_TRUE(body_complete(*head, ""));
}

TEST(Excerpt, MakesOneShortPrintableLine) {
  EXPECT_EQ(excerpt("[+]ping ok\n[-]etcd failed\n"), "[+]ping ok [-]etcd failed");
  EXPECT_EQ(excerpt("a\r\n\tb"), "a b");
  EXPECT_EQ(excerpt(std::string(100, 'x'), 10), "xxxxxxx...");
  EXPECT_EQ(excerpt(""), "");
}

TEST(MakeGetRequest, IsAClosingHttp11Get) {
  EXPECT_EQ(make_get_request("/readyz", "10.0.0.1:6443"),
            "GET /readyz HTTP/1.1\r\nHost: 10.0.0.1:6443\r\nUser-Agent: kha-health-check\r\n"
            "Accept: */*\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(make_get_request("", "h").rfind("GET / HTTP/1.1\r\n", 0), 0u);
}

}  // namespace
}  // namespace kha::health
