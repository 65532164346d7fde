// UTF-8 validation, shared by the decoders (records, line protocol): strict RFC 3629, so no
// overlong forms, surrogates or code points past U+10FFFF. DuckDB's VARCHAR must be valid UTF-8,
// so nothing invalid gets past the edge. Pure functions: thread-safe.
#pragma once

#include <cstddef>
#include <string_view>

namespace dcmon {

// Length of the valid UTF-8 sequence of two or more bytes at s[i], or 0 if there is none.
size_t Utf8SequenceLength(std::string_view s, size_t i);
// Byte offset of the first invalid UTF-8 sequence, or s.size() if there is none.
size_t FirstInvalidUtf8(std::string_view s);
inline bool IsValidUtf8(std::string_view s) { return FirstInvalidUtf8(s) == s.size(); }

}  // namespace dcmon
