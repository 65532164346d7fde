#include "core/swar.h"

#include <gtest/gtest.h>

#include <random>

namespace dcmon::swar {
namespace {

// Against a byte-by-byte reference: every byte value at every position, then random words.
TEST(Swar, MatchesBytewiseReference) {
  auto reference = [](uint64_t x, auto pred) {
    for (int i = 0; i < 8; ++i) {
      if (pred(static_cast<uint8_t>(x >> (8 * i)))) return true;
    }
    return false;
  };
  auto check = [&](uint64_t x) {
    ASSERT_EQ(BytesBelow(x, 0x20) != 0, reference(x, [](uint8_t b) { return b < 0x20; }))
        << std::hex << x;
    ASSERT_EQ(BytesEqual(x, '"') != 0, reference(x, [](uint8_t b) { return b == '"'; }))
        << std::hex << x;
    ASSERT_EQ(BytesEqual(x, 0x7f) != 0, reference(x, [](uint8_t b) { return b == 0x7f; }))
        << std::hex << x;
  };
  for (int pos = 0; pos < 8; ++pos) {
    for (int b = 0; b < 256; ++b) {
      uint64_t x = kOnes * 'a';
      x = (x & ~(0xffULL << (8 * pos))) | (static_cast<uint64_t>(b) << (8 * pos));
      check(x);
    }
  }
  std::mt19937_64 rng(3);
  for (int i = 0; i < 1'000'000; ++i) check(rng());
}

TEST(Swar, LoadPartialPads) {
  EXPECT_EQ(LoadPartial("ab", 2, 'x'), Load("abxxxxxx"));
  EXPECT_EQ(LoadPartial(nullptr, 0, 'x'), kOnes * 'x');
}

}  // namespace
}  // namespace dcmon::swar
