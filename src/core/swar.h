// Byte tests on eight bytes at once in a uint64_t ("SIMD within a register"), for the string scans
// on the codec's hot paths. Each test sets the high bit of some byte when, and only when, at least
// one byte matches (a match can also flag the bytes above it, so use the result as a yes/no, not as
// a position).
//
//   uint64_t w = swar::Load(s.data() + i);
//   if (swar::BytesBelow(w, 0x20) | swar::BytesEqual(w, '"')) { /* slow path for this word */ }
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace dcmon::swar {

inline constexpr uint64_t kOnes = 0x0101010101010101ULL;
inline constexpr uint64_t kHigh = 0x8080808080808080ULL;

inline uint64_t Load(const char* p) {
  uint64_t x;
  std::memcpy(&x, p, 8);
  return x;
}

// The n < 8 bytes at p, the rest of the word filled with `pad` (a byte that matches no test in
// use).
inline uint64_t LoadPartial(const char* p, size_t n, char pad) {
  uint64_t x = kOnes * static_cast<unsigned char>(pad);
  if (n > 0) std::memcpy(&x, p, n);  // p may be null when n is 0
  return x;
}

// Non-zero if some byte of x is below n (n at most 0x80).
constexpr uint64_t BytesBelow(uint64_t x, uint8_t n) { return (x - kOnes * n) & ~x & kHigh; }

// Non-zero if some byte of x equals c.
constexpr uint64_t BytesEqual(uint64_t x, uint8_t c) {
  const uint64_t y = x ^ (kOnes * c);
  return (y - kOnes) & ~y & kHigh;
}

}  // namespace dcmon::swar
