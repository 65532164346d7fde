// DedupWindow: exact re-sends within the event-time window, lateness, staging, bounded memory.
#include "ingest/dedup_window.h"

#include <gtest/gtest.h>

namespace dcmon::ingest {
namespace {

using namespace std::chrono_literals;
constexpr int64_t kMinute = 60'000'000;

TEST(DedupWindow, DropsAnExactReSendAndKeepsOtherMeasurementsAndDevices) {
  DedupWindow w(10min);
  EXPECT_FALSE(w.Stage("a", "temperature", kMinute).duplicate);
  EXPECT_TRUE(w.Stage("a", "temperature", kMinute).duplicate) << "within one batch";
  EXPECT_FALSE(w.Stage("a", "humidity", kMinute).duplicate);
  EXPECT_FALSE(w.Stage("b", "temperature", kMinute).duplicate);
  w.Seal();
  w.Commit();
  EXPECT_TRUE(w.Stage("a", "temperature", kMinute).duplicate) << "across batches";
  EXPECT_FALSE(w.Stage("a", "temperature", kMinute + 1).duplicate);
}

TEST(DedupWindow, MeasuresLatenessBehindTheDevicesNewestEvent) {
  DedupWindow w(10min);
  EXPECT_EQ(w.Stage("a", "", 5 * kMinute).behind_micros, 0);
  EXPECT_EQ(w.Stage("a", "", 3 * kMinute).behind_micros, 2 * kMinute);
  EXPECT_EQ(w.Stage("b", "", 1 * kMinute).behind_micros, 0) << "per device";
  w.Seal();
  w.Commit();
  EXPECT_EQ(w.Stage("a", "", 4 * kMinute).behind_micros, kMinute);
}

TEST(DedupWindow, ADroppedBatchIsNotRememberedSoItsRereadIsNotADuplicate) {
  DedupWindow w(10min);
  EXPECT_FALSE(w.Stage("a", "t", kMinute).duplicate);
  w.Drop();
  EXPECT_FALSE(w.Stage("a", "t", kMinute).duplicate);
  EXPECT_EQ(w.size(), 0u);
}

// The loader decodes batch 2 while batch 1 commits: batch 2 sees batch 1's keys, only batch 1's
// join the window when it commits, and a failed commit forgets both (both are read again).
TEST(DedupWindow, OnlyTheSealedBatchJoinsTheWindowWhileTheNextIsStaged) {
  DedupWindow w(10min);
  EXPECT_FALSE(w.Stage("a", "t", kMinute).duplicate);
  w.Seal();
  EXPECT_TRUE(w.Stage("a", "t", kMinute).duplicate) << "a re-send of the batch in commit";
  EXPECT_EQ(w.Stage("a", "t", 0).behind_micros, kMinute) << "late behind the sealed batch";
  EXPECT_FALSE(w.Stage("b", "t", kMinute).duplicate);
  w.Commit();
  EXPECT_EQ(w.size(), 1u) << "batch 1's key only";
  w.Drop();
  EXPECT_FALSE(w.Stage("b", "t", kMinute).duplicate) << "batch 2 was dropped, not committed";
  EXPECT_FALSE(w.Stage("a", "t", 0).duplicate);
  w.Seal();
  w.Drop();
  EXPECT_FALSE(w.Stage("a", "t", 0).duplicate) << "a failed sealed batch is forgotten";
  EXPECT_EQ(w.size(), 1u);
}

TEST(DedupWindow, ForgetsKeysOlderThanTheWindowSoMemoryStaysBounded) {
  DedupWindow w(10min);
  for (int64_t m = 0; m < 24 * 60; ++m) {
    EXPECT_FALSE(w.Stage("a", "t", m * kMinute).duplicate);
    w.Seal();
    w.Commit();
  }
  EXPECT_EQ(w.size(), 11u) << "the newest minute and the ten before it";
  EXPECT_FALSE(w.Stage("a", "t", 0).duplicate) << "too old to be recognised: stored as late";
  EXPECT_TRUE(w.Stage("a", "t", (24 * 60 - 5) * kMinute).duplicate);
}

// A device's keys are kept in time order whatever order they come in: late and shuffled keys,
// within a batch and across commits, are each recognised once, per measurement, and evicted by
// time.
TEST(DedupWindow, OutOfOrderKeysAreRecognisedAndEvictedByTime) {
  DedupWindow w(10min);
  const int64_t order[] = {5, 1, 9, 3, 7, 2, 8, 4, 6, 0};
  for (int64_t m : order) {
    EXPECT_FALSE(w.Stage("a", "t", m * kMinute).duplicate) << m;
    EXPECT_FALSE(w.Stage("a", "h", m * kMinute).duplicate) << m;
  }
  for (int64_t m : order) EXPECT_TRUE(w.Stage("a", "t", m * kMinute).duplicate) << "staged " << m;
  w.Seal();
  for (int64_t m : order) EXPECT_TRUE(w.Stage("a", "h", m * kMinute).duplicate) << "sealed " << m;
  w.Commit();
  EXPECT_EQ(w.size(), 20u);
  for (int64_t m = 9; m >= 0; --m) EXPECT_TRUE(w.Stage("a", "t", m * kMinute).duplicate) << m;
  EXPECT_FALSE(w.Stage("a", "t", 15 * kMinute).duplicate);
  EXPECT_FALSE(w.Stage("a", "t", 4 * kMinute + 1).duplicate) << "between two stored keys";
  w.Seal();
  w.Commit();
  // Newest 15:00, so keys from 5:00 on stay: "t" at 5 to 9 and 15, "h" at 5 to 9 (4:00.000001
  // gone).
  EXPECT_EQ(w.size(), 6u + 5u);
  EXPECT_FALSE(w.Stage("a", "t", 4 * kMinute).duplicate) << "evicted";
  EXPECT_TRUE(w.Stage("a", "h", 5 * kMinute).duplicate);
}

TEST(DedupWindow, SeededKeysCatchReSends) {
  DedupWindow w(10min);
  w.Add("a", "t", kMinute);
  EXPECT_EQ(w.size(), 1u);
  EXPECT_TRUE(w.Stage("a", "t", kMinute).duplicate);
}

// A window of 0 is off: nothing is a duplicate, within a batch, across batches or after seeding,
// and lateness is still measured.
TEST(DedupWindow, AWindowOfZeroDropsNothingAndStillMeasuresLateness) {
  DedupWindow w(0min);
  w.Add("a", "temperature", 5 * kMinute);
  EXPECT_EQ(w.size(), 0u);
  EXPECT_FALSE(w.Stage("a", "temperature", 5 * kMinute).duplicate) << "after seeding";
  EXPECT_FALSE(w.Stage("a", "temperature", 5 * kMinute).duplicate) << "within one batch";
  w.Seal();
  w.Commit();
  EXPECT_EQ(w.size(), 0u);
  const DedupWindow::Seen late = w.Stage("a", "temperature", 3 * kMinute);
  EXPECT_FALSE(late.duplicate);
  EXPECT_EQ(late.behind_micros, 2 * kMinute);
  EXPECT_FALSE(w.Stage("a", "temperature", 5 * kMinute).duplicate) << "across batches";
}

}  // namespace
}  // namespace dcmon::ingest
