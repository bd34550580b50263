// What the HTTP session asks of a request Beast has parsed, and the Request
// the core gets.
#pragma once

#include <optional>
#include <string>

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include "mimrest/http.hpp"

namespace mimrest::beast::detail {

using BeastRequest = boost::beast::http::request<boost::beast::http::string_body>;

/// Whether the client waits for "100 Continue" before sending the body.
bool expects_continue(const BeastRequest& request);

/// The Request the core gets; nullopt for a target that is not in origin or
/// absolute form (answer "Invalid request target").
std::optional<Request> to_request(BeastRequest& message, const std::string& remote);

}  // namespace mimrest::beast::detail
