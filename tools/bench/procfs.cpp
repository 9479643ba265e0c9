#include "procfs.hpp"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

namespace bench {

namespace {

struct StatLine {
    pid_t ppid = 0;
    uint64_t user = 0;
    uint64_t system = 0;
};

std::optional<StatLine> read_stat(const std::string& path) {
    std::ifstream in(path);
    std::string line;
    if (!std::getline(in, line)) return std::nullopt;
    // The command may hold spaces and parentheses: fields restart after the last ')'.
    const auto close = line.rfind(')');
    if (close == std::string::npos) return std::nullopt;
    std::istringstream fields(line.substr(close + 2));
    std::string field;
    StatLine s;
    // field 3 is the state; ppid is field 4, utime 14, stime 15.
    for (int number = 3; number <= 15 && fields >> field; ++number) {
        if (number == 4) s.ppid = static_cast<pid_t>(std::strtol(field.c_str(), nullptr, 10));
        if (number == 14) s.user = std::strtoull(field.c_str(), nullptr, 10);
        if (number == 15) s.system = std::strtoull(field.c_str(), nullptr, 10);
    }
    return s;
}

}  // namespace

std::optional<ProcessCpu> process_tree_cpu(pid_t pid) {
    std::map<pid_t, StatLine> all;
    DIR* dir = opendir("/proc");
    if (dir == nullptr) return std::nullopt;
    while (const dirent* entry = readdir(dir)) {
        char* end = nullptr;
        const long value = std::strtol(entry->d_name, &end, 10);
        if (end == entry->d_name || *end != '\0') continue;
        if (auto s = read_stat(std::string("/proc/") + entry->d_name + "/stat")) {
            all.emplace(static_cast<pid_t>(value), *s);
        }
    }
    closedir(dir);
    if (all.find(pid) == all.end()) return std::nullopt;
    uint64_t user = 0, system = 0;
    for (const auto& [p, s] : all) {
        // Walk up from every process: is pid among its ancestors (or itself)?
        pid_t at = p;
        for (int depth = 0; depth < 64 && at > 1; ++depth) {
            if (at == pid) {
                user += s.user;
                system += s.system;
                break;
            }
            const auto parent = all.find(at);
            if (parent == all.end()) break;
            at = parent->second.ppid;
        }
    }
    const long hz = sysconf(_SC_CLK_TCK);
    const auto per_second = static_cast<uint64_t>(hz > 0 ? hz : 100);
    return ProcessCpu{user * 1000000ull / per_second, system * 1000000ull / per_second};
}

uint64_t udp_drops_for_ports(const std::vector<uint16_t>& ports) {
    uint64_t drops = 0;
    for (const char* file : {"/proc/net/udp", "/proc/net/udp6"}) {
        std::ifstream in(file);
        std::string line;
        std::getline(in, line);  // header
        while (std::getline(in, line)) {
            std::istringstream fields(line);
            std::string slot, local, field, last;
            fields >> slot >> local;
            const auto colon = local.rfind(':');
            if (colon == std::string::npos) continue;
            const auto port = static_cast<uint16_t>(std::strtoul(local.c_str() + colon + 1, nullptr, 16));
            bool wanted = false;
            for (const uint16_t p : ports) wanted = wanted || p == port;
            if (!wanted) continue;
            while (fields >> field) last = field;  // drops is the last column
            drops += std::strtoull(last.c_str(), nullptr, 10);
        }
    }
    return drops;
}

uint64_t udp_drops_for_port(uint16_t port) { return udp_drops_for_ports({port}); }

uint64_t self_cpu_us() {
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    auto us = [](const timeval& t) {
        return static_cast<uint64_t>(t.tv_sec) * 1000000ull + static_cast<uint64_t>(t.tv_usec);
    };
    return us(usage.ru_utime) + us(usage.ru_stime);
}

std::vector<CpuTicks> cpu_ticks() {
    std::vector<CpuTicks> cpus;
    std::ifstream in("/proc/stat");
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind("cpu", 0) != 0 || line.size() < 4 || line[3] < '0' || line[3] > '9') continue;
        std::istringstream fields(line);
        std::string name;
        fields >> name;
        CpuTicks t;
        uint64_t value = 0;
        // user nice system idle iowait irq softirq steal (guest times are inside user)
        for (int column = 0; column < 8 && fields >> value; ++column) {
            t.total += value;
            if (column != 3 && column != 4) t.busy += value;
        }
        cpus.push_back(t);
    }
    return cpus;
}

}  // namespace bench
