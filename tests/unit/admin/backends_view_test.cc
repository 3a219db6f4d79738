#include "admin/backends_view.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace kha::admin {
namespace {

// The shape the daemon serves on /backends (agreed with the lead).
const char* kSample =
    R"({"frontends":[{"name":"apiserver","listen":["127.0.0.1:6443"],"all_down":false,"backends":[)"
    R"({"name":"cp1","address":"127.0.0.1:7001","state":"up","check":"https","last_check":{"ok":true,"layer":"","reason":"","latency_ms":1.2,"age_ms":300},"active_sessions":3,"sessions_total":10,"connect_failures":0,"mean_session_age_s":754.2,"slow_start_share":0.5,"bytes_per_s":1536.0,"session_ages":{"0-1m":1,"1m-10m":0,"10m-1h":2,"1h-6h":0,"6h+":0}},)"
    R"({"name":"cp2","address":"127.0.0.1:7002","state":"down","check":"https","last_check":{"ok":false,"layer":"L7","reason":"status 500","latency_ms":2.5,"age_ms":1500},"active_sessions":0,"sessions_total":4,"connect_failures":1,"mean_session_age_s":0.0,"slow_start_share":1.0,"bytes_per_s":0.0,"session_ages":{"0-1m":0,"1m-10m":0,"10m-1h":0,"1h-6h":0,"6h+":0}}],"session_skew":3.0},)"
    R"({"name":"etcd","listen":["127.0.0.1:2379"],"all_down":true,"backends":[)"
    R"({"name":"e1","address":"127.0.0.1:7101","state":"down","check":"tcp","last_check":null,"active_sessions":0,"sessions_total":0,"connect_failures":12,"mean_session_age_s":0.0,"slow_start_share":1.0,"bytes_per_s":0.0}],"session_skew":1.0}]})";

TEST(BackendsView, ParsesTheAgreedShape) {
  std::string why;
  const auto v = parse_backends_json(kSample, &why);
  ASSERT_TRUE(v) << why;
  ASSERT_EQ(v->frontends.size(), 2u);
  const auto& cp1 = v->frontends[0].backends[0];
  EXPECT_EQ(cp1.name, "cp1");
  EXPECT_EQ(cp1.state, "up");
  ASSERT_TRUE(cp1.last_check);
  EXPECT_TRUE(cp1.last_check->ok);
  EXPECT_DOUBLE_EQ(cp1.last_check->latency_ms, 1.2);
  EXPECT_EQ(cp1.active_sessions, 3u);
  EXPECT_EQ(cp1.sessions_total, 10u);
  EXPECT_DOUBLE_EQ(cp1.mean_session_age_s, 754.2);
  EXPECT_DOUBLE_EQ(cp1.slow_start_share, 0.5);
  EXPECT_DOUBLE_EQ(cp1.bytes_per_s, 1536.0);
  // Youngest first, whatever order the parser keeps keys in.
  using Ages = std::vector<std::pair<std::string, std::int64_t>>;
  EXPECT_EQ(cp1.session_ages, (Ages{{"0-1m", 1}, {"1m-10m", 0}, {"10m-1h", 2}, {"1h-6h", 0}, {"6h+", 0}}));
  EXPECT_TRUE(v->frontends[1].backends[0].session_ages.empty()) << "an older kha's document: no ages";
  EXPECT_DOUBLE_EQ(v->frontends[0].session_skew, 3.0);
  EXPECT_TRUE(v->frontends[1].all_down);
  EXPECT_FALSE(v->frontends[1].backends[0].last_check);
}

TEST(BackendsView, JsonRoundTrips) {
  std::string why;
  const auto v = parse_backends_json(kSample, &why);
  ASSERT_TRUE(v);
  EXPECT_EQ(nlohmann::json::parse(to_json(*v)), nlohmann::json::parse(kSample));
  EXPECT_EQ(to_json(*v).substr(0, 60), std::string(kSample).substr(0, 60));  // documented key order
}

TEST(BackendsView, RendersTable) {
  const auto v = parse_backends_json(kSample, nullptr);
  ASSERT_TRUE(v);
  EXPECT_EQ(render_table(*v),
            "FRONTEND   BACKEND  ADDRESS         STATE  CHECK  LAST CHECK      LATENCY  AGE        ACTIVE  TOTAL  CONNECT FAILURES  SESSION AGE  BYTES/S  AGES 1m/10m/1h/6h/+\n"
            "apiserver  cp1      127.0.0.1:7001  up     https  ok              1.2ms    300ms ago  3       10     0                 ~13m         1.5k     1/0/2/0/0\n"
            "apiserver  cp2      127.0.0.1:7002  down   https  L7: status 500  2.5ms    1.5s ago   0       4      1                 -            0        0/0/0/0/0\n"
            "etcd       e1       127.0.0.1:7101  down   tcp    -               -        -          0       0      12                -            0        -\n"
            "frontend apiserver: cp1 is in its slow start, offered 50% of new sessions\n"
            "frontend apiserver: sessions skewed 3.00x (fullest / emptiest healthy backend)\n"
            "frontend etcd: every backend is down; connections try all of them\n");
}

TEST(BackendsView, RejectsWhatIsNotTheDocument) {
  std::string why;
  EXPECT_FALSE(parse_backends_json("<html>", &why));
  EXPECT_NE(why.find("parse error"), std::string::npos) << why;
  EXPECT_FALSE(parse_backends_json(R"({"backends":[]})", &why));
  EXPECT_FALSE(parse_backends_json(R"({"frontends":[{"name":1}]})", &why));
}

// `kha status` reads whatever the endpoint it is pointed at sends: the new fields from a
// hostile or broken peer render as text, never past their cell, never as a crash.
TEST(BackendsView, HostileRatesAndAgesRenderSafely) {
  std::string why;
  const auto v = parse_backends_json(
      R"({"frontends":[{"name":"f","backends":[)"
      R"({"name":"a","bytes_per_s":1e308,"session_ages":{"6h+":9223372036854775807,"0-1m":"many","x":1,"1m-10m":-3}},)"
      R"({"name":"b","bytes_per_s":-5,"session_ages":[1,2]}]}]})",
      &why);
  ASSERT_TRUE(v) << why;
  const auto& a = v->frontends[0].backends[0];
  using Ages = std::vector<std::pair<std::string, std::int64_t>>;
  EXPECT_EQ(a.session_ages, (Ages{{"1m-10m", -3}, {"6h+", 9223372036854775807}})) << "known labels, integers only, in order";
  EXPECT_TRUE(v->frontends[0].backends[1].session_ages.empty()) << "not an object: ignored";
  const std::string table = render_table(*v);
  EXPECT_NE(table.find(" >999T "), std::string::npos) << "a huge rate is capped, not cut: " << table;
  EXPECT_NE(table.find("-3/9223372036854775807"), std::string::npos);
  EXPECT_NE(table.find(" ? "), std::string::npos) << "a negative rate is not a rate: " << table;
}

TEST(BackendsView, ANameShowsWhatItResolvedTo) {
  BackendsView view;
  FrontendView f;
  f.name = "api";
  BackendView named;
  named.name = "lb";
  named.address = "apiserver.example:6443";
  named.resolved = {"10.0.0.1", "10.0.0.2"};
  BackendView literal;
  literal.name = "cp1";
  literal.address = "10.0.0.9:6443";
  f.backends = {named, literal};
  view.frontends = {f};
  const std::string text = to_json(view);
  EXPECT_NE(text.find(R"("resolved":["10.0.0.1","10.0.0.2"])"), std::string::npos) << text;
  EXPECT_EQ(text.find("resolved", text.find("cp1")), std::string::npos) << "an IP literal has no resolved list: " << text;
  std::string why;
  const auto back = parse_backends_json(text, &why);
  ASSERT_TRUE(back) << why;
  EXPECT_EQ(back->frontends[0].backends[0].resolved, named.resolved);
  const std::string table = render_table(*back);
  EXPECT_NE(table.find("apiserver.example:6443 (10.0.0.1, 10.0.0.2)"), std::string::npos) << table;
}

TEST(BackendsView, AHostileResolvedListStaysACell) {
  std::string list;
  for (int i = 0; i < 1000; ++i) list += std::string(i ? "," : "") + "\"10.0.0." + std::to_string(i) + "\"";
  std::string why;
  const auto v = parse_backends_json(R"({"frontends":[{"name":"f","backends":[{"name":"a","address":"x:1","resolved":[)" +
                                         list + R"(,7,null]},{"name":"b","resolved":"10.0.0.1"}]}]})",
                                     &why);
  ASSERT_TRUE(v) << why;
  EXPECT_EQ(v->frontends[0].backends[0].resolved.size(), 1000u) << "strings only";
  EXPECT_TRUE(v->frontends[0].backends[1].resolved.empty()) << "not a list: ignored";
  const std::string table = render_table(*v);
  EXPECT_NE(table.find("x:1 (10.0.0.0, 10.0.0.1, 10.0.0.2, +997)"), std::string::npos) << table;
}

}  // namespace
}  // namespace kha::admin
