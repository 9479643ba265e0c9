// Explaining one answer: builds the query a client would send, runs it through the very
// answer_query() the server runs (with a trace, and the core's fixed seed), and renders what
// happened: as text lines (meridiand explain, the admin API) or as the TXT rdata answering an
// "_explain.NAME TXT" query. One implementation for all three; control plane and worker-side
// diagnostics only (it allocates), never inside the pure core.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <vector>

#include <sys/socket.h>

#include "answer/snapshot.hpp"

namespace meridian::explain {

struct Request {
    std::string qname;  // absolute or relative to nothing: "app.geo.example.com"
    std::string qtype = "A";
    std::string client;                    // "192.0.2.1" (packet source) or "192.0.2.0/24" (sent as ECS)
    std::vector<std::string> assume_down;  // what-if: regions to treat as down
};

// The lines to print, or exactly one line starting with "error:" when the request cannot be
// explained (a bad address, type or name); nothing else comes with an error.
std::vector<std::string> explain(const answer::Snapshot& snapshot, const Request& request);

// Whether `source` (the packet's, never ECS) may ask "_explain.NAME TXT" ([admin] explain_acl).
bool may_explain(const answer::Snapshot& snapshot, const sockaddr* source) noexcept;

// The TXT rdata for an "_explain.NAME TXT" query from `source`: NAME's steering trace for the
// client the query describes (its ECS option, else `source`), one <character-string> per line;
// nullopt when the query is not such a query or NAME is in no zone served.
std::optional<std::vector<uint8_t>> explain_txt(const answer::Snapshot& snapshot, std::span<const uint8_t> query,
                                                const sockaddr* source);

}  // namespace meridian::explain
