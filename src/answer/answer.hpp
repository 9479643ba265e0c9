// Answering as a pure function: query bytes + snapshot + client facts → response bytes.
// noexcept, no allocation, no locks, no I/O; the server calls it for every packet.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include <sys/socket.h>

#include "answer/outcome.hpp"
#include "answer/snapshot.hpp"
#include "common/token_bucket.hpp"
#include "steer/decide.hpp"
#include "common/random.hpp"

namespace meridian::answer {

enum class Transport : uint8_t { udp, tcp };

struct ClientInfo {
    Transport transport = Transport::udp;
    const sockaddr* source = nullptr;  // the packet's source address
    Random* random = nullptr;   // the worker's generator; null: a fixed seed (tests, tools)
    steer::Trace* trace = nullptr;     // filled by steered answers for the explain tools only
    Outcome* outcome = nullptr;        // filled when given: what happened, for the counters
    TokenBucket* explain_budget = nullptr;  // _explain answers left (the worker's); null: unlimited
    uint64_t now_ms = 0;                    // the clock explain_budget runs on
};

// Writes the response into `response` (which must hold at least 65535 bytes for TCP and the
// configured UDP cap for UDP) and returns its size, or 0 when the query gets no answer.
std::size_t answer_query(const Snapshot& snapshot, const ClientInfo& client,
                         std::span<const uint8_t> query, std::span<uint8_t> response) noexcept;

}  // namespace meridian::answer
