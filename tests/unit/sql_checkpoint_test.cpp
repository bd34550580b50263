// SQLite's write-ahead log is checkpointed by a thread of its own, not by the
// writer's commits, and stays bounded (lib/sql/checkpointer.hpp).
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>

#include "sql/checkpointer.hpp"
#include "sql/sqlite_driver.hpp"
#include "sql_test_support.hpp"

using namespace mimrest::test::sql;
using namespace mimrest::sql::detail;
using namespace std::chrono_literals;

namespace {

std::uintmax_t wal_size(const TestDatabase& database) {
  std::error_code error;
  const auto size = std::filesystem::file_size(database.path() + "-wal", error);
  return error ? 0 : size;
}

/// Commits `count` transactions of one 8 KiB row each.
void write_rows(Connection& writer, int count) {
  const std::string row(8192, 'x');
  for (int i = 0; i < count; ++i) {
    writer.script("BEGIN IMMEDIATE");
    writer.execute("INSERT INTO t (v) VALUES ($1)", {row});
    writer.script("COMMIT");
  }
}

template <class F>
bool eventually(F condition) {
  const auto deadline = std::chrono::steady_clock::now() + kWait;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) {
      return true;
    }
    std::this_thread::sleep_for(10ms);
  }
  return false;
}

}  // namespace

TEST_CASE("the log is checkpointed by its own thread and stays bounded, readers or not") {
  TestDatabase database("sqlite");
  CheckpointOptions options;
  options.path = database.path();
  options.threshold_frames = 100;
  options.cap_frames = 400;
  options.interval = 50ms;
  Checkpointer checkpointer(options);

  SqliteOptions open;
  open.path = database.path();
  open.create = true;
  std::atomic<int> frames{0};
  open.on_commit_wal = [&checkpointer, &frames](int in_log) {
    frames = in_log;
    checkpointer.committed(in_log);
  };
  auto writer = open_sqlite(open);
  // As the backend's writer: the file is cut back when the log starts over.
  const std::uintmax_t page = 4096 + 24;
  writer->script("PRAGMA journal_size_limit=" + std::to_string(options.cap_frames * page));
  {
    Rows mode = writer->query("PRAGMA journal_mode=WAL");
    REQUIRE(mode.next());
    REQUIRE(mode.text(0) == "wal");
  }
  writer->script("CREATE TABLE t (v BLOB)");

  write_rows(*writer, 300);  // about 900 frames: well past the threshold
  CHECK(eventually([&] { return checkpointer.checkpoints() > 0; }));

  // A reader holding an old snapshot keeps the log from starting over: the
  // log grows past the cap meanwhile, and is brought back once it is gone.
  SqliteOptions read;
  read.path = database.path();
  read.query_only = true;
  auto reader = open_sqlite(read);
  reader->script("BEGIN");
  CHECK(reader->integer_or("SELECT count(*) FROM t", {}, -1) == 300);
  write_rows(*writer, 300);
  reader->script("COMMIT");
  reader.reset();

  CHECK(frames.load() > options.cap_frames);
  // Once it is all copied, the writer's next transaction starts the log over
  // (and cuts the file back): a few more small commits let that happen.
  CHECK(eventually([&] {
    write_rows(*writer, 1);
    return frames.load() < options.threshold_frames &&
           wal_size(database) <= std::uintmax_t(options.cap_frames) * page;
  }));
  CHECK(checkpointer.restarts() > 0);
  CHECK(writer->integer_or("SELECT count(*) FROM t", {}, -1) >= 601);
}

TEST_CASE("without the checkpointer's thread the writer's commits do not checkpoint") {
  TestDatabase database("sqlite");
  SqliteOptions open;
  open.path = database.path();
  open.create = true;
  int last_frames = 0;
  open.on_commit_wal = [&last_frames](int frames) { last_frames = frames; };
  auto writer = open_sqlite(open);
  writer->query("PRAGMA journal_mode=WAL").next();
  writer->script("CREATE TABLE t (v BLOB)");
  write_rows(*writer, 600);  // SQLite alone would checkpoint at 1000 frames
  CHECK(last_frames > 1000);
  CHECK(wal_size(database) > 1000 * 4096);
}
