// Control-plane logging to stderr: one line per event, with a level. Never used per packet.
#pragma once

#include <string_view>

namespace meridian::log {

void info(std::string_view message);
void warning(std::string_view message);
void error(std::string_view message);

}  // namespace meridian::log
