#include "core/status.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace dcmon {
namespace {

using ::testing::HasSubstr;

TEST(Status, CodesAndPrefix) {
  const Status s = DeadlineExceeded("ran past 10 s").WithPrefix("query: ");
  EXPECT_EQ(s.code(), StatusCode::kDeadlineExceeded);
  EXPECT_EQ(s.message(), "query: ran past 10 s");
  EXPECT_EQ(StatusCodeName(s.code()), "deadline exceeded");
  EXPECT_EQ(StatusCodeName(Aborted("x").code()), "aborted");
  EXPECT_TRUE(Status::Ok().ok());
}

TEST(StatusDeathTest, CheckAbortsWithItsReason) {
  EXPECT_DEATH(CHECK(1 + 1 == 3, "arithmetic is {}", "broken"),
               "CHECK failed: 1 \\+ 1 == 3: arithmetic is broken");
  EXPECT_DEATH(CHECK(false), "CHECK failed: false");
}

TEST(StatusDeathTest, ReadingAFailedResultAbortsWithItsError) {
  Result<int> r = NotFound("no device rack-9");
  EXPECT_FALSE(r.ok());
  EXPECT_DEATH((void)*r, "value of a failed Result: no device rack-9");
  EXPECT_DEATH(Result<int>(Status::Ok()), "Result constructed from an ok Status");
}

TEST(Status, ResultHoldsItsValue) {
  Result<std::string> r = std::string("ok");
  ASSERT_TRUE(r.ok());
  EXPECT_THAT(*r, HasSubstr("ok"));
  EXPECT_EQ(r->size(), 2u);
}

}  // namespace
}  // namespace dcmon
