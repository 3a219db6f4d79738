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
  std::string error;
  const auto kc = load_kubeconfig(path, &error);
  ASSERT_TRUE(kc) << error;
  EXPECT_EQ(kc->server, "https://[fd00::1]:6443");
  EXPECT_EQ(kc->server_host, "fd00::1");
  EXPECT_EQ(kc->ca_pem, "CA PEM");
  EXPECT_EQ(kc->client_cert_pem, "CERT");
  EXPECT_EQ(kc->client_key_pem, "KEY");
  EXPECT_EQ(kc->token, "secret");
  EXPECT_FALSE(kc->insecure_skip_verify);
}

TEST_F(KubeconfigTest, ErrorsNameTheFileAndTheKey) {
  std::string error;
  EXPECT_FALSE(load_kubeconfig(write("a", std::string(kContexts) + "clusters:\n- name: c\n  cluster: {server: \"http://x:1\"}\n"),
                               &error));
  EXPECT_EQ(error, "kubeconfig " + (dir_ / "a").string() +
                       ": clusters[c].cluster.server: expected https://host:port, got 'http://x:1'");
  EXPECT_FALSE(load_kubeconfig(
      write("b", std::string(kContexts) +
                     "clusters:\n- name: c\n  cluster: {server: \"https://x:1\", certificate-authority-data: \"!!\"}\n"),
      &error));
  EXPECT_EQ(error, "kubeconfig " + (dir_ / "b").string() +
                       ": clusters[c].cluster.certificate-authority-data: not valid base64");
  EXPECT_FALSE(load_kubeconfig(
      write("c", std::string(kContexts) + "clusters:\n- name: c\n  cluster: {server: \"https://x:1\"}\n"
                                          "users:\n- name: u\n  user: {client-key: nope.key}\n"),
      &error));
  EXPECT_EQ(error, "kubeconfig " + (dir_ / "c").string() + ": users[u].user.client-key: cannot read " +
                       (dir_ / "nope.key").string());
  EXPECT_FALSE(load_kubeconfig(write("d", "clusters: [\n"), &error));
  EXPECT_EQ(error.rfind("kubeconfig " + (dir_ / "d").string() + ":", 0), 0u) << error;
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
