// The health subsystem on the control loop: one probe schedule per distinct target (identical
// probes of several regions run once), results through TargetHealth into each region's slot of
// its zone's HealthBoard, state files watched for `file` checks, and every state change logged,
// counted and (optionally) POSTed to its own webhook (probes/webhook.hpp).
#pragma once

#include <uv.h>

#include <array>
#include <atomic>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "answer/snapshot.hpp"
#include "common/random.hpp"
#include "health/target_health.hpp"
#include "health/vote.hpp"
#include "probes/curl_driver.hpp"
#include "probes/prober.hpp"
#include "probes/state_file.hpp"
#include "probes/webhook.hpp"

namespace meridian::probes {

// Probe latencies, Prometheus-style: cumulative counts per upper bound (ms).
inline constexpr std::array<uint32_t, 10> kLatencyBucketsMs = {1, 5, 10, 25, 50, 100, 200, 500, 1000, 5000};
struct LatencyHistogram {
    std::array<uint64_t, kLatencyBucketsMs.size()> buckets{};  // count of samples ≤ each bound
    uint64_t count = 0;
    double sum_ms = 0;
    void add(uint32_t ms) noexcept;
};

// One address of a region with member health, as the admin view shows it.
struct MemberStatus {
    std::string address;
    std::string id;                                // the instance's name from its source, "" when none
    const char* source_state = "up";               // what its source says: up, down, drain
    uint32_t weight = 1;                           // 0: a standby
    health::State state = health::State::healthy;  // its probes' verdict (healthy when not probed)
    bool is_answered = true;                       // answers carry it now
    bool has_latency = false;                      // measured by probes of this address
    uint32_t latency_ms = 0;
    double success_rate = 1;
    std::string reason;
};

// Fleet mode: this node's verdict on a target, as the other nodes see it.
struct Verdict {
    std::string target;  // what is probed: "http probe of 192.0.2.1"
    health::State state = health::State::healthy;
    bool has_latency = false;
    uint32_t latency_ms = 0;
    double success_rate = 1;
    std::string reason;
};

// Fleet mode: where this node's verdicts go and the other live nodes' votes come from (the fleet
// layer, over etcd). Keys name a target the same way on every node with the same configuration.
class VoteBox {
public:
    virtual ~VoteBox() = default;
    // This node's verdict on `key` changed (or is given for the first time).
    virtual void cast(const std::string& key, const Verdict& verdict) = 0;
    // Nobody on this node probes `key` any more.
    virtual void withdraw(const std::string& key) = 0;
    // The other live nodes' votes on `key`; none while this node is cut off from the fleet.
    virtual health::Tally others(const std::string& key) const = 0;
};

// How the fleet decided a target (RegionStatus::vote).
struct VoteStatus {
    bool is_voting = false;  // fleet mode, a probed target
    health::State own = health::State::healthy;
    health::Tally tally;  // this node's vote included
    bool is_by_vote = false;
    std::string reason;
};

// One region as the admin view shows it.
struct RegionStatus {
    std::string zone;
    std::string region;
    std::string check;
    health::State state = health::State::healthy;
    uint32_t latency_ms = 0;
    double success_rate = 1;
    std::string reason;
    health::Clock::time_point last_change;
    LatencyHistogram probe_latency;
    bool is_probed = false;             // a check with probes (not a state file, not none)
    bool has_latency = false;           // latency_ms was measured (by probes, or given by a state file)
    std::vector<MemberStatus> members;  // regions with member health: each address
    VoteStatus vote;
};

class HealthMonitor {
public:
    // `webhook`: where state changes are POSTed (no URL: nowhere).
    HealthMonitor(uv_loop_t* loop, WebhookSettings webhook);
    ~HealthMonitor();
    HealthMonitor(const HealthMonitor&) = delete;
    HealthMonitor& operator=(const HealthMonitor&) = delete;

    // Probes what `snapshot` asks for: targets that stay keep their history, new ones start in
    // their check's initial state, gone ones stop. Writes every region's slot at once.
    void apply(const answer::Snapshot& snapshot);
    // Some target's check says initial = "wait" and it has no result yet.
    bool is_waiting() const;
    void stop();

    // Fleet mode: verdicts go to `box`, and each target's state is decided by `rule` over the
    // votes; nullptr: this node alone. The box outlives the monitor or is unset first.
    void set_votes(VoteBox* box, health::VoteRule rule);
    // This node's name, in the User-Agent of http(s) probes.
    void set_node(std::string node) { prober_.set_node(std::move(node)); }
    // The other nodes' votes changed: every target's state is decided again.
    void recount();

    uint64_t transitions() const noexcept { return transitions_; }
    std::vector<RegionStatus> status() const;

private:
    struct MemberGroup;
    struct Subscriber {
        std::shared_ptr<health::HealthBoard> board;
        uint32_t slot;
        std::string zone;
        std::string region;
        std::shared_ptr<MemberGroup> group;  // the region's members, when it has member health
        int32_t member = -1;                 // the member this target probes (per_address), else -1
    };
    struct Target;
    struct StateFile;

    void schedule(const std::shared_ptr<Target>& target, uint32_t delay_ms);
    void run_probe(const std::shared_ptr<Target>& target);
    // The target's health as this node's probes found it, its state decided by the fleet's
    // votes in fleet mode (casting this node's vote when its verdict changed).
    health::RegionHealth decide(Target& target);
    void publish(Target& target);
    void reload_state_file(StateFile& file);
    // What a region-level check concluded, into the region's slot (through its member group).
    void write_region(const Subscriber& who, const health::RegionHealth& h);
    // A member group's region slot from its members (and its region-level check), with an alert
    // when the region's state changes.
    void aggregate(MemberGroup& group);
    std::shared_ptr<MemberGroup> make_group(const zone::ServedZone& served, uint32_t region,
                                            const std::shared_ptr<health::HealthBoard>& board,
                                            const std::string& zone_name, health::Clock::time_point now);
    // Stops watching a state file and frees it once libuv has closed its handle.
    static void close_state_file(std::unique_ptr<StateFile> file);
    void alert(const Subscriber& who, const std::string& check, const health::Transition& t,
               const std::string& member = {});
    void retire(const std::shared_ptr<Target>& target);

    uv_loop_t* loop_;
    CurlDriver curl_;
    Webhook webhook_;
    Prober prober_;
    Random random_;
    std::map<std::string, std::shared_ptr<Target>> targets_;         // by probe key
    std::map<std::string, std::unique_ptr<StateFile>> state_files_;  // by path
    std::map<std::string, std::shared_ptr<MemberGroup>> groups_;     // by zone and region
    uint64_t transitions_ = 0;
    bool is_stopped_ = false;
    VoteBox* votes_ = nullptr;
    health::VoteRule rule_;
};

}  // namespace meridian::probes
