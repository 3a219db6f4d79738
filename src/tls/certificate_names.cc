// certificate_names(): subject and SANs of an X509 as text (see certificate_names.h).
#include "tls/certificate_names.h"

#include <arpa/inet.h>
#include <openssl/x509v3.h>

#include <memory>

#include "tls/openssl_ptr.h"

namespace kha::tls {

CertificateNames certificate_names(X509* cert) {
  CertificateNames out;
  if (!cert) return out;
  if (BioPtr bio(BIO_new(BIO_s_mem())); bio) {
    X509_NAME_print_ex(bio.get(), X509_get_subject_name(cert), 0, XN_FLAG_ONELINE & ~ASN1_STRFLGS_ESC_MSB);
    char* data = nullptr;
    const long n = BIO_get_mem_data(bio.get(), &data);
    if (n > 0) out.subject.assign(data, static_cast<std::size_t>(n));
  }
  using Names = std::unique_ptr<GENERAL_NAMES, decltype(&GENERAL_NAMES_free)>;
  Names names(static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr)),
              &GENERAL_NAMES_free);
  if (!names) return out;
  for (int i = 0; i < sk_GENERAL_NAME_num(names.get()); ++i) {
    const GENERAL_NAME* g = sk_GENERAL_NAME_value(names.get(), i);
    if (g->type == GEN_DNS) {
      const ASN1_STRING* s = g->d.dNSName;
      out.dns.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                           static_cast<std::size_t>(ASN1_STRING_length(s)));
    } else if (g->type == GEN_IPADD) {
      const ASN1_OCTET_STRING* s = g->d.iPAddress;
      const int len = ASN1_STRING_length(s);
      const int family = len == 4 ? AF_INET : len == 16 ? AF_INET6 : 0;
      char text[INET6_ADDRSTRLEN] = {};
      if (family && inet_ntop(family, ASN1_STRING_get0_data(s), text, sizeof text)) out.ip.emplace_back(text);
    }
  }
  return out;
}

}  // namespace kha::tls
