// Leaving root behind: once the sockets are bound, a server started as root switches to the
// configured user and group, and refuses to go on as root unless told it may.
#pragma once

#include <string>

namespace meridian::server {

struct PrivilegeSettings {
    std::string user;   // empty: stay who we are
    std::string group;  // empty: the user's primary group
    bool allow_root = false;
};

// True when the process may go on; otherwise *error is one line saying why.
bool drop_privileges(const PrivilegeSettings& settings, std::string* error);

}  // namespace meridian::server
