// Explaining one answer: builds the query a client would send, runs it through the very
// answer_query() the server runs (with a trace), and renders what happened as text lines.
#pragma once

#include <string>
#include <vector>

#include "answer/snapshot.hpp"

namespace meridian::explain {

struct Request {
    std::string qname;      // absolute or relative to nothing: "app.geo.example.com"
    std::string qtype = "A";
    std::string client;     // "192.0.2.1" (packet source) or "192.0.2.0/24" (sent as ECS)
    std::vector<std::string> assume_down;  // what-if: regions to treat as down
};

// The lines to print, or a single line starting with "error:".
std::vector<std::string> explain(const answer::Snapshot& snapshot, const Request& request);

}  // namespace meridian::explain
