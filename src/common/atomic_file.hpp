// Replacing a file so that a reader sees the old text or the new, never half of one: the text
// goes to PATH.tmp, which is then renamed over PATH. For the state files Meridian keeps across
// restarts (forecasts, members).
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

namespace meridian {

// False with *error ("cannot write PATH.tmp" / "cannot replace PATH: why") when it could not.
bool write_file_atomically(const std::filesystem::path& path, std::string_view text, std::string* error);

}  // namespace meridian
