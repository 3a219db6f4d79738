// In-memory CA and leaf certificates: chain, names, usages, PEM round trip.
#include "tls/certificate.h"

#include <gtest/gtest.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace kha::tls {
namespace {

bool verifies(X509* leaf, X509* ca) {
  X509_STORE* store = X509_STORE_new();
  X509_STORE_add_cert(store, ca);
  X509_STORE_CTX* ctx = X509_STORE_CTX_new();
  X509_STORE_CTX_init(ctx, store, leaf, nullptr);
  const bool ok = X509_verify_cert(ctx) == 1;
  X509_STORE_CTX_free(ctx);
  X509_STORE_free(store);
  return ok;
}

TEST(Certificate, CaIssuesLeafThatVerifies) {
  auto ca = make_ca("test CA");
  ASSERT_TRUE(ca.ok());
  EXPECT_EQ(X509_check_ca(ca.value().cert.get()), 1);
  auto leaf = issue(ca.value(), LeafOptions{});
  ASSERT_TRUE(leaf.ok());
  EXPECT_TRUE(verifies(leaf.value().cert.get(), ca.value().cert.get()));
  EXPECT_EQ(X509_check_ca(leaf.value().cert.get()), 0);
  auto other = make_ca("other CA");
  ASSERT_TRUE(other.ok());
  EXPECT_FALSE(verifies(leaf.value().cert.get(), other.value().cert.get()));
}

TEST(Certificate, LeafNamesItsSans) {
  auto ca = make_ca();
  ASSERT_TRUE(ca.ok());
  LeafOptions o;
  o.names = {"10.0.0.1", "fd00::1", "api.example.com"};
  auto leaf = issue(ca.value(), o);
  ASSERT_TRUE(leaf.ok());
  X509* c = leaf.value().cert.get();
  EXPECT_EQ(X509_check_ip_asc(c, "10.0.0.1", 0), 1);
  EXPECT_EQ(X509_check_ip_asc(c, "fd00::1", 0), 1);
  EXPECT_EQ(X509_check_host(c, "api.example.com", 0, 0, nullptr), 1);
  EXPECT_EQ(X509_check_ip_asc(c, "10.0.0.2", 0), 0);
  EXPECT_EQ(X509_check_host(c, "other.example.com", 0, 0, nullptr), 0);
  EXPECT_EQ(X509_check_purpose(c, X509_PURPOSE_SSL_SERVER, 0), 1);
  EXPECT_EQ(X509_check_purpose(c, X509_PURPOSE_SSL_CLIENT, 0), 0);
}

TEST(Certificate, ClientUsage) {
  auto ca = make_ca();
  ASSERT_TRUE(ca.ok());
  LeafOptions o;
  o.server = false;
  o.client = true;
  o.names = {};
  auto leaf = issue(ca.value(), o);
  ASSERT_TRUE(leaf.ok());
  EXPECT_EQ(X509_check_purpose(leaf.value().cert.get(), X509_PURPOSE_SSL_CLIENT, 0), 1);
  EXPECT_EQ(X509_check_purpose(leaf.value().cert.get(), X509_PURPOSE_SSL_SERVER, 0), 0);
}

TEST(Certificate, PemFilesRoundTrip) {
  auto self = make_self_signed(LeafOptions{});
  ASSERT_TRUE(self.ok());
  const auto dir = std::filesystem::temp_directory_path() / ("kha-tls-test-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::string cert = (dir / "c.pem").string(), key = (dir / "k.pem").string();
  EXPECT_TRUE(write_pem_files(self.value(), cert, key).empty());
  EXPECT_EQ(std::filesystem::status(key).permissions() & std::filesystem::perms::group_read,
            std::filesystem::perms::none);
  FILE* f = std::fopen(cert.c_str(), "r");
  ASSERT_NE(f, nullptr);
  X509Ptr back(PEM_read_X509(f, nullptr, nullptr, nullptr));
  std::fclose(f);
  ASSERT_TRUE(back);
  EXPECT_EQ(X509_cmp(back.get(), self.value().cert.get()), 0);
  EXPECT_NE(key_pem(self.value().key.get()).find("BEGIN PRIVATE KEY"), std::string::npos);
  auto bad = write_pem_files(self.value(), (dir / "missing" / "c.pem").string(), key);
  ASSERT_EQ(bad.size(), 1u);
  EXPECT_NE(bad[0].file.find("missing"), std::string::npos);
  EXPECT_NE(bad[0].message.find("cannot write"), std::string::npos);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace kha::tls
