// Reload bookkeeping: what one reload (or config check) found, and how many reloads succeeded
// and failed since start, with the errors of the last failure until one succeeds.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace meridian::ops {

struct ReloadResult {
    bool is_ok = false;
    std::size_t zones = 0;
    std::vector<std::string> errors;  // file:line:column: message
};

// {"ok", "zones", "errors"}: what POST /reload and GET /check answer.
nlohmann::json reload_reply(const ReloadResult& result);

class ReloadCounts {
public:
    void count(const ReloadResult& result);

    uint64_t succeeded() const noexcept { return succeeded_; }
    uint64_t failed() const noexcept { return failed_; }
    const std::vector<std::string>& last_errors() const noexcept { return last_errors_; }

private:
    uint64_t succeeded_ = 0;
    uint64_t failed_ = 0;
    std::vector<std::string> last_errors_;
};

}  // namespace meridian::ops
