// API tokens and their scopes. Tokens are kept only as SHA-256 hashes (from config, or hashed at
// start for the admin token), so a leaked config file leaks no token; a presented token is hashed
// and compared in constant time. Config: [api.tokens.NAME] sha256 = "<hex>", scopes = "read,query".
// Read-only after construction: thread-safe.
//
//   TokenStore tokens = *TokenStore::FromConfig(config);
//   tokens.Add("admin", GenerateToken(), kScopeAll);
//   const Token* t = tokens.Find(presented);   // nullptr: unknown
//   if (t && (t->scopes & kScopeWrite)) ...
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/config.h"
#include "core/status.h"

namespace dcmon::api {

enum Scope : uint32_t {
  kScopeRead = 1,     // GET the data endpoints
  kScopeWrite = 2,    // ingest records and line protocol
  kScopeQuery = 4,    // POST /api/v1/query
  kScopeAdmin = 8,    // everything, operations included
  kScopeAlerts = 16,  // acknowledge alerts, create and expire silences
  kScopeAll = 31,
};

// "read,query" -> kScopeRead | kScopeQuery. Errors name the unknown scope.
Result<uint32_t> ParseScopes(std::string_view text);
std::string ScopeName(uint32_t scope);  // one scope: "read", "write", "query", "admin", "alerts"

struct Token {
  std::string name;
  std::string sha256;  // of the token, 64 lower-case hex digits
  uint32_t scopes = 0;
};

class TokenStore {
 public:
  static Result<TokenStore> FromConfig(const Config& config);
  void Add(std::string name, std::string_view token, uint32_t scopes);
  const Token* Find(std::string_view presented) const;
  bool empty() const { return tokens_.empty(); }

 private:
  std::vector<Token> tokens_;
};

std::string Sha256Hex(std::string_view data);
// 32 random bytes from the system's CSPRNG, as "dcm_" + 64 hex digits.
std::string GenerateToken();

}  // namespace dcmon::api
