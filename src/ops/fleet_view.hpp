// What /status, /metrics and the dashboard show of the fleet (fleet mode, docs/FLEET.md): this
// node's link to etcd and every live node's entry, with the differences that need a look.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace meridian::ops {

struct FleetNodeView {
    std::string node;
    bool is_self = false;
    std::map<std::string, uint32_t> serials;   // zone → the serial it serves
    std::string config_digest;                 // of its zone files
    int64_t last_vote = 0;                     // unix seconds of its latest vote; 0: none yet
    int64_t started = 0;                       // unix seconds
    std::string admin;                         // its admin API, "" when it has none
    std::vector<std::string> serial_mismatch;  // zones it serves at another serial than this node
    bool is_config_mismatch = false;           // its zone files differ from this node's
    bool is_live = true;                       // false: its lease ran out (dead, or cut off from etcd)
    int64_t gone_since = 0;                    // unix seconds its entry vanished; 0 while live
};

struct FleetView {
    std::string node;
    std::string prefix;
    std::vector<std::string> endpoints;
    bool is_partitioned = true;     // not (yet, or no longer) in touch with etcd
    int64_t partitioned_since = 0;  // unix seconds; 0 while joined
    std::string error;              // why it is cut off
    double quorum = 0.5;
    uint32_t min_voters = 2;
    uint32_t lease_ttl_s = 10;
    uint64_t votes_cast = 0;           // this node's verdicts written
    uint64_t joins = 0;                // times it (re)joined
    uint64_t partitions = 0;           // times it was cut off
    uint64_t overrides_applied = 0;    // fleet overrides set or cleared here from the watch
    std::size_t targets = 0;           // targets other nodes vote on
    std::size_t others_votes = 0;      // their live votes
    std::vector<FleetNodeView> nodes;  // this node first, then the live ones, then those gone lately
};

}  // namespace meridian::ops
