// Header checks and the conversion of Beast's request into the core's.
#include "beast/request.hpp"

#include <utility>

#include "beast/wire.hpp"

namespace mimrest::beast::detail {
namespace {

namespace http = boost::beast::http;

std::string_view view(boost::beast::string_view text) {
  return std::string_view(text.data(), text.size());
}

}  // namespace

std::optional<std::string_view> header_defect(const BeastRequest& request) {
  for (auto field : {http::field::authorization, http::field::host, http::field::content_type,
                     http::field::content_length}) {
    if (request.count(field) > 1) {
      return std::string_view("Invalid request");
    }
  }
  if (request.version() >= 11 && request.count(http::field::host) == 0) {
    return std::string_view("Invalid request");
  }
  return std::nullopt;
}

bool expects_continue(const BeastRequest& request) {
  return request.version() >= 11 && iequals(view(request[http::field::expect]), "100-continue");
}

std::optional<Request> to_request(BeastRequest& message, const std::string& remote) {
  auto target = split_target(view(message.target()));
  if (!target) {
    return std::nullopt;
  }
  Request request;
  request.method = std::string(view(message.method_string()));
  request.path = std::move(target->path);
  request.query = std::move(target->query);
  for (const auto& field : message) {
    request.headers.add(std::string(view(field.name_string())), std::string(view(field.value())));
  }
  request.body = std::move(message.body());
  request.remote_address = remote;
  return request;
}

}  // namespace mimrest::beast::detail
