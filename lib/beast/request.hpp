// What the HTTP session asks of a request Beast has parsed: whether its
// header block can be served, and the Request the core gets.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include "mimrest/http.hpp"

namespace mimrest::beast::detail {

using BeastRequest = boost::beast::http::request<boost::beast::http::string_body>;

/// Why a header block cannot be served, as the text of a 400 answer after
/// which the connection closes; nullopt when it can. Refused: a field that
/// takes one value (Authorization, Host, Content-Type, Content-Length)
/// given more than once, which parts of a chain could read differently
/// (Beast itself refuses only Content-Lengths that differ and repeated
/// Transfer-Encodings); an HTTP/1.1 request without Host (RFC 9112 §3.2).
std::optional<std::string_view> header_defect(const BeastRequest& request);

/// Whether the client waits for "100 Continue" before sending the body.
bool expects_continue(const BeastRequest& request);

/// The Request the core gets; nullopt for a target that is not in origin or
/// absolute form (answer "Invalid request target").
std::optional<Request> to_request(BeastRequest& message, const std::string& remote);

}  // namespace mimrest::beast::detail
