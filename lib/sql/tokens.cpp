#include "sql/tokens.hpp"

#include <utility>

#include "sql/jobs.hpp"
#include "sql/queries.hpp"
#include "sql/store.hpp"

namespace mimrest::sql::detail {

namespace {

// Expired records removed per issue or rotation: more than either adds, so
// the table stays bounded by the live tokens.
constexpr std::int64_t kPurgePerChange = 64;

std::int64_t kind_code(TokenKind kind) {
  return kind == TokenKind::refresh ? 1 : 0;
}

void insert_records(Connection& db, WriteContext& context,
                    const std::vector<TokenRecord>& records) {
  for (const TokenRecord& record : records) {
    db.execute(
        "INSERT INTO mimrest_tokens (hash, owner, family, kind, expires, spent) "
        "VALUES ($1, $2, $3, $4, $5, 0)",
        {blob(record.hash), context.jid(db, record.user.bare_string()), blob(record.family),
         kind_code(record.kind), record.expires_us});
  }
}

void purge_expired(Connection& db, std::int64_t now_us) {
  db.execute(
      "DELETE FROM mimrest_tokens WHERE hash IN "
      "(SELECT hash FROM mimrest_tokens WHERE expires <= $1 LIMIT $2)",
      {now_us, kPurgePerChange});
}

}  // namespace

void revoke_tokens(Connection& db, const std::string& user) {
  db.execute(
      "DELETE FROM mimrest_tokens WHERE owner = (SELECT id FROM mimrest_jids WHERE jid = $1)",
      {user});
}

void SqlTokenStore::async_issue(const std::vector<TokenRecord>& records, std::int64_t now_us,
                                Completion<TokenChangeResult> done) {
  store_.write(write_job<TokenChangeResult>(
      [records, now_us](Connection& db, WriteContext& context) -> TokenChangeResult {
        purge_expired(db, now_us);
        insert_records(db, context, records);
        return {};
      },
      std::move(done)));
}

void SqlTokenStore::async_find(const std::string& hash, std::int64_t now_us,
                               Completion<TokenLookupResult> done) {
  store_.read(read_job<TokenLookupResult>(
      [hash, now_us](Connection& db) -> TokenLookupResult {
        Rows rows = db.query(
            "SELECT j.jid, t.family, t.kind, t.expires FROM mimrest_tokens t "
            "JOIN mimrest_jids j ON j.id = t.owner "
            "WHERE t.hash = $1 AND t.expires > $2 AND t.spent = 0",
            {blob(hash), now_us});
        if (!rows.next()) {
          return std::optional<TokenRecord>();
        }
        TokenRecord record{hash, stored_jid(rows.text(0)), rows.blob(1),
                           rows.integer(2) == 1 ? TokenKind::refresh : TokenKind::access,
                           rows.integer(3)};
        return std::optional<TokenRecord>(std::move(record));
      },
      std::move(done)));
}

void SqlTokenStore::async_rotate(const std::string& refresh_hash,
                                 const std::vector<TokenRecord>& replacements, std::int64_t now_us,
                                 Completion<RotateResult> done) {
  store_.write(write_job<RotateResult>(
      [refresh_hash, replacements, now_us](Connection& db, WriteContext& context) -> RotateResult {
        // Spent here only when live and unspent: a rotation of the same
        // token by another process waits for this one, then finds it spent.
        if (db.execute("UPDATE mimrest_tokens SET spent = 1 WHERE hash = $1 AND kind = 1 "
                       "AND spent = 0 AND expires > $2",
                       {blob(refresh_hash), now_us}) == 1) {
          purge_expired(db, now_us);
          insert_records(db, context, replacements);
          return RotateOutcome::rotated;
        }
        std::string family;
        std::int64_t kind = 0;
        std::int64_t expires = 0;
        std::int64_t spent = 0;
        {
          Rows rows =
              db.query("SELECT family, kind, expires, spent FROM mimrest_tokens WHERE hash = $1",
                       {blob(refresh_hash)});
          if (!rows.next()) {
            return RotateOutcome::invalid;
          }
          family = rows.blob(0);
          kind = rows.integer(1);
          expires = rows.integer(2);
          spent = rows.integer(3);
        }
        if (kind != 1 || expires <= now_us || spent == 0) {
          return RotateOutcome::invalid;
        }
        // Presented again once spent: the whole family goes.
        db.execute("DELETE FROM mimrest_tokens WHERE family = $1", {blob(family)});
        return RotateOutcome::replayed;
      },
      std::move(done)));
}

void SqlTokenStore::async_revoke_user(const Caller& user, Completion<TokenChangeResult> done) {
  store_.write(write_job<TokenChangeResult>(
      [user = user.bare_string()](Connection& db, WriteContext&) -> TokenChangeResult {
        revoke_tokens(db, user);
        return {};
      },
      std::move(done)));
}

}  // namespace mimrest::sql::detail
