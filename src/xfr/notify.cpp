#include "xfr/notify.hpp"

#include "dns/message_writer.hpp"
#include "dns/wire.hpp"
#include "xfr/tsig.hpp"

namespace meridian::xfr {

std::vector<uint8_t> make_notify(const zone::Zone& zone, uint16_t id, const answer::TsigKey* key,
                                 uint64_t now_seconds) {
    std::vector<uint8_t> out(dns::kMaxMessageSize);
    dns::MessageWriter w(out);
    w.write_header(id, static_cast<uint16_t>((dns::opcode::NOTIFY << 11) | dns::flag::AA));
    const std::string_view origin = zone.origin();
    const auto* owner = reinterpret_cast<const uint8_t*>(origin.data());
    w.write_question(owner, origin.size(), dns::rrtype::SOA, dns::rrclass::IN);
    const zone::RRset* soa = zone.find_rrset(zone.apex(), dns::rrtype::SOA);
    const zone::Rdata& rdata = zone.rdatas(*soa)[0];
    w.add_record(dns::Section::answer, owner, origin.size(), dns::rrtype::SOA, dns::rrclass::IN, soa->ttl,
                 zone.bytes_of(rdata), rdata.size, soa->form);
    out.resize(w.finish());
    if (key != nullptr) {
        TsigSigner signer(*key, {}, now_seconds);
        signer.sign_request(&out);
    }
    return out;
}

std::optional<uint16_t> read_notify_reply(std::span<const uint8_t> datagram, uint16_t id) {
    if (datagram.size() < dns::kHeaderSize) return std::nullopt;
    const uint16_t flags = dns::read_u16(datagram.data() + 2);
    const bool is_reply = (flags & dns::flag::QR) != 0 && ((flags >> 11) & 0xF) == dns::opcode::NOTIFY;
    if (!is_reply || dns::read_u16(datagram.data()) != id) return std::nullopt;
    return static_cast<uint16_t>(flags & 0xF);
}

}  // namespace meridian::xfr
