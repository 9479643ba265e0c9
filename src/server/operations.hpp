// The admin API's handlers wired to the operations parts (src/ops/): the override store, the
// analytics, the reload counts and the read-only views, plus explain and the config check. Runs
// on the control thread; owns the parts, but the work is theirs.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "admin/admin_server.hpp"
#include "config/server_config.hpp"
#include "fleet/fleet_node.hpp"
#include "ops/analytics.hpp"
#include "ops/client_mix.hpp"
#include "ops/member_store.hpp"
#include "ops/override_store.hpp"
#include "ops/readings.hpp"
#include "ops/reload_counts.hpp"
#include "probes/health_monitor.hpp"
#include "probes/member_feeds.hpp"
#include "server/snapshot_publisher.hpp"
#include "server/worker.hpp"

namespace meridian::server {

using ops::ReloadResult;

class Operations {
public:
    // `loop`: where the analytics' webhook runs.
    // `members`: the server's member store (its snapshots are served through it); `publish`:
    // the server's own publish, for snapshots rebuilt when members change.
    Operations(const config::ServerConfig& config, uv_loop_t* loop, SnapshotPublisher* publisher,
               const std::vector<std::unique_ptr<Worker>>* workers, probes::HealthMonitor* health,
               ops::MemberStore* members, std::function<void(std::unique_ptr<const answer::Snapshot>)> publish,
               const adapt::Controller* controller);

    // The admin API's handlers; `reload` is the server's own reload.
    admin::Handlers handlers(std::function<ReloadResult()> reload);

    // After every publish: overrides are written into the new zones' health boards.
    void apply_overrides();
    void count_reload(const ReloadResult& result);
    // Every analytics interval: expire overrides, evaluate alert rules, update trends, drain the
    // sampled answers the recommendations learn from.
    void tick();
    // Before the loop closes its handles: the analytics' webhook lets go of its transfers.
    void stop();

    admin::Reply status() const;
    admin::Reply metrics() const;
    admin::Reply set_override(const std::string& zone, const std::string& region, const nlohmann::json& request);
    admin::Reply clear_override(const std::string& zone, const std::string& region);
    admin::Reply explain(const std::string& name, const std::string& client, const std::string& type,
                         const std::vector<std::string>& down) const;
    admin::Reply check() const;
    admin::Reply recommendations(const std::string& zone) const;
    admin::Reply members(const std::string& method, const std::string& zone, const std::string& region,
                         const std::string& body);
    // What a member feed gave (probes::MemberFeeds): taken (true), or refused with the reason kept.
    bool feed_read(const probes::FeedRead& read);

    // Fleet mode: overrides are written for every node unless a request says "scope": "node",
    // and /status shows the fleet.
    void set_fleet(fleet::FleetNode* fleet) { fleet_ = fleet; }
    // An override for every node, as the fleet's watch delivers it (nullptr: cleared).
    void fleet_override(const std::string& zone, const std::string& region, const nlohmann::json* doc);

private:
    ops::Readings readings() const;

    const config::ServerConfig& config_;
    SnapshotPublisher* publisher_;
    const std::vector<std::unique_ptr<Worker>>* workers_;
    probes::HealthMonitor* health_;
    ops::MemberStore* members_;
    const adapt::Controller* controller_;
    std::function<void(std::unique_ptr<const answer::Snapshot>)> publish_;
    std::chrono::system_clock::time_point started_ = std::chrono::system_clock::now();
    ops::OverrideStore overrides_;
    ops::Analytics analytics_;
    ops::ClientMix client_mix_;
    std::chrono::steady_clock::time_point last_tick_ = std::chrono::steady_clock::now();
    ops::ReloadCounts reloads_;
    fleet::FleetNode* fleet_ = nullptr;
};

}  // namespace meridian::server
