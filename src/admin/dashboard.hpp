// The dashboard page Meridian serves at GET /: one self-contained HTML document that polls
// /status and renders regions, health, latency and answer share.
#pragma once

#include <string_view>

namespace meridian::admin {

std::string_view dashboard_html() noexcept;

}  // namespace meridian::admin
