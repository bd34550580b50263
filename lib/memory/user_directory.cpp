#include "memory/user_directory.hpp"

#include <algorithm>
#include <mutex>
#include <utility>

namespace mimrest::memory::detail {

namespace {

/// Domains in the config may be written in any case; compare prepared forms.
std::string prepare_domain(const std::string& domain) {
  auto parsed = Jid::parse(domain);
  if (parsed && parsed->local().empty() && parsed->is_bare()) {
    return parsed->domain();
  }
  return domain;
}

}  // namespace

UserDirectory::UserDirectory(const std::vector<std::string>& domains, unsigned password_iterations)
    : iterations_(password_iterations == 0 ? 1 : password_iterations) {
  for (const auto& domain : domains) {
    domains_.insert(prepare_domain(domain));
  }
}

bool UserDirectory::is_local_domain(std::string_view domain) const {
  return domains_.count(std::string(domain)) != 0;
}

AccountResult UserDirectory::add_user(const Jid& user, std::string_view password) {
  if (!user.is_bare() || user.local().empty()) {
    return unexpected(AccountError::invalid_jid);
  }
  if (!is_local_domain(user.domain())) {
    return unexpected(AccountError::unknown_domain);
  }
  if (exists(user)) {
    return unexpected(AccountError::already_exists);  // cheap answer before hashing
  }
  Account account{make_scram_credentials(password, iterations_), 1};
  std::unique_lock lock(mutex_);
  if (!accounts_.try_emplace(user, std::move(account)).second) {
    return unexpected(AccountError::already_exists);
  }
  return {};
}

AccountResult UserDirectory::set_password(const Jid& user, std::string_view password) {
  if (!user.is_bare() || user.local().empty()) {
    return unexpected(AccountError::invalid_jid);
  }
  if (!is_local_domain(user.domain())) {
    return unexpected(AccountError::unknown_domain);
  }
  if (!exists(user)) {
    return unexpected(AccountError::not_found);
  }
  auto credentials = make_scram_credentials(password, iterations_);
  std::unique_lock lock(mutex_);
  auto it = accounts_.find(user);
  if (it == accounts_.end()) {
    return unexpected(AccountError::not_found);
  }
  it->second.credentials = std::move(credentials);
  ++it->second.version;
  return {};
}

bool UserDirectory::exists(const Jid& user) const {
  std::shared_lock lock(mutex_);
  return accounts_.count(user.bare()) != 0;
}

std::uint64_t UserDirectory::credentials_version(const Jid& user) const {
  std::shared_lock lock(mutex_);
  auto it = accounts_.find(user.bare());
  return it == accounts_.end() ? 0 : it->second.version;
}

CredentialsResult UserDirectory::find(const Jid& user) {
  if (!user.is_bare() || user.local().empty() || !is_local_domain(user.domain())) {
    return std::optional<ScramCredentials>();
  }
  std::shared_lock lock(mutex_);
  auto it = accounts_.find(user);
  if (it == accounts_.end()) {
    return std::optional<ScramCredentials>();
  }
  return std::optional<ScramCredentials>(it->second.credentials);
}

AccountResult UserDirectory::remove_user(const Jid& user) {
  std::unique_lock lock(mutex_);
  if (accounts_.erase(user.bare()) == 0) {
    return unexpected(AccountError::not_found);
  }
  return {};
}

std::vector<Jid> UserDirectory::list() const {
  std::vector<Jid> users;
  {
    std::shared_lock lock(mutex_);
    users.reserve(accounts_.size());
    for (const auto& [jid, account] : accounts_) {
      users.push_back(jid);
    }
  }
  std::sort(users.begin(), users.end());
  return users;
}

}  // namespace mimrest::memory::detail
