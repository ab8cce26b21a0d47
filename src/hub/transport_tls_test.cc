// The TLS path of the transport against a local TLS server whose self-signed certificate is made
// here: an unknown issuer is refused, a trusted one works, and a name mismatch is refused.
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "hub/transport.h"

namespace inferline::hub {
namespace {

namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;
using asio::ip::tcp;

std::string BioString(BIO* bio) {
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<size_t>(n));
}

// A self-signed P-256 certificate for DNS name "localhost" only.
struct Credentials {
  std::string cert_pem, key_pem;
};

Credentials MakeSelfSigned() {
  Credentials c;
  EVP_PKEY* key = EVP_EC_gen("P-256");
  X509* x = X509_new();
  X509_set_version(x, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
  X509_gmtime_adj(X509_getm_notBefore(x), -3600);
  X509_gmtime_adj(X509_getm_notAfter(x), 24 * 3600);
  X509_set_pubkey(x, key);
  X509_NAME* name = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("localhost"), -1, -1, 0);
  X509_set_issuer_name(x, name);
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, x, x, nullptr, nullptr, 0);
  for (auto [nid, value] : {std::pair{NID_subject_alt_name, "DNS:localhost"},
                            std::pair{NID_basic_constraints, "critical,CA:TRUE"}}) {
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
    X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
  }
  X509_sign(x, key, EVP_sha256());
  BIO* cert_bio = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(cert_bio, x);
  c.cert_pem = BioString(cert_bio);
  BIO* key_bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(key_bio, key, nullptr, nullptr, 0, nullptr, nullptr);
  c.key_pem = BioString(key_bio);
  BIO_free(cert_bio);
  BIO_free(key_bio);
  X509_free(x);
  EVP_PKEY_free(key);
  return c;
}

// Serves `connections` TLS connections, answering each request with "hello".
class TlsServer {
 public:
  TlsServer(const Credentials& creds, int connections) : tls_(ssl::context::tls_server) {
    tls_.use_certificate_chain(asio::buffer(creds.cert_pem));
    tls_.use_private_key(asio::buffer(creds.key_pem), ssl::context::pem);
    tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), 0);
    acceptor_.open(ep.protocol());
    acceptor_.bind(ep);
    acceptor_.listen();
    thread_ = std::thread([this, connections] {
      for (int i = 0; i < connections; ++i) ServeOne();
    });
  }
  ~TlsServer() { thread_.join(); }
  uint16_t port() const { return acceptor_.local_endpoint().port(); }

 private:
  void ServeOne() {
    boost::system::error_code ec;
    ssl::stream<tcp::socket> stream(ioc_, tls_);
    acceptor_.accept(stream.next_layer(), ec);
    if (ec) return;
    stream.handshake(ssl::stream_base::server, ec);
    if (ec) return;  // the client refused our certificate
    boost::beast::flat_buffer buffer;
    boost::beast::http::request<boost::beast::http::string_body> req;
    boost::beast::http::read(stream, buffer, req, ec);
    if (ec) return;
    std::string reply = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello";
    asio::write(stream, asio::buffer(reply), ec);
    stream.shutdown(ec);
  }

  asio::io_context ioc_;
  ssl::context tls_;
  tcp::acceptor acceptor_{ioc_};
  std::thread thread_;
};

Status Get(const std::string& url_text, const TransportOptions& options, std::string* body) {
  auto url = ParseUrl(url_text);
  if (!url.ok()) return url.status();
  return Fetch(
      *url, {}, options, [](const ResponseHead&) { return Status::Ok(); },
      [body](std::string_view chunk) {
        body->append(chunk);
        return Status::Ok();
      });
}

TEST(TransportTlsTest, VerifiesTheCertificateAndTheHostName) {
  Credentials creds = MakeSelfSigned();
  ASSERT_FALSE(creds.cert_pem.empty());
  auto ca = std::filesystem::temp_directory_path() /
            ("inferline_tls_ca_" + std::to_string(::getpid()) + ".pem");
  std::ofstream(ca) << creds.cert_pem;

  TlsServer server(creds, 3);
  std::string base = "https://localhost:" + std::to_string(server.port()) + "/x";
  TransportOptions options;
  options.connect_timeout = std::chrono::seconds(5);
  options.read_timeout = std::chrono::seconds(5);

  std::string body;
  Status untrusted = Get(base, options, &body);
  EXPECT_EQ(untrusted.code(), StatusCode::kUnavailable);
  EXPECT_NE(untrusted.message().find("TLS handshake"), std::string::npos) << untrusted.message();
  EXPECT_NE(untrusted.message().find("certificate verify failed"), std::string::npos)
      << untrusted.message();

  options.ca_file = ca.string();
  Status trusted = Get(base, options, &body);
  ASSERT_TRUE(trusted.ok()) << trusted.ToString();
  EXPECT_EQ(body, "hello");

  // The certificate names "localhost", not the address.
  Status wrong_name =
      Get("https://127.0.0.1:" + std::to_string(server.port()) + "/x", options, &body);
  EXPECT_EQ(wrong_name.code(), StatusCode::kUnavailable);
  EXPECT_NE(wrong_name.message().find("certificate verify failed"), std::string::npos)
      << wrong_name.message();
  std::filesystem::remove(ca);
}

}  // namespace
}  // namespace inferline::hub
