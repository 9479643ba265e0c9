#include "ops/reload_counts.hpp"

namespace meridian::ops {

nlohmann::json reload_reply(const ReloadResult& result) {
    return {{"ok", result.is_ok}, {"zones", result.zones}, {"errors", result.errors}};
}

void ReloadCounts::count(const ReloadResult& result) {
    if (result.is_ok) {
        ++succeeded_;
        last_errors_.clear();
    } else {
        ++failed_;
        last_errors_ = result.errors;
    }
}

}  // namespace meridian::ops
