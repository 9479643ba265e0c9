// Answering as a pure function: query bytes + snapshot + client facts → response bytes.
// noexcept, no allocation, no locks, no I/O; the server calls it for every packet.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include <sys/socket.h>

#include "answer/online_signer.hpp"
#include "answer/outcome.hpp"
#include "answer/snapshot.hpp"
#include "common/random.hpp"
#include "steer/decide.hpp"

namespace meridian::answer {

enum class Transport : uint8_t { udp, tcp };

struct ClientInfo {
    Transport transport = Transport::udp;
    const sockaddr* source = nullptr;  // the packet's source address
    Random* random = nullptr;          // the worker's generator; null: kFixedSeed (tests, explain)
    steer::Trace* trace = nullptr;     // filled by steered answers for the explain tools only
    Outcome* outcome = nullptr;        // filled when given: what happened, for the counters
    // Steered answers: locate the client (its country, in the outcome) even when the decision
    // did not need to; the worker asks for a sample of queries (stats::ClientSamples).
    bool wants_location = false;
    // The TXT rdata answering an "_explain.NAME TXT" query, made outside the core (explain::
    // explain_txt); empty: such a query is REFUSED and Outcome::is_explain_request set.
    std::span<const uint8_t> explanation = {};
    // Signed zones: the worker's signature cache and budget for what is signed while answering
    // (steered answers, wildcard expansions, denials); null: signed without a cache or budget
    // (tools, tests). `now_ms` is the worker's loop clock, for the budget.
    OnlineSigner* signer = nullptr;
    uint64_t now_ms = 0;
};

// The seed of the generator weighted choices use when ClientInfo::random is null, so that every
// explanation (meridiand explain, the admin API, _explain TXT) draws the same.
inline constexpr uint64_t kFixedSeed = 0x5eed;

// Writes the response into `response` (which must hold at least 65535 bytes for TCP and the
// configured UDP cap for UDP) and returns its size, or 0 when the query gets no answer.
std::size_t answer_query(const Snapshot& snapshot, const ClientInfo& client, std::span<const uint8_t> query,
                         std::span<uint8_t> response) noexcept;

}  // namespace meridian::answer
