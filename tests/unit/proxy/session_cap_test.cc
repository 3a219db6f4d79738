#include "proxy/session_cap.h"

#include <gtest/gtest.h>

namespace kha::proxy {
namespace {

TEST(SessionCap, KeepsDescriptorsForKhasOwnWork) {
  EXPECT_EQ(sessions_for_descriptors(1024), (1024u - 256u) / 3u);     // a unit without LimitNOFILE
  EXPECT_EQ(sessions_for_descriptors(20000), (20000u - 2000u) / 3u);  // a tenth once that is more than 256
  for (std::size_t limit : {300u, 1024u, 4096u, 20000u, 1048576u})
    EXPECT_LE(3 * sessions_for_descriptors(limit) + 256, limit) << limit;
}

TEST(SessionCap, ATinyLimitStillServesOne) {
  EXPECT_EQ(sessions_for_descriptors(0), 1u);
  EXPECT_EQ(sessions_for_descriptors(100), 1u);
}

}  // namespace
}  // namespace kha::proxy
