// The one HTTP/1.1 response parser: status line, fields, Content-Length, chunked, body to
// the close, keep-alive, and the limits (head, body, chunk size lines, trailers).
#include "http/response.h"

#include <gtest/gtest.h>

namespace kha::http {
namespace {

// Feeds `bytes` whole, then (when `close`) the end of the connection.
ResponseParser parse(std::string_view bytes, Limits limits = {}, bool close = false) {
  ResponseParser p(limits);
  p.feed(bytes);
  if (close) p.finish();
  return p;
}

// Feeds `bytes` one byte at a time: the result must not depend on how reads split them.
ResponseParser parse_bytewise(std::string_view bytes, Limits limits = {}) {
  ResponseParser p(limits);
  for (char c : bytes) p.feed(std::string_view(&c, 1));
  return p;
}

TEST(ResponseParser, WaitsForTheBlankLine) {
  auto p = parse("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n");
  EXPECT_EQ(p.progress(), Progress::NeedMore);
  EXPECT_FALSE(p.has_head());
  EXPECT_TRUE(p.error().empty());
}

TEST(ResponseParser, ReadsStatusFieldsAndLengthDelimitedBody) {
  const std::string bytes = "HTTP/1.1 200 OK\r\ncontent-length: 2\r\nContent-Type: text/plain\r\n\r\nokEXTRA";
  auto p = parse(bytes);
  ASSERT_EQ(p.progress(), Progress::Complete) << p.error();
  EXPECT_EQ(p.head().status, 200);
  EXPECT_EQ(p.head().content_length, 2u);
  EXPECT_EQ(p.head().size, bytes.size() - 7);
  EXPECT_EQ(p.head().field("CONTENT-TYPE"), "text/plain");
  EXPECT_EQ(p.head().field("x-missing"), "");
  EXPECT_EQ(p.body(), "ok");
  auto q = parse_bytewise(bytes);
  EXPECT_EQ(q.progress(), Progress::Complete);
  EXPECT_EQ(q.body(), "ok");
}

TEST(ResponseParser, StatusLineWithoutReasonPhraseAndBodyToTheClose) {
  auto p = parse("HTTP/1.0 503\r\n\r\nanything");
  EXPECT_EQ(p.progress(), Progress::NeedMore) << "a body without length ends at the close";
  EXPECT_EQ(p.head().status, 503);
  EXPECT_FALSE(p.head().content_length);
  EXPECT_EQ(p.finish(), Progress::Complete);
  EXPECT_EQ(p.body(), "anything");
}

TEST(ResponseParser, BadStatusLinesFailAsSoonAsTheLineIsThere) {
  for (const char* bad : {"SSH-2.0-OpenSSH_9.2\r\n", "HTTP/1.1 2000 OK\r\n\r\n", "HTTP/1.1 abc OK\r\n\r\n",
                          "HTTP/1.1 099 X\r\n\r\n", "HTTP/1.1 600 X\r\n\r\n", "HTTP/1.1\r\n\r\n"}) {
    auto p = parse(bad);
    EXPECT_EQ(p.progress(), Progress::Failed) << bad;
    EXPECT_EQ(p.error().rfind("bad status line: ", 0), 0u) << p.error();
  }
  EXPECT_EQ(parse("SSH-2.0-OpenSSH_9.2\r\n").error(), "bad status line: SSH-2.0-OpenSSH_9.2");
}

TEST(ResponseParser, BadOrConflictingContentLength) {
  EXPECT_EQ(parse("HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n").error(), "bad Content-Length: x");
  EXPECT_EQ(parse("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n").error(), "bad Content-Length: -1");
  EXPECT_EQ(parse("HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999999\r\n\r\n").progress(),
            Progress::Failed);
  EXPECT_EQ(parse("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n").error(),
            "bad Content-Length: 3");
  EXPECT_EQ(parse("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nok").progress(),
            Progress::Complete);
}

TEST(ResponseParser, BodilessStatusesHaveNoBody) {
  for (const char* text : {"HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n", "HTTP/1.1 304 X\r\n\r\n",
                           "HTTP/1.1 100 Continue\r\n\r\n"}) {
    auto p = parse(text);
    EXPECT_EQ(p.progress(), Progress::Complete) << text;
    EXPECT_EQ(p.body(), "");
  }
}

TEST(ResponseParser, ChunkedBodiesAreDecoded) {
  const std::string bytes = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 99\r\n\r\n"
                            "1\r\no\r\n1;ext=1\r\nk\r\n0\r\n\r\n";
  auto p = parse(bytes);
  ASSERT_EQ(p.progress(), Progress::Complete) << p.error();
  EXPECT_TRUE(p.head().chunked);
  EXPECT_FALSE(p.head().content_length) << "Transfer-Encoding wins over Content-Length";
  EXPECT_EQ(p.body(), "ok");
  EXPECT_EQ(parse_bytewise(bytes).body(), "ok");
  // Not complete before the blank line after the last chunk.
  EXPECT_EQ(parse(bytes.substr(0, bytes.size() - 2)).progress(), Progress::NeedMore);
  auto partial = parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\na\r\nhello");
  EXPECT_EQ(partial.body(), "hello") << "a partial chunk keeps what came";
  EXPECT_EQ(partial.finish(), Progress::Failed);
  EXPECT_EQ(partial.error(), "connection closed inside a chunked body");
}

TEST(ResponseParser, ChunkedEdgeCases) {
  const std::string head = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
  // Upper-case hex, spaces before an extension, trailer fields.
  auto p = parse(head + "A \r\n0123456789\r\n0\r\nX-Trailer: 1\r\n\r\n");
  ASSERT_EQ(p.progress(), Progress::Complete) << p.error();
  EXPECT_EQ(p.body(), "0123456789");
  EXPECT_EQ(parse(head + "zz\r\n").error(), "bad chunk size: zz");
  EXPECT_EQ(parse(head + "\r\n").error(), "bad chunk size: ");
  EXPECT_EQ(parse(head + "-1\r\n").progress(), Progress::Failed);
  EXPECT_EQ(parse(head + "fffffffffffffffffffff\r\n").progress(), Progress::Failed) << "size overflows";
  EXPECT_EQ(parse(head + "2\r\nokXX").error(), "bad chunk framing: no CRLF after the chunk data");
  EXPECT_EQ(parse(head + std::string(2000, '1')).error().rfind("bad chunk size line: ", 0), 0u);
  Limits small{.max_head = 64};
  EXPECT_EQ(parse(head + "0\r\nX-Long: " + std::string(100, 'x') + "\r\n\r\n", small).error(),
            "chunk trailers over 64 bytes");
}

TEST(ResponseParser, HeadOverTheLimitFails) {
  Limits limits{.max_head = 64};
  const std::string big = "HTTP/1.1 200 OK\r\nX-Big: " + std::string(100, 'x') + "\r\n\r\n";
  auto p = parse(big, limits);
  EXPECT_EQ(p.progress(), Progress::Failed);
  EXPECT_EQ(p.error().rfind("reply head over 64 bytes: HTTP/1.1 200 OK X-Big: xxx", 0), 0u) << p.error();
  // Without a blank line the limit applies to what is buffered.
  EXPECT_EQ(parse_bytewise("HTTP/1.1 200 OK\r\nX-Big: " + std::string(100, 'x'), limits).progress(),
            Progress::Failed);
  // Exactly at the limit is accepted.
  const std::string fits = "HTTP/1.1 200 OK\r\nX: " + std::string(64 - 24, 'y') + "\r\n\r\n";
  ASSERT_EQ(fits.size(), 64u);
  EXPECT_EQ(parse(fits, limits).progress(), Progress::NeedMore);
}

TEST(ResponseParser, BodyOverTheLimitFailsOrIsCut) {
  const std::string bytes = "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n0123456789";
  auto failed = parse(bytes, {.max_body = 4});
  EXPECT_EQ(failed.progress(), Progress::Failed);
  EXPECT_EQ(failed.error(), "body over 4 bytes");
  EXPECT_TRUE(failed.has_head()) << "the status is still known";
  auto cut = parse(bytes, {.max_body = 4, .cut_body = true});
  EXPECT_EQ(cut.progress(), Progress::Complete);
  EXPECT_TRUE(cut.body_cut());
  EXPECT_EQ(cut.body(), "0123");
  // The limit counts decoded bytes, chunked or to the close, taken or not.
  auto chunked = parse_bytewise("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n3\r\ndef\r\n",
                                {.max_body = 5});
  EXPECT_EQ(chunked.error(), "body over 5 bytes");
  ResponseParser streamed({.max_body = 5});
  streamed.feed("HTTP/1.1 200 OK\r\n\r\nabc");
  EXPECT_EQ(streamed.take_body(), "abc");
  EXPECT_EQ(streamed.feed("def"), Progress::Failed);
  EXPECT_EQ(parse(bytes, {.max_body = 10}).progress(), Progress::Complete) << "exactly the limit";
}

TEST(ResponseParser, TheCloseBeforeTheEnd) {
  EXPECT_EQ(parse("", {}, true).error(), "connection closed before any reply");
  EXPECT_EQ(parse("HTTP/1.1 200 OK\r\nX: y", {}, true).error(), "reply head incomplete: HTTP/1.1 200 OK X: y");
  EXPECT_EQ(parse("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nab", {}, true).error(),
            "connection closed 2 bytes into a body of 5");
}

TEST(ResponseParser, KeepAliveReadsResponsesInTurn) {
  ResponseParser p;
  EXPECT_EQ(p.feed("\r\nHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\naHTTP/1.1 404 Not Found\r\nContent-Len"),
            Progress::Complete);
  EXPECT_EQ(p.body(), "a");
  EXPECT_EQ(p.next(), Progress::NeedMore) << "the bytes after the first response are kept";
  EXPECT_EQ(p.feed("gth: 1\r\n\r\nb"), Progress::Complete);
  EXPECT_EQ(p.head().status, 404);
  EXPECT_EQ(p.body(), "b");
  EXPECT_EQ(p.next(), Progress::NeedMore);
  EXPECT_FALSE(p.has_head());
}

TEST(Excerpt, MakesOneShortPrintableLine) {
  EXPECT_EQ(excerpt("[+]ping ok\n[-]etcd failed\n"), "[+]ping ok [-]etcd failed");
  EXPECT_EQ(excerpt("a\r\n\tb"), "a b");
  EXPECT_EQ(excerpt(std::string(100, 'x'), 10), "xxxxxxx...");
  EXPECT_EQ(excerpt("xxxxxxxxxx yyy", 10), "xxxxxxx...");
  EXPECT_EQ(excerpt("xxxxxxxxxx   ", 10), "xxxxxxxxxx");
  EXPECT_EQ(excerpt(""), "");
}

}  // namespace
}  // namespace kha::http
