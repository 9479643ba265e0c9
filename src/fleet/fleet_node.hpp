// This node's part in a fleet (docs/FLEET.md), on the control loop: its verdicts written to etcd
// under a lease as votes, the other nodes' votes, entries and the fleet's overrides read from
// one watch of the fleet's prefix. Cut off from etcd it says so, stops counting other votes (the
// node goes by its own verdicts) and rejoins by itself. Nothing here is on the query path: the
// health monitor asks others() on the control loop, and what it decides reaches the boards.
//
// Keys, under the prefix:
//   votes/<target>/<node>   this node's verdict on a target (lease)       {"state", "latency_ms", …}
//   nodes/<node>            its entry (lease)                             {"serials", "config_digest", …}
//   overrides/<zone>/<region>  an operator's override for every node   {"action", "reason", "expires_at"}
#pragma once

#include <uv.h>

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "config/server_config.hpp"
#include "fleet/etcd_client.hpp"
#include "ops/fleet_view.hpp"
#include "probes/curl_driver.hpp"
#include "probes/health_monitor.hpp"

namespace meridian::fleet {

// A node's entry, as written under nodes/<node>.
struct NodeEntry {
    std::map<std::string, uint32_t> serials;  // zone → serial
    std::string config_digest;
    int64_t last_vote = 0;
    int64_t started = 0;
    std::string admin;

    nlohmann::json to_json() const;
    // nullopt for a document that is not an entry.
    static std::optional<NodeEntry> from_json(const std::string& text);
    bool operator==(const NodeEntry&) const = default;
};

// A vote as written under votes/<target>/<node>: the state is all the rule reads.
std::optional<health::State> vote_state(const std::string& text);
nlohmann::json vote_document(const probes::Verdict& verdict, const std::string& node, int64_t now);

class FleetNode final : public probes::VoteBox {
public:
    struct Hooks {
        std::function<void()> votes_changed;  // the health monitor recounts
        // An override for every node was set (document) or cleared (nullptr).
        std::function<void(const std::string& zone, const std::string& region, const nlohmann::json* override)>
            override_changed;
    };

    FleetNode(uv_loop_t* loop, config::FleetConfig config, Hooks hooks);
    ~FleetNode() override;
    FleetNode(const FleetNode&) = delete;
    FleetNode& operator=(const FleetNode&) = delete;

    void start();
    // Before the loop closes: every request and watch is let go. The lease is left to expire, so
    // this node's votes count for at most lease_ttl after it stops.
    void stop();

    // What this node serves now (after each publish).
    void set_entry(std::map<std::string, uint32_t> serials, std::string config_digest, std::string admin);

    // VoteBox
    void cast(const std::string& key, const probes::Verdict& verdict) override;
    void withdraw(const std::string& key) override;
    health::Tally others(const std::string& key) const override;

    bool is_joined() const noexcept { return is_joined_; }
    // Writes (nullptr: removes) the override of zone/region for every node; `done` gets the
    // error or "" once etcd has it. An override with expires_at lives under a lease that ends then.
    void write_override(const std::string& zone, const std::string& region, const nlohmann::json* override,
                        int64_t expires_in_s, const std::function<void(const std::string& error)>& done);

    ops::FleetView view() const;

private:
    void join();
    void joined(int64_t revision);
    void lost(const std::string& reason);
    void keep_alive();
    void put_entry();
    void put_vote(const std::string& key);
    void take(const KeyValue& kv, bool is_put);
    void schedule_recount();
    std::string vote_path(const std::string& key) const { return config_.prefix + "votes/" + key + "/" + config_.node; }

    uv_loop_t* loop_;
    config::FleetConfig config_;
    Hooks hooks_;
    probes::CurlDriver curl_;
    std::unique_ptr<EtcdClient> etcd_;
    uv_timer_t keepalive_timer_{};
    uv_timer_t retry_timer_{};
    uv_timer_t recount_timer_{};
    bool is_started_ = false;
    bool is_stopped_ = false;
    bool is_joining_ = false;
    bool is_joined_ = false;
    bool has_been_cut_off_ = false;  // logged once; later joins are rejoins
    int64_t lease_ = 0;
    uint64_t watch_ = 0;
    bool has_watch_ = false;
    uint32_t retry_ms_ = 500;
    uint64_t generation_ = 0;  // bumped when a join starts or is lost: older callbacks are stale

    NodeEntry entry_;
    bool is_entry_dirty_ = true;
    std::map<std::string, nlohmann::json> own_votes_;                    // by target
    std::map<std::string, std::map<std::string, health::State>> votes_;  // target → node → state
    std::map<std::string, NodeEntry> nodes_;                             // other live nodes
    // Nodes whose entry vanished (lease expired: dead or cut off), kept for an hour with the
    // time they went, so every node's /status shows who dropped out.
    std::map<std::string, std::pair<NodeEntry, int64_t>> gone_;
    std::map<std::string, std::string> known_overrides_;  // key → document, as last applied
    ops::FleetView view_;
};

}  // namespace meridian::fleet
