#include "proxy/first_bytes.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "proxy/hedge_budget.h"

namespace kha::proxy {
namespace {

using Bytes = std::vector<std::uint8_t>;

// A ClientHello of body_size bytes of body in one record (the body's content is not read).
Bytes hello(std::size_t body_size) {
  const std::size_t msg = 4 + body_size;
  Bytes b{22, 3, 1, static_cast<std::uint8_t>(msg >> 8), static_cast<std::uint8_t>(msg), 1, 0,
          static_cast<std::uint8_t>(body_size >> 8), static_cast<std::uint8_t>(body_size)};
  b.resize(5 + msg, 0xab);
  return b;
}

FirstBytes of(const Bytes& b) { return classify_first_bytes(b); }

TEST(FirstBytes, AWholeClientHelloIsReplayable) { EXPECT_EQ(of(hello(508)), FirstBytes::ClientHello); }

TEST(FirstBytes, EveryPrefixOfAHelloIsPartial) {
  const Bytes h = hello(300);
  for (std::size_t n = 1; n < h.size(); ++n)
    EXPECT_EQ(of(Bytes(h.begin(), h.begin() + static_cast<long>(n))), FirstBytes::PartialHello) << n;
}

TEST(FirstBytes, GarbageAndPlainTextAreNot) {
  EXPECT_EQ(of(Bytes{}), FirstBytes::Empty);
  EXPECT_EQ(of(Bytes(8, 0)), FirstBytes::Other);  // the 8 NUL bytes
  const std::string post = "POST /api/v1/namespaces HTTP/1.1\r\n";
  EXPECT_EQ(of(Bytes(post.begin(), post.end())), FirstBytes::Other);
  EXPECT_EQ(of(Bytes{22, 2}), FirstBytes::Other);          // not version 3.x
  EXPECT_EQ(of(Bytes{22, 3, 9}), FirstBytes::Other);       // no such minor version
  EXPECT_EQ(of(Bytes{22, 3, 1, 0, 0}), FirstBytes::Other);  // empty record
  EXPECT_EQ(of(Bytes{22, 3, 1, 0x50, 0}), FirstBytes::Other);  // record over 2^14
  Bytes server_hello = hello(100);
  server_hello[5] = 2;
  EXPECT_EQ(of(server_hello), FirstBytes::Other);
}

TEST(FirstBytes, AnythingAfterTheHelloIsNotAHello) {
  Bytes h = hello(200);
  h.push_back(23);  // an application-data record (0-RTT early data) would be a request
  EXPECT_EQ(of(h), FirstBytes::Other);
  Bytes longer = hello(200);  // the record holds one byte more than the message
  longer[4] = 205;
  longer.push_back(0);
  EXPECT_EQ(of(longer), FirstBytes::Other);
}

TEST(FirstBytes, AHelloSplitOverTwoRecords) {
  const Bytes one = hello(600);
  const Bytes msg(one.begin() + 5, one.end());  // the handshake message, 604 bytes
  Bytes two{22, 3, 1, 0x01, 0x00};              // first record: 256 bytes of it
  two.insert(two.end(), msg.begin(), msg.begin() + 256);
  EXPECT_EQ(of(two), FirstBytes::PartialHello);
  const std::size_t rest = msg.size() - 256;
  two.insert(two.end(), {22, 3, 1, static_cast<std::uint8_t>(rest >> 8), static_cast<std::uint8_t>(rest)});
  two.insert(two.end(), msg.begin() + 256, msg.end());
  EXPECT_EQ(of(two), FirstBytes::ClientHello);
  two[256 + 5] = 23;  // second record of another type
  EXPECT_EQ(of(two), FirstBytes::Other);
}

TEST(HedgeBudget, StartsFullThenFollowsThePercentOfSessions) {
  HedgeBudget budget(50, 4);
  for (int i = 0; i < 4; ++i) EXPECT_TRUE(budget.try_spend()) << i;
  EXPECT_FALSE(budget.try_spend());
  budget.deposit();
  EXPECT_FALSE(budget.try_spend());  // half a hedge
  budget.deposit();
  EXPECT_TRUE(budget.try_spend());
  for (int i = 0; i < 100; ++i) budget.deposit();
  int spent = 0;
  while (budget.try_spend()) ++spent;
  EXPECT_EQ(spent, 4);  // never more than the burst
}

TEST(HedgeBudget, HundredPercentNeverRefusesZeroAlwaysAfterTheBurst) {
  HedgeBudget all(100, 1);
  for (int i = 0; i < 1000; ++i) EXPECT_TRUE(all.try_spend());
  HedgeBudget none(0, 1);
  EXPECT_TRUE(none.try_spend());
  for (int i = 0; i < 100; ++i) none.deposit();
  EXPECT_FALSE(none.try_spend());
}

}  // namespace
}  // namespace kha::proxy
