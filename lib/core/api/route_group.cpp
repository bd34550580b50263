// Declaring route groups: the setters of Operation and RouteGroup.
#include "core/api/route_group.hpp"

#include <algorithm>

namespace mimrest::detail {

Operation& Operation::summary(std::string_view text) {
  summary_ = text;
  return *this;
}

Operation& Operation::body(std::string_view schema) {
  request_schema_ = schema;
  return *this;
}

Operation& Operation::returns(int status, std::string_view description, std::string_view schema) {
  success_status_ = status;
  success_description_ = description;
  success_schema_ = schema;
  return *this;
}

Operation& Operation::errors(std::initializer_list<const ApiError*> list) {
  errors_.assign(list);
  return *this;
}

Operation& Operation::query(std::initializer_list<std::string_view> names) {
  query_.assign(names);
  return *this;
}

Operation& Operation::access(Access who) {
  access_ = who;
  return *this;
}

Operation& Operation::token_in_query() {
  token_in_query_ = true;
  return *this;
}

bool Operation::declares(const ApiError& error) const noexcept {
  // The core answers these for any operation (and documents them so).
  for (const ApiError* common :
       {&common_errors::invalid_path, &common_errors::too_large, &common_errors::throttled,
        &common_errors::internal, &common_errors::unavailable}) {
    if (&error == common) {
      return true;
    }
  }
  return std::find(errors_.begin(), errors_.end(), &error) != errors_.end();
}

RouteGroup& RouteGroup::needs(std::function<bool(const ApiConfig&, const Backend&)> available) {
  conditions_.push_back(std::move(available));
  return *this;
}

RouteGroup& RouteGroup::always_on() {
  switchable_ = false;
  return *this;
}

RouteGroup& RouteGroup::undocumented() {
  documented_ = false;
  return *this;
}

RouteGroup& RouteGroup::param(std::string_view param_name, std::string_view description,
                              std::string_view in, std::string_view type) {
  return param(ParamDoc{param_name, in, type, description});
}

RouteGroup& RouteGroup::param(const ParamDoc& doc) {
  params_.push_back(doc);
  return *this;
}

RouteGroup& RouteGroup::schema(std::string_view schema_name, std::string_view json) {
  schemas_.push_back(SchemaDoc{schema_name, json});
  return *this;
}

Route& RouteGroup::route(std::string_view path) {
  for (Route& existing : routes_) {
    if (existing.path == path) {
      return existing;
    }
  }
  routes_.push_back(Route{path, "application/json", {}});
  return routes_.back();
}

Operation& RouteGroup::add(std::string_view method, std::string_view path, HandlerFunction run) {
  Route& target = route(path);
  target.operations.emplace_back(method, run);
  return target.operations.back();
}

Operation& RouteGroup::get(std::string_view path, HandlerFunction run) {
  return add("GET", path, run);
}

Operation& RouteGroup::post(std::string_view path, HandlerFunction run) {
  return add("POST", path, run);
}

Operation& RouteGroup::put(std::string_view path, HandlerFunction run) {
  return add("PUT", path, run);
}

Operation& RouteGroup::del(std::string_view path, HandlerFunction run) {
  return add("DELETE", path, run);
}

bool RouteGroup::available(const ApiConfig& config, const Backend& backend) const {
  for (const auto& condition : conditions_) {
    if (!condition(config, backend)) {
      return false;
    }
  }
  return true;
}

}  // namespace mimrest::detail
