#include "common/diagnostic.h"

#include <gtest/gtest.h>

namespace kha {
namespace {

TEST(Diagnostic, NamesFileLineColumnKeyAndExpectation) {
  Diagnostic d{"config.yaml", 12, 5, "frontends[0].health.rise", "must be >= 1, got 0"};
  EXPECT_EQ(d.to_string(), "config.yaml:12:5: frontends[0].health.rise: must be >= 1, got 0");
}

TEST(Diagnostic, OmitsWhatIsUnknown) {
  EXPECT_EQ((Diagnostic{"", 0, 0, "--listen", "expected host:port"}).to_string(), "--listen: expected host:port");
  EXPECT_EQ((Diagnostic{"a.yaml", 3, 0, "", "bad"}).to_string(), "a.yaml:3: bad");
}

}  // namespace
}  // namespace kha
