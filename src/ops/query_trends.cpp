#include "ops/query_trends.hpp"

#include <algorithm>

#include "dns/name.hpp"

namespace meridian::ops {

void Trend::add(uint64_t count, double interval_seconds) noexcept {
    const double rate = !has_sample_ || count < last_count_
                            ? 0.0
                            : static_cast<double>(count - last_count_) / interval_seconds;
    if (!has_sample_) {
        has_sample_ = true;
        level_ = 0;
    } else {
        const double previous = level_;
        level_ = kLevelWeight * rate + (1 - kLevelWeight) * (level_ + slope_);
        slope_ = kTrendWeight * (level_ - previous) + (1 - kTrendWeight) * slope_;
    }
    last_count_ = count;
}

double Trend::forecast() const noexcept { return std::max(0.0, level_ + slope_); }

void QueryTrends::update(const answer::Snapshot& snapshot, double interval_seconds) {
    for (const zone::ServedZone& served : snapshot.zones.zones()) {
        const std::string origin = dns::name_to_text(served.zone().origin());
        const std::vector<steer::Region>& regions = served.zone().policy().regions;
        for (std::size_t i = 0; i < regions.size(); ++i) {
            trends_[RegionKey{origin, regions[i].name}].add(served.runtime->steering().region_answers(i),
                                                            interval_seconds);
        }
    }
}

const Trend* QueryTrends::find(const RegionKey& key) const {
    const auto it = trends_.find(key);
    return it == trends_.end() ? nullptr : &it->second;
}

}  // namespace meridian::ops
