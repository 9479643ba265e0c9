#include "common/log.hpp"

#include <cstdio>
#include <ctime>
#include <mutex>

namespace meridian::log {

namespace {

std::mutex output_mutex;

void write(const char* level, std::string_view message) {
    char stamp[32];
    const std::time_t now = std::time(nullptr);
    std::tm parts{};
    gmtime_r(&now, &parts);
    std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", &parts);
    const std::lock_guard<std::mutex> lock(output_mutex);
    std::fprintf(stderr, "%s meridiand %s: %.*s\n", stamp, level, static_cast<int>(message.size()), message.data());
    std::fflush(stderr);
}

}  // namespace

void info(std::string_view message) { write("info", message); }
void warning(std::string_view message) { write("warning", message); }
void error(std::string_view message) { write("error", message); }

}  // namespace meridian::log
