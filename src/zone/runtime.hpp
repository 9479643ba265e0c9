// What changes while a compiled zone is served, kept beside the immutable Zone rather than in
// it: the health board its regions are read from, what the control loop learned, its steering
// counters, and its query counters.
// One per zone per snapshot; a reload that keeps a zone's origin carries its query counters over
// (config::load_snapshot). Later floors (learned weights, votes) add their state here.
#pragma once

#include <cstddef>
#include <memory>

#include "health/state.hpp"
#include "stats/client_samples.hpp"
#include "stats/counters.hpp"
#include "steer/feedback.hpp"
#include "zone/zone.hpp"

namespace meridian::zone {

class ZoneRuntime {
public:
    // Sized for `zone`'s policy; `workers` query-counter shards unless `carried` (the previous
    // runtime's counters of the same zone) has that many, in which case those are kept.
    ZoneRuntime(const Zone& zone, std::size_t workers, std::shared_ptr<stats::ZoneStats> carried = nullptr);

    // One slot per policy region, then one per member of regions with member health: written by
    // the health monitor and the override store, read by answers with one relaxed load.
    health::HealthBoard& health() noexcept { return health_; }
    const health::HealthBoard& health() const noexcept { return health_; }
    // What the control loop learned (capacity and load factors, latency EWMAs, adaptive weights):
    // written by adapt::Controller, read by answers with one relaxed load per candidate.
    steer::FeedbackBoard& feedback() noexcept { return feedback_; }
    const steer::FeedbackBoard& feedback() const noexcept { return feedback_; }
    stats::SteerStats& steering() noexcept { return steering_; }
    const stats::SteerStats& steering() const noexcept { return steering_; }
    stats::ZoneStats& queries() noexcept { return *queries_; }
    const stats::ZoneStats& queries() const noexcept { return *queries_; }
    const std::shared_ptr<stats::ZoneStats>& shared_queries() const noexcept { return queries_; }
    // A sample of steered answers (name, route, client country, region) for the recommendations;
    // none kept for a zone without steered names.
    stats::ClientSamples& samples() noexcept { return samples_; }

private:
    health::HealthBoard health_;
    steer::FeedbackBoard feedback_;
    stats::SteerStats steering_;
    std::shared_ptr<stats::ZoneStats> queries_;  // never null
    stats::ClientSamples samples_;
};

}  // namespace meridian::zone
