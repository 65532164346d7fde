#include "api/auth.h"

#include <fmt/format.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <cstdlib>
#include <map>

namespace dcmon::api {
namespace {

std::string Hex(const unsigned char* data, size_t n) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(2 * n, '0');
  for (size_t i = 0; i < n; ++i) {
    out[2 * i] = kDigits[data[i] >> 4];
    out[2 * i + 1] = kDigits[data[i] & 15];
  }
  return out;
}

constexpr std::string_view kScopeNames[] = {"read", "write", "query", "admin", "alerts"};

}  // namespace

Result<uint32_t> ParseScopes(std::string_view text) {
  uint32_t scopes = 0;
  while (!text.empty()) {
    const size_t comma = text.find(',');
    std::string_view name = text.substr(0, comma);
    text = comma == std::string_view::npos ? std::string_view() : text.substr(comma + 1);
    while (!name.empty() && name.front() == ' ') name.remove_prefix(1);
    while (!name.empty() && name.back() == ' ') name.remove_suffix(1);
    if (name.empty()) continue;
    bool known = false;
    for (size_t i = 0; i < std::size(kScopeNames); ++i) {
      if (name == kScopeNames[i]) {
        scopes |= 1u << i;
        known = true;
      }
    }
    if (!known) {
      return InvalidArgument(fmt::format(
          "expected read, write, query, admin or alerts, got \"{}\" (unknown scope)", name));
    }
  }
  if (scopes & kScopeAdmin) scopes = kScopeAll;
  return scopes;
}

std::string ScopeName(uint32_t scope) {
  for (size_t i = 0; i < std::size(kScopeNames); ++i) {
    if (scope == (1u << i)) return std::string(kScopeNames[i]);
  }
  return "?";
}

Result<TokenStore> TokenStore::FromConfig(const Config& config) {
  std::map<std::string, Token> by_name;
  for (const auto& [key, value] : config.Section("api.tokens")) {
    const size_t dot = key.rfind('.');
    const std::string name = key.substr(0, dot);
    const std::string field = dot == std::string::npos ? "" : key.substr(dot + 1);
    Token& t = by_name[name];
    t.name = name;
    if (field == "sha256") {
      if (value.size() != 64 || value.find_first_not_of("0123456789abcdef") != std::string::npos) {
        return InvalidArgument(fmt::format(
            "api.tokens.{}.sha256: expected 64 lower-case hex digits (sha256sum of the token)",
            name));
      }
      t.sha256 = value;
    } else if (field == "scopes") {
      Result<uint32_t> s = ParseScopes(value);
      if (!s.ok()) return s.status().WithPrefix(fmt::format("api.tokens.{}.scopes: ", name));
      if (*s == 0) {
        return InvalidArgument(
            fmt::format("api.tokens.{}.scopes: expected at least one of read, write, query, admin, "
                        "alerts, got \"{}\"",
                        name, value));
      }
      t.scopes = *s;
    } else {
      return InvalidArgument(
          fmt::format("api.tokens.{}: unknown key \"{}\" (expected sha256, scopes)", name, field));
    }
  }
  TokenStore store;
  for (auto& [name, t] : by_name) {
    if (t.sha256.empty())
      return InvalidArgument(fmt::format("api.tokens.{}.sha256: missing", name));
    if (t.scopes == 0) {
      return InvalidArgument(fmt::format(
          "api.tokens.{}.scopes: missing (a string \"read,query\" or a list [\"read\", \"query\"])",
          name));
    }
    store.tokens_.push_back(std::move(t));
  }
  return store;
}

void TokenStore::Add(std::string name, std::string_view token, uint32_t scopes) {
  tokens_.push_back({std::move(name), Sha256Hex(token), scopes});
}

const Token* TokenStore::Find(std::string_view presented) const {
  const std::string hash = Sha256Hex(presented);
  const Token* found = nullptr;
  for (const Token& t : tokens_) {
    // Constant time over every token, so timing tells nothing about which hash came close.
    if (CRYPTO_memcmp(t.sha256.data(), hash.data(), hash.size()) == 0) found = &t;
  }
  return found;
}

std::string Sha256Hex(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  CHECK(EVP_Digest(data.data(), data.size(), digest, &n, EVP_sha256(), nullptr) == 1,
        "SHA-256 unavailable in OpenSSL");
  return Hex(digest, n);
}

std::string GenerateToken() {
  unsigned char bytes[32];
  CHECK(RAND_bytes(bytes, sizeof bytes) == 1, "no randomness from the system for a token");
  return "dcm_" + Hex(bytes, sizeof bytes);
}

}  // namespace dcmon::api
