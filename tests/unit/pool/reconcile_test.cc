// pool::reconcile: keep, add and drain decisions, table by table.
#include "pool/reconcile.h"

#include <gtest/gtest.h>

namespace kha::pool {
namespace {

using Keys = std::vector<BackendKey>;
using Indexes = std::vector<std::size_t>;
constexpr std::size_t A = Reconciled::kAdd;

BackendKey key(const std::string& name, std::uint16_t port, const std::string& host = "10.0.0.1") {
  return {name, HostPort{host, port}};
}

// (desired index, current index) pairs of the next set.
std::vector<std::pair<std::size_t, std::size_t>> slots(const Reconciled& r) {
  std::vector<std::pair<std::size_t, std::size_t>> out;
  for (const auto& s : r.next) out.emplace_back(s.desired, s.current);
  return out;
}

using Slots = std::vector<std::pair<std::size_t, std::size_t>>;

TEST(Reconcile, SameSetKeepsEverythingInOrder) {
  const Keys set{key("a", 1), key("b", 2), key("c", 3)};
  const auto r = reconcile(set, set);
  EXPECT_EQ(slots(r), (Slots{{0, 0}, {1, 1}, {2, 2}}));
  EXPECT_TRUE(r.drain.empty());
  EXPECT_EQ(r.kept(), 3u);
  EXPECT_EQ(r.added(), 0u);
  EXPECT_FALSE(r.changes_anything(set.size()));
}

TEST(Reconcile, AddedAndRemovedFollowTheDesiredOrder) {
  const Keys current{key("a", 1), key("b", 2), key("c", 3)};
  const Keys desired{key("d", 4), key("c", 3), key("a", 1)};
  const auto r = reconcile(current, desired);
  EXPECT_EQ(slots(r), (Slots{{0, A}, {1, 2}, {2, 0}}));
  EXPECT_EQ(r.drain, Indexes{1});
  EXPECT_EQ(r.added(), 1u);
  EXPECT_EQ(r.kept(), 2u);
  EXPECT_TRUE(r.changes_anything(current.size()));
}

TEST(Reconcile, ReorderOnlyKeepsEveryBackendButIsAChange) {
  const Keys current{key("a", 1), key("b", 2)};
  const Keys desired{key("b", 2), key("a", 1)};
  const auto r = reconcile(current, desired);
  EXPECT_EQ(slots(r), (Slots{{0, 1}, {1, 0}}));
  EXPECT_TRUE(r.drain.empty());
  EXPECT_TRUE(r.changes_anything(current.size()));  // round robin order follows the file
}

TEST(Reconcile, ChangedAddressIsANewBackendAndTheOldOneDrains) {
  const Keys current{key("a", 1), key("b", 2)};
  const Keys desired{key("a", 1), key("b", 2, "10.0.0.2")};
  const auto r = reconcile(current, desired);
  EXPECT_EQ(slots(r), (Slots{{0, 0}, {1, A}}));
  EXPECT_EQ(r.drain, Indexes{1});
}

TEST(Reconcile, ChangedPortIsANewBackend) {
  const auto r = reconcile(Keys{key("a", 1)}, Keys{key("a", 2)});
  EXPECT_EQ(slots(r), (Slots{{0, A}}));
  EXPECT_EQ(r.drain, Indexes{0});
}

TEST(Reconcile, RenamedBackendIsANewBackend) {
  const auto r = reconcile(Keys{key("a", 1)}, Keys{key("z", 1)});
  EXPECT_EQ(slots(r), (Slots{{0, A}}));
  EXPECT_EQ(r.drain, Indexes{0});
}

TEST(Reconcile, DesiredDuplicatesCountOnce) {
  const Keys current{key("a", 1)};
  const Keys desired{key("a", 1), key("b", 2), key("a", 1), key("b", 2)};
  const auto r = reconcile(current, desired);
  EXPECT_EQ(slots(r), (Slots{{0, 0}, {1, A}}));
  EXPECT_TRUE(r.drain.empty());
}

TEST(Reconcile, CurrentDuplicatesBeyondTheFirstDrain) {
  const Keys current{key("a", 1), key("a", 1), key("b", 2)};
  const Keys desired{key("a", 1), key("b", 2)};
  const auto r = reconcile(current, desired);
  EXPECT_EQ(slots(r), (Slots{{0, 0}, {1, 2}}));
  EXPECT_EQ(r.drain, Indexes{1});
}

TEST(Reconcile, EmptyCurrentAddsEverything) {
  const Keys desired{key("a", 1), key("b", 2)};
  const auto r = reconcile(Keys{}, desired);
  EXPECT_EQ(slots(r), (Slots{{0, A}, {1, A}}));
  EXPECT_TRUE(r.drain.empty());
  EXPECT_TRUE(r.changes_anything(0));
}

TEST(Reconcile, EmptyDesiredDrainsEverything) {
  const Keys current{key("a", 1), key("b", 2)};
  const auto r = reconcile(current, Keys{});
  EXPECT_TRUE(r.next.empty());
  EXPECT_EQ(r.drain, (Indexes{0, 1}));
  EXPECT_TRUE(r.changes_anything(current.size()));
}

TEST(Reconcile, BothEmptyIsNoChange) {
  const auto r = reconcile(Keys{}, Keys{});
  EXPECT_TRUE(r.next.empty());
  EXPECT_TRUE(r.drain.empty());
  EXPECT_FALSE(r.changes_anything(0));
}

}  // namespace
}  // namespace kha::pool
