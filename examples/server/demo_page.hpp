// The browser demo page (examples/server/demo/index.html, built into the
// program), served at {base_path}/demo when the configuration says
// "demo": true.
#pragma once

#include "mimrest/api_config.hpp"

namespace mimrest::server {

StaticPage demo_page();

}  // namespace mimrest::server
