#include "identities.hpp"

#include <openssl/pem.h>
#include <sys/stat.h>

#include <fstream>

#include "core/json/json.hpp"

namespace ef::scale {

Status write_identities(const std::filesystem::path& file, const std::vector<IdentityPem>& all) {
  std::ofstream out(file, std::ios::trunc);
  ::chmod(file.c_str(), 0600);
  for (const auto& d : all)
    out << json::Json{{"id", d.id}, {"key", d.key_pem}, {"certificate", d.certificate_pem}}.dump()
        << "\n";
  out.close();
  if (!out) return make_error(Errc::io, "writing " + file.string());
  return {};
}

namespace {
std::shared_ptr<BIO> memory(const std::string& pem) {
  return {BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), BIO_free};
}
}  // namespace

Result<std::vector<Identity>> read_identities(const std::filesystem::path& file) {
  std::ifstream in(file);
  if (!in) return make_error(Errc::io, "reading " + file.string());
  std::vector<Identity> out;
  for (std::string line; std::getline(in, line);) {
    auto j = json::parse_strict(line);
    if (!j || !j->contains("id") || !j->contains("key") || !j->contains("certificate"))
      return make_error(Errc::malformed, file.string() + ": a line is not an identity");
    Identity d;
    d.id = (*j)["id"].get<std::string>();
    d.certificate.reset(PEM_read_bio_X509(memory((*j)["certificate"].get<std::string>()).get(),
                                          nullptr, nullptr, nullptr),
                        X509_free);
    d.key.reset(PEM_read_bio_PrivateKey(memory((*j)["key"].get<std::string>()).get(), nullptr,
                                        nullptr, nullptr),
                EVP_PKEY_free);
    if (!d.certificate || !d.key)
      return make_error(Errc::crypto, file.string() + ": bad key or certificate of " + d.id);
    out.push_back(std::move(d));
  }
  return out;
}

}  // namespace ef::scale
