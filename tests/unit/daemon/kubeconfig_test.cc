// Kubeconfig loading (data fields, files relative to the kubeconfig, token files, errors
// that name the key) and the discovery state file's round trip.
#include "daemon/kubeconfig.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>

#include "daemon/discovery_state.h"

namespace kha::daemon {
namespace {

namespace fs = std::filesystem;

class KubeconfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "kha-kubeconfig-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string write(const std::string& name, const std::string& text) {
    const auto path = dir_ / name;
    std::ofstream(path) << text;
    return path.string();
  }
  fs::path dir_;
};

constexpr const char* kContexts = R"(
current-context: ctx
contexts:
- name: ctx
  context: {cluster: c, user: u}
)";

TEST_F(KubeconfigTest, ReadsDataFieldsFilesAndTokenFiles) {
  write("client.crt", "CERT");
  write("client.key", "KEY");
  write("token", "secret\n");
  const std::string path = write("kubeconfig", std::string(kContexts) + R"(
clusters:
- name: c
  cluster: {server: "https://[fd00::1]:6443", certificate-authority-data: "Q0EgUEVN"}
users:
- name: u
  user: {client-certificate: client.crt, client-key: client.key, tokenFile: token}
)");
  const auto loaded = load_kubeconfig(path);
  ASSERT_TRUE(loaded) << format_diagnostics(loaded.errors());
  const Kubeconfig* kc = &loaded.value();
  EXPECT_EQ(kc->server, "https://[fd00::1]:6443");
  EXPECT_EQ(kc->server_host, "fd00::1");
  EXPECT_EQ(kc->ca_pem, "CA PEM");
  EXPECT_EQ(kc->client_cert_pem, "CERT");
  EXPECT_EQ(kc->client_key_pem, "KEY");
  EXPECT_EQ(kc->token, "secret");
  EXPECT_FALSE(kc->insecure_skip_verify);
}

// The first problem of `path`, as kha prints it.
std::string first_problem(const std::string& path) {
  const auto loaded = load_kubeconfig(path);
  if (loaded) return "(loaded)";
  return loaded.errors().front().to_string();
}

TEST_F(KubeconfigTest, ErrorsNameTheFileTheLineAndTheKey) {
  // kContexts is five lines (a blank first): "clusters:" is line 6.
  EXPECT_EQ(first_problem(write("a", std::string(kContexts) + "clusters:\n- name: c\n  cluster: {server: \"http://x:1\"}\n")),
            (dir_ / "a").string() + ":8:21: clusters[c].cluster.server: expected https://host:port, got 'http://x:1'");
  EXPECT_EQ(first_problem(write("b", std::string(kContexts) +
                                         "clusters:\n- name: c\n  cluster: {server: \"https://x:1\", certificate-authority-data: \"!!\"}\n")),
            (dir_ / "b").string() + ":8:64: clusters[c].cluster.certificate-authority-data: not valid base64");
  EXPECT_EQ(first_problem(write("c", std::string(kContexts) + "clusters:\n- name: c\n  cluster: {server: \"https://x:1\"}\n"
                                                              "users:\n- name: u\n  user: {client-key: nope.key}\n")),
            (dir_ / "c").string() + ":11:22: users[u].user.client-key: cannot read " + (dir_ / "nope.key").string());
  EXPECT_EQ(first_problem(write("d", "clusters: [\n")).rfind((dir_ / "d").string() + ":", 0), 0u);
  EXPECT_EQ(first_problem((dir_ / "missing").string()), (dir_ / "missing").string() + ": cannot read the file");
  // A map where a string belongs: a located error, not a crash.
  EXPECT_EQ(first_problem(write("e", std::string(kContexts) + "clusters:\n- name: c\n  cluster: {server: {a: 1}}\n"))
                .rfind((dir_ / "e").string() + ":8:", 0),
            0u);
  EXPECT_EQ(first_problem(write("f", "clusters:\n- name: x\n")),
            (dir_ / "f").string() + ":2:3: clusters: no cluster with a server for context ''");
}

TEST_F(KubeconfigTest, WithoutAContextTheOnlyClusterIsUsed) {
  // A named() miss is a null node that tests true: this fallback never ran before.
  const auto loaded = load_kubeconfig(write("solo", "clusters:\n- name: only\n  cluster: {server: \"https://10.0.0.1:6443\"}\n"));
  ASSERT_TRUE(loaded) << format_diagnostics(loaded.errors());
  EXPECT_EQ(loaded.value().server_host, "10.0.0.1");
}

TEST_F(KubeconfigTest, StateFileRoundTripAndCorruption) {
  const std::string path = (dir_ / "state.json").string();
  std::string error = "stale";
  EXPECT_FALSE(load_state(path, &error));
  EXPECT_EQ(error, "") << "no file yet is not an error";
  EXPECT_EQ(save_state(path, "api", {HostPort{"10.0.0.1", 6443}, HostPort{"::1", 6443}}), "");
  const auto loaded = load_state(path, &error);
  ASSERT_TRUE(loaded) << error;
  ASSERT_EQ(loaded->size(), 2u);
  EXPECT_EQ((*loaded)[1].to_string(), "[::1]:6443");
  write("state.json", "{\"backends\": [\"10.0.0.1\"]}");
  EXPECT_FALSE(load_state(path, &error));
  EXPECT_EQ(error, path + ": backends[0]: expected host:port");
}

}  // namespace
}  // namespace kha::daemon
