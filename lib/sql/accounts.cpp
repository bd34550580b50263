#include "sql/accounts.hpp"

#include <algorithm>
#include <cstdint>
#include <future>
#include <string>
#include <utility>

#include "mimrest/crypto.hpp"

#include "sql/jobs.hpp"
#include "sql/queries.hpp"
#include "sql/rooms.hpp"
#include "sql/tokens.hpp"

namespace mimrest::sql::detail {

namespace {

/// Runs a request and waits for its result.
template <class Result, class Submit>
Result wait_for(Submit submit) {
  auto promise = std::make_shared<std::promise<Result>>();
  auto future = promise->get_future();
  submit(Completion<Result>(
      [promise](Result result) { promise->set_value(std::move(result)); },
      [promise] { promise->set_value(failure_result<Result>(Failure::internal)); }));
  return future.get();
}

void store_credentials(Connection& db, std::int64_t user, const ScramCredentials& credentials,
                       bool insert) {
  if (insert) {
    db.execute(
        "INSERT INTO mimrest_users (jid, salt, iterations, stored_key, server_key) "
        "VALUES ($1, $2, $3, $4, $5)",
        {user, blob(credentials.salt), static_cast<std::int64_t>(credentials.iterations),
         blob(credentials.stored_key), blob(credentials.server_key)});
  } else {
    db.execute(
        "UPDATE mimrest_users SET salt = $2, iterations = $3, stored_key = $4, server_key = $5 "
        "WHERE jid = $1",
        {user, blob(credentials.salt), static_cast<std::int64_t>(credentials.iterations),
         blob(credentials.stored_key), blob(credentials.server_key)});
  }
}

// The credentials, then the password: each credential field as a 4-byte
// length and its bytes.
std::string credentials_and_password(const ScramCredentials& credentials,
                                     std::string_view password) {
  std::string out;
  auto field = [&out](std::string_view bytes) {
    const auto size = static_cast<std::uint32_t>(bytes.size());
    for (int shift = 24; shift >= 0; shift -= 8) {
      out.push_back(static_cast<char>((size >> shift) & 0xff));
    }
    out.append(bytes);
  };
  field(credentials.salt);
  field(std::to_string(credentials.iterations));
  field(credentials.stored_key);
  field(credentials.server_key);
  out.append(password);
  return out;
}

bool split_credentials(std::string_view text, ScramCredentials& credentials,
                       std::string_view& password) {
  auto field = [&text](std::string& into) {
    if (text.size() < 4) {
      return false;
    }
    std::uint32_t size = 0;
    for (int i = 0; i < 4; ++i) {
      size = (size << 8) | static_cast<unsigned char>(text[static_cast<std::size_t>(i)]);
    }
    text.remove_prefix(4);
    if (text.size() < size) {
      return false;
    }
    into.assign(text.substr(0, size));
    text.remove_prefix(size);
    return true;
  };
  std::string iterations;
  if (!field(credentials.salt) || !field(iterations) || !field(credentials.stored_key) ||
      !field(credentials.server_key)) {
    return false;
  }
  credentials.iterations = static_cast<unsigned>(std::stoul(iterations));
  password = text;
  return true;
}

}  // namespace

CurrentCredentialsVerifier::CurrentCredentialsVerifier(ScramCredentialStore& store,
                                                       unsigned dummy_iterations)
    : store_(store),
      // A random password nobody knows: checking against it always fails,
      // after the same PBKDF2 work as a real credential.
      dummy_(make_scram_credentials(random_bytes(16), dummy_iterations)),
      cache_(check_) {}

void CurrentCredentialsVerifier::async_verify(const Jid& user, std::string_view password,
                                              Completion<VerifyResult> done) {
  store_.async_find(
      user, [this, user, password = std::string(password), done](CredentialsResult found) mutable {
        if (!found) {
          done(unexpected(found.error()));
          return;
        }
        if (!found->has_value()) {
          check_scram_password(dummy_, password);
          done(false);
          return;
        }
        cache_.async_verify(user, credentials_and_password(**found, password), std::move(done));
      });
}

VerifyResult CurrentCredentialsVerifier::Check::verify(const Jid&,
                                                       std::string_view credentials_and_password) {
  ScramCredentials credentials;
  std::string_view password;
  if (!split_credentials(credentials_and_password, credentials, password)) {
    return false;
  }
  return check_scram_password(credentials, password);
}

void SqlCredentialStore::async_find(const Jid& user, Completion<CredentialsResult> done) {
  if (!hosting_.is_local_user_jid(user)) {
    done(CredentialsResult(std::optional<ScramCredentials>()));
    return;
  }
  store_.read(read_job<CredentialsResult>(
      [user = user.bare_string()](Connection& db) -> CredentialsResult {
        Rows rows = db.query(
            "SELECT salt, iterations, stored_key, server_key FROM mimrest_users "
            "WHERE jid = (SELECT id FROM mimrest_jids WHERE jid = $1)",
            {user});
        if (!rows.next()) {
          return std::optional<ScramCredentials>();
        }
        return std::optional<ScramCredentials>(ScramCredentials{
            rows.blob(0), static_cast<unsigned>(rows.integer(1)), rows.blob(2), rows.blob(3)});
      },
      std::move(done)));
}

std::optional<AccountError> AccountTable::check(const Jid& user) const {
  if (!user.is_bare() || user.local().empty()) {
    return AccountError::invalid_jid;
  }
  if (!hosting_.is_local_domain(user.domain())) {
    return AccountError::unknown_domain;
  }
  return std::nullopt;
}

AccountResult AccountTable::add_user(const Jid& user, std::string_view password) {
  if (auto error = check(user)) {
    return unexpected(*error);
  }
  auto exists = user_exists(user);
  if (!exists) {
    return unexpected(exists.error());
  }
  if (*exists) {
    return unexpected(AccountError::already_exists);  // a cheap answer before hashing
  }
  auto credentials = make_scram_credentials(password, hosting_.config().password_iterations);
  using Result = AccountResult;
  return wait_for<Result>([&](Completion<Result> done) {
    store_.write(write_job<Result>(
        [name = user.bare_string()](Declaration& declaration) { declaration.user(name); },
        [name = user.bare_string(), credentials](Connection& db, WriteContext& context) -> Result {
          if (account_exists(db, name)) {
            return unexpected(AccountError::already_exists);
          }
          store_credentials(db, context.jid(db, name), credentials, true);
          return {};
        },
        std::move(done)));
  });
}

AccountResult AccountTable::set_password(const Jid& user, std::string_view password) {
  if (auto error = check(user)) {
    return unexpected(*error);
  }
  auto exists = user_exists(user);
  if (!exists) {
    return unexpected(exists.error());
  }
  if (!*exists) {
    return unexpected(AccountError::not_found);
  }
  auto credentials = make_scram_credentials(password, hosting_.config().password_iterations);
  using Result = AccountResult;
  auto result = wait_for<Result>([&](Completion<Result> done) {
    store_.write(write_job<Result>(
        [name = user.bare_string()](Declaration& declaration) { declaration.existing(name); },
        [name = user.bare_string(), credentials](Connection& db, WriteContext& context) -> Result {
          auto id = find_jid(db, name);
          if (!id || !account_exists(db, name)) {
            return unexpected(AccountError::not_found);
          }
          store_credentials(db, *id, credentials, false);
          revoke_tokens(db, name);
          context.logout(name);
          return {};
        },
        std::move(done)));
  });
  if (result) {
    forget_logins_(user);
  }
  return result;
}

AccountResult AccountTable::remove_user(const Jid& user) {
  if (auto error = check(user)) {
    return unexpected(*error);
  }
  using Result = AccountResult;
  auto result = wait_for<Result>([&](Completion<Result> done) {
    store_.write(write_job<Result>(
        [name = user.bare_string()](Declaration& declaration) { declaration.existing(name); },
        [name = user.bare_string(), &hosting = hosting_](Connection& db,
                                                         WriteContext& context) -> Result {
          auto id = find_jid(db, name);
          if (!id || !account_exists(db, name)) {
            return unexpected(AccountError::not_found);
          }
          // It leaves its rooms as a user leaving would: ownership moves on,
          // the occupants are told, an emptied room goes.
          std::vector<std::string> rooms;
          {
            Rows rows = db.query(
                "SELECT j.jid FROM mimrest_occupants o JOIN mimrest_rooms r ON r.id = o.room "
                "JOIN mimrest_jids j ON j.id = r.jid WHERE o.member = $1 ORDER BY r.id",
                {*id});
            while (rows.next()) {
              rooms.push_back(rows.text(0));
            }
          }
          for (const auto& room : rooms) {
            auto left =
                change_affiliation(db, context, hosting, name, room, name, Affiliation::none);
            if (!left) {
              throw DbError(Failure::internal, "cannot leave room " + room);
            }
          }
          db.execute("DELETE FROM mimrest_users WHERE jid = $1", {*id});
          db.execute("DELETE FROM mimrest_tokens WHERE owner = $1", {*id});
          db.execute("DELETE FROM mimrest_roster WHERE owner = $1", {*id});
          db.execute("DELETE FROM mimrest_archive WHERE owner = $1", {*id});
          context.logout(name);
          return {};
        },
        std::move(done)));
  });
  if (result) {
    forget_logins_(user);
  }
  return result;
}

Expected<std::vector<Jid>, Error<AccountError>> AccountTable::list_users() {
  using Result = Expected<std::vector<Jid>, Error<AccountError>>;
  return wait_for<Result>([&](Completion<Result> done) {
    store_.read(read_job<Result>(
        [](Connection& db) -> Result {
          std::vector<Jid> users;
          Rows rows =
              db.query("SELECT j.jid FROM mimrest_users u JOIN mimrest_jids j ON j.id = u.jid");
          while (rows.next()) {
            users.push_back(stored_jid(rows.text(0)));
          }
          std::sort(users.begin(), users.end());
          return users;
        },
        std::move(done)));
  });
}

Expected<bool, Error<AccountError>> AccountTable::user_exists(const Jid& user) {
  if (!hosting_.is_local_user_jid(user.bare())) {
    return false;
  }
  using Result = Expected<bool, Error<AccountError>>;
  return wait_for<Result>([&](Completion<Result> done) {
    store_.read(read_job<Result>(
        [name = user.bare_string()](Connection& db) -> Result { return account_exists(db, name); },
        std::move(done)));
  });
}

}  // namespace mimrest::sql::detail
