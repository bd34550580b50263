// The in-memory archive log (lib/memory/archive_log.hpp) across the blocks
// its rows are stored in: paging by time, by correspondent and by sequence
// finds the same rows on either side of a block's edge.
#include <catch2/catch.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "memory/archive_log.hpp"
#include "test_jid.hpp"

using mimrest::LoggedEvent;
using mimrest::memory::detail::ArchiveLog;
using mimrest::test::jid;

namespace {

constexpr std::int64_t kStart = 1'000'000;
constexpr std::size_t kRows = 2500;  // more than two blocks

/// Row i: at kStart + i, sequence 2 * i + 1, with bob on even rows and carol
/// on odd ones, pushed unless i is a multiple of 3.
ArchiveLog filled() {
  ArchiveLog log;
  for (std::size_t i = 0; i < kRows; ++i) {
    log.append(kStart + static_cast<std::int64_t>(i), 2 * i + 1,
               jid(i % 2 == 0 ? "bob@localhost/phone" : "carol@localhost"),
               "<message>" + std::to_string(i) + "</message>", i % 3 != 0);
  }
  return log;
}

}  // namespace

TEST_CASE("Archive log: rows keep their order and timestamps across blocks") {
  ArchiveLog log = filled();
  REQUIRE(log.size() == kRows);
  CHECK(log.last().timestamp_us == kStart + static_cast<std::int64_t>(kRows) - 1);
  CHECK(log.last().stanza_xml == "<message>" + std::to_string(kRows - 1) + "</message>");
  // A clock that goes back still gives increasing timestamps.
  log.append(0, 2 * kRows + 1, std::nullopt, "<late/>");
  CHECK(log.last().timestamp_us == kStart + static_cast<std::int64_t>(kRows));
  CHECK(log.last().archive_id == std::to_string(kStart + static_cast<std::int64_t>(kRows)));
}

TEST_CASE("Archive log: paging around a block's edge") {
  const ArchiveLog log = filled();
  // The newest 4 before row 1026: rows 1022..1025.
  auto page = log.range(std::nullopt, std::nullopt, kStart + 1026, 4);
  REQUIRE(page.size() == 4);
  CHECK(page.front().timestamp_us == kStart + 1022);
  CHECK(page.back().timestamp_us == kStart + 1025);
  // The oldest 4 after row 1021: the same rows.
  auto forward = log.range(std::nullopt, kStart + 1021, std::nullopt, 4);
  REQUIRE(forward.size() == 4);
  CHECK(forward.front().timestamp_us == kStart + 1022);
  CHECK(forward.back().timestamp_us == kStart + 1025);
  // Both bounds, one correspondent: bob's rows strictly between 1020 and 1030.
  auto bob = log.range(jid("bob@localhost"), kStart + 1020, kStart + 1030, 100);
  REQUIRE(bob.size() == 4);
  CHECK(bob.front().timestamp_us == kStart + 1022);
  CHECK(bob.back().timestamp_us == kStart + 1028);
  // The newest of all, and nothing past the end or before the start.
  auto newest = log.range(jid("carol@localhost"), std::nullopt, std::nullopt, 2);
  REQUIRE(newest.size() == 2);
  CHECK(newest.back().timestamp_us == kStart + static_cast<std::int64_t>(kRows) - 1);
  CHECK(
      log.range(std::nullopt, kStart + static_cast<std::int64_t>(kRows), std::nullopt, 5).empty());
  CHECK(log.range(std::nullopt, std::nullopt, kStart, 5).empty());
  CHECK(log.range(std::nullopt, std::nullopt, std::nullopt, 0).empty());
}

TEST_CASE("Archive log: events between two sequences, pushed rows only") {
  const ArchiveLog log = filled();
  std::vector<LoggedEvent> out;
  // Sequences 2040..2060 are rows 1020..1029 (sequence 2i+1 in 2041..2059).
  log.events_between(2040, 2060, out);
  std::vector<std::uint64_t> sequences;
  for (const auto& event : out) {
    sequences.push_back(event.sequence);
  }
  // Rows 1020, 1023, 1026, 1029 are not pushed.
  CHECK(sequences == std::vector<std::uint64_t>{2043, 2045, 2049, 2051, 2055, 2057});
  out.clear();
  log.events_between(2 * kRows + 1, 10 * kRows, out);
  CHECK(out.empty());
}
