// Unit tests of the core: Unicode against values Python 3.11 gives, SHA-256 against FIPS
// 180-4's examples, and the LiteRT declarations against the bundle's model, whose tensors'
// shapes and types are known (KBD_LM_BUNDLE).
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>

#include "bundle.h"
#include "model.h"
#include "sha256.h"
#include "unicode.h"

namespace {

std::string u8(const std::u32string& s) { return kbd::encode_utf8(s); }

TEST(Unicode, DecodesAndRefusesUtf8) {
  std::u32string out;
  EXPECT_TRUE(kbd::decode_utf8("caf\xc3\xa9 \xf0\x9f\x98\x80", &out));
  EXPECT_EQ(out, U"caf\u00e9 \U0001F600");
  EXPECT_FALSE(kbd::decode_utf8("\xc3", &out));              // cut
  EXPECT_FALSE(kbd::decode_utf8("\xc0\xaf", &out));          // overlong
  EXPECT_FALSE(kbd::decode_utf8("\xed\xa0\x80", &out));      // surrogate
  EXPECT_FALSE(kbd::decode_utf8("\xf4\x90\x80\x80", &out));  // past U+10FFFF
}

TEST(Unicode, NfcAsPython) {
  // unicodedata.normalize("NFC", ...) in Python 3.11
  EXPECT_EQ(kbd::nfc(U"Cafe\u0301"), U"Caf\u00e9");
  EXPECT_EQ(kbd::nfc(U"\u1100\u1161\u11a8"), U"\uac01");          // Hangul
  EXPECT_EQ(kbd::nfc(U"a\u0323\u0302"), U"\u1ead");               // reordered, composed
  EXPECT_EQ(kbd::nfc(U"a\u0302\u0323"), U"\u1ead");
  EXPECT_EQ(kbd::nfc(U"\u212b"), U"\u00c5");                      // singleton
  EXPECT_EQ(kbd::nfc(U"\u0958"), U"\u0915\u093c");                // composition exclusion
}

TEST(Unicode, CaseAsPython) {
  EXPECT_EQ(u8(kbd::lower(U"\u0130stanbul")), u8(U"i\u0307stanbul"));
  EXPECT_EQ(u8(kbd::lower(U"\u039f\u0394\u039f\u03a3 \u03a3")), u8(U"\u03bf\u03b4\u03bf\u03c2 \u03c3"));
  EXPECT_EQ(u8(kbd::upper(U"\u00df")), "SS");
  EXPECT_EQ(u8(kbd::upper(U"\u01c6")), u8(U"\u01c4"));
  EXPECT_TRUE(kbd::is_decimal(U'\u0663'));
  EXPECT_FALSE(kbd::is_decimal(U'\u00b2'));
}

TEST(Sha256, Fips180Examples) {
  EXPECT_EQ(kbd::sha256_hex("abc", 3),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(kbd::sha256_hex("", 0),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  std::string million(1000000, 'a');
  EXPECT_EQ(kbd::sha256_hex(million.data(), million.size()),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
  EXPECT_EQ(kbd::sha256_hex(million.data(), million.size(), /*portable=*/true),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(Sha256, HardwareRoundsEqualThePortableOnes) {
  // every length around the block and padding edges, and a file's worth: where the CPU has
  // the SHA extensions (sha256_in_hardware) these compare the two codes
  std::string bytes;
  for (int i = 0; i < 70000; i++) bytes.push_back(static_cast<char>((i * 2654435761u) >> 13));
  for (size_t n = 0; n <= 200; n++)
    ASSERT_EQ(kbd::sha256_hex(bytes.data(), n), kbd::sha256_hex(bytes.data(), n, true)) << n;
  EXPECT_EQ(kbd::sha256_hex(bytes.data(), bytes.size()),
            kbd::sha256_hex(bytes.data(), bytes.size(), true));
  std::printf("sha256 in hardware: %s\n", kbd::sha256_in_hardware() ? "yes" : "no");
}

TEST(LiteRt, SignaturesHaveTheManifestsShapes) {
  // Model's constructor reads every signature's element types and dimensions through the
  // declared structs and refuses any that differ from ids int32 [B], h float32 [B, P], ...
  const char* dir = std::getenv("KBD_LM_BUNDLE");
  ASSERT_NE(dir, nullptr);
  kbd::Bundle bundle = kbd::Bundle::load(dir);
  kbd::Model model(bundle);
  ASSERT_EQ(model.batches(), (std::vector<int>{1, 2, 4, 8}));
  // Rows are independent: a step of batch 2 gives row 0 the numbers of a step of batch 1.
  const size_t P = model.embed_dim(), N = model.units(), V = model.vocab();
  std::vector<float> h(2 * P, 0.0f), c(2 * N, 0.0f), logp1, h1, c1, logp2, h2, c2;
  int32_t ids1[1] = {2}, ids2[2] = {2, 100};
  model.step(1, ids1, h.data(), c.data(), &logp1, &h1, &c1);
  model.step(2, ids2, h.data(), c.data(), &logp2, &h2, &c2);
  ASSERT_EQ(logp1.size(), V);
  ASSERT_EQ(logp2.size(), 2 * V);
  double total = 0;
  for (size_t i = 0; i < V; i++) {
    EXPECT_NEAR(logp1[i], logp2[i], 1e-5);
    total += std::exp(logp1[i]);
  }
  EXPECT_NEAR(total, 1.0, 1e-3);  // log-probabilities of a distribution
  // advance gives the state step gives
  std::vector<float> ha, ca;
  model.advance(2, h.data(), c.data(), &ha, &ca);
  for (size_t i = 0; i < P; i++) EXPECT_NEAR(ha[i], h1[i], 1e-5);
}

}  // namespace
