#include <gtest/gtest.h>

#include "core/common/hex.hpp"
#include "core/crypto/hash.hpp"
#include "core/crypto/keys.hpp"

namespace ef::crypto {
namespace {

TEST(Hash, KnownVectors) {
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  Hasher h(HashAlgorithm::sha512);
  h.update("ab");
  h.update("c");
  EXPECT_EQ(h.hex_digest().substr(0, 16), "ddaf35a193617aba");
  EXPECT_FALSE(hash_algorithm_from_name("md5"));
}

TEST(Keys, Ed25519SignVerifyAndPemRoundTrip) {
  auto key = PrivateKey::generate_ed25519();
  ASSERT_TRUE(key);
  const std::string sig = key->sign("message");
  EXPECT_EQ(sig.size(), 64u);
  auto pub = key->public_key();
  EXPECT_TRUE(pub.verify("message", sig));
  EXPECT_FALSE(pub.verify("messagf", sig));
  EXPECT_FALSE(pub.verify("message", std::string(64, '\0')));
  EXPECT_FALSE(pub.verify("message", sig.substr(0, 63)));
  EXPECT_FALSE(pub.verify("message", ""));

  auto again = PrivateKey::from_pem(key->to_pem());
  ASSERT_TRUE(again);
  EXPECT_EQ(again->public_hex(), key->public_hex());
  EXPECT_TRUE(pub.verify("x", again->sign("x")));
}

TEST(Keys, FingerprintIdentifiesKeyMaterial) {
  auto a = *PrivateKey::generate_ed25519();
  auto b = *PrivateKey::generate_ed25519();
  auto a1 = *PublicKey::from_tuf("ed25519", "ed25519", a.public_hex());
  EXPECT_EQ(a1.fingerprint(), a.public_key().fingerprint());
  EXPECT_NE(a1.fingerprint(), b.public_key().fingerprint());
}

TEST(Keys, RefusesMalformedAndMismatchedKeys) {
  EXPECT_FALSE(PublicKey::from_tuf("ed25519", "ed25519", "abcd"));
  EXPECT_FALSE(PublicKey::from_tuf("ed25519", "ed25519", std::string(64, 'z')));
  EXPECT_FALSE(PublicKey::from_tuf("ed25519", "rsassa-pss-sha256", std::string(64, 'a')));
  EXPECT_FALSE(PublicKey::from_tuf("rsa", "rsassa-pss-sha256", "not pem"));
  EXPECT_FALSE(PublicKey::from_tuf("dsa", "dsa", "x"));
  EXPECT_FALSE(
      PrivateKey::from_pem("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"));
}

// Keys and signatures over "hello" made by Python's cryptography, as securesystemslib makes them.
TEST(Keys, VerifiesSignaturesFromPython) {
  const char* ec_pem =
      "-----BEGIN PUBLIC KEY-----\n"
      "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAECkZLNEooLaSxSmyViDH+A2TtmYbZ\n"
      "EuyDY0BkTa2KxEeHmyXeMa548CPs9hVmbksrHoLjfginbDqN9izOEHhwJg==\n"
      "-----END PUBLIC KEY-----\n";
  auto ec = PublicKey::from_tuf("ecdsa", "ecdsa-sha2-nistp256", ec_pem);
  ASSERT_TRUE(ec) << ec.error().message;
  const std::string ec_sig = *from_hex(
      "3046022100f115da74ea69bf816c237935bf3b218731856767711bae4c67d05458d55c4b15022100fba746f06eff"
      "bf663ffcbebf2a2fafc4ff47bd9f3b25b7aa047039bf67296770");
  EXPECT_TRUE(ec->verify("hello", ec_sig));
  EXPECT_FALSE(ec->verify("hellp", ec_sig));

  const char* rsa_pem =
      "-----BEGIN PUBLIC KEY-----\n"
      "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAtHFpBT7r/Ku+GSHSinVD\n"
      "1+Wf1dpWjSlOE6gG5BoyWn5SwwGPmIM2wvbSMefX5Cloqelm3oIgvq29qL1ZxzI+\n"
      "3LrTvSOAd3VvgEeX7tMfyde8UMGw7iP3owsusGqfEPgtz5MkFUFIZLfeT8hdV+Xa\n"
      "uHNdokH89ySuCFy3MGy+mwllt6AdPMWrHUZJAs5b6Lx+91cQffrNCBvjw2L0i6c+\n"
      "JdHbvYFhWdCxH1HVAAViMVo0sIBbrt2WlOnfUGmzt1x9okrknNa9LrT6sVDFl4II\n"
      "5/c91RGgkk91tdzUom4l7uPzlUfZDX4DFGPJ1nglx+bM1cOvuU81BXMjKiYWJi8v\n"
      "ewIDAQAB\n"
      "-----END PUBLIC KEY-----\n";
  auto pss = PublicKey::from_tuf("rsa", "rsassa-pss-sha256", rsa_pem);
  auto pkcs = PublicKey::from_tuf("rsa", "rsa-pkcs1v15-sha256", rsa_pem);
  ASSERT_TRUE(pss && pkcs);
  const std::string pss_sig = *from_hex(
      "ae7dba9ee1e4ad4033c563e364cd1b3656bced9ca5189b7197e6037f0f1ca28b519077ff240f363a9b41678d453e"
      "e03c35471488eb8a1213050538e9a3c0c739feb0982784898ecc6b017f5122d45f5e09eb48188485e71ae8d159f2"
      "b969067c5d92b5f0756f61fc3830b0407fbfb45ffc29a9aa97e1dac581ab743dce6f11b28736b903d57ffaf28789"
      "4d63787d1989e130f7f782e0d57d6e511c0e715254e81f169a2a6f8a771ae4cf74d3e763e7764c272ad775a73319"
      "d1d58e6fcc2ecb907bc46b24625f32bf89d8b4179a046cfb9ce47b02698fa61f407d4872750e669057a1ae045eac"
      "20745bcee7a03d28a36b70c0998db667ec7a95fc152893af1d96");
  const std::string pkcs_sig = *from_hex(
      "39669b068363d2ec364073cc2ade1b5f73f34fcab6452892a983c995dca3e71f76d059687d22c62b004034f51b76"
      "58efc8d7964494187a081806a2940217422f22fdf8716411ffaa478aacc90fa0344f397be0805196dc8b1f8aed73"
      "93818e75840e838ee3cdd41fffcacd504730e0833e0e91811a0933de82811db4383d510f9a939ac91cd3d9e39e8b"
      "732ae2b37c4e09436a72c0cadc10fce358d45863dafe47f57df839a1114403997210d40aa3d75ba38e218b4faa2f"
      "2ceaac6898cb1a9ee82e621f83e675051d8063783f49258b4313d8156e9ac760cc68325fc63ee8f4d7b825063922"
      "8f4a50182ff129c647a740c3f2ca5e229f455f004ef4fb65cf39");
  EXPECT_TRUE(pss->verify("hello", pss_sig));
  EXPECT_FALSE(pss->verify("hello", pkcs_sig));
  EXPECT_TRUE(pkcs->verify("hello", pkcs_sig));
  EXPECT_FALSE(pkcs->verify("hello", pss_sig));
  EXPECT_FALSE(PublicKey::from_tuf("ecdsa", "ecdsa-sha2-nistp256", rsa_pem));
}

}  // namespace
}  // namespace ef::crypto
