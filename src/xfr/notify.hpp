// NOTIFY (RFC 1996) as bytes: the message that tells a secondary a zone changed, and the reading
// of its reply. The server's notifier (server/notifier.hpp) sends them from the control loop.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "answer/snapshot.hpp"
#include "zone/zone.hpp"

namespace meridian::xfr {

// NOTIFY for `zone`: opcode 4, AA set, the question (origin, SOA, IN) and our SOA in the answer
// as the serial hint (RFC 1996 §3.7); signed with `key` when given.
std::vector<uint8_t> make_notify(const zone::Zone& zone, uint16_t id, const answer::TsigKey* key, uint64_t now_seconds);

// The rcode of a reply to our NOTIFY `id` (QR set, opcode NOTIFY, same ID); nullopt when the
// datagram is not that reply.
std::optional<uint16_t> read_notify_reply(std::span<const uint8_t> datagram, uint16_t id);

}  // namespace meridian::xfr
