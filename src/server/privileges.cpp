#include "server/privileges.hpp"

#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

namespace meridian::server {

bool drop_privileges(const PrivilegeSettings& settings, std::string* error) {
    if (geteuid() != 0) return true;  // nothing to drop
    if (settings.user.empty()) {
        if (settings.allow_root) return true;
        *error = "refusing to run as root: set [server] user (and group) to drop privileges, or allow_root = true";
        return false;
    }
    std::vector<char> buffer(16384);
    passwd pw{};
    passwd* found_user = nullptr;
    if (getpwnam_r(settings.user.c_str(), &pw, buffer.data(), buffer.size(), &found_user) != 0 ||
        found_user == nullptr) {
        *error = "user \"" + settings.user + "\" does not exist";
        return false;
    }
    gid_t gid = pw.pw_gid;
    const uid_t uid = pw.pw_uid;
    if (!settings.group.empty()) {
        std::vector<char> group_buffer(16384);
        group gr{};
        group* found_group = nullptr;
        if (getgrnam_r(settings.group.c_str(), &gr, group_buffer.data(), group_buffer.size(), &found_group) != 0 ||
            found_group == nullptr) {
            *error = "group \"" + settings.group + "\" does not exist";
            return false;
        }
        gid = gr.gr_gid;
    }
    // Supplementary groups first (they need root), then the group, then the user: the other
    // order would leave root's groups or be refused.
    if (setgroups(0, nullptr) != 0 || setgid(gid) != 0 || setuid(uid) != 0) {
        *error = std::string("cannot drop privileges to ") + settings.user + ": " + std::strerror(errno);
        return false;
    }
    if (uid != 0 && (setuid(0) == 0 || geteuid() == 0)) {
        *error = "privileges could be regained after dropping them; refusing to run";
        return false;
    }
    return true;
}

}  // namespace meridian::server
