#include "xfr/transfer.hpp"

#include <algorithm>
#include <array>
#include <map>
#include <optional>
#include <span>

#include "answer/answer.hpp"
#include "answer/sections.hpp"
#include "dns/message_writer.hpp"
#include "dns/name.hpp"
#include "dns/query.hpp"
#include "dns/wire.hpp"
#include "dnssec/nsec.hpp"
#include "dnssec/sign.hpp"
#include "steer/decide.hpp"
#include "xfr/tsig.hpp"
#include "zone/signing.hpp"

namespace meridian::xfr {

namespace {

namespace rrtype = dns::rrtype;
namespace rcode = dns::rcode;

// Room a TSIG record takes after a message: the key name, the fixed fields, the algorithm, the
// MAC and six bytes of other data (BADTIME).
std::size_t tsig_room(const answer::TsigKey* key) {
    return key == nullptr ? 0 : key->name.size() + 10 + kHmacSha256.size() + 16 + kMacSize + 6;
}

// A reply with the question echoed and, when `soa` is given, the zone's SOA in the answer.
std::vector<uint8_t> short_reply(const dns::Query& query, std::span<const uint8_t> packet, uint16_t rc,
                                 const zone::Zone* soa_zone = nullptr) {
    std::vector<uint8_t> out(dns::kMaxMessageSize);
    dns::MessageWriter w(out);
    const auto copied = static_cast<uint16_t>(query.flags & (dns::flag::RD | dns::flag::CD));
    auto flags = static_cast<uint16_t>(dns::flag::QR | (query.opcode << 11) | copied | (rc & 0xF));
    if (soa_zone != nullptr) flags |= dns::flag::AA;
    w.write_header(query.id, flags);
    if (query.has_question)
        w.write_question(packet.data() + dns::kHeaderSize, query.qname_size, query.qtype, query.qclass);
    if (soa_zone != nullptr) {
        const zone::RRset* soa = soa_zone->find_rrset(soa_zone->apex(), rrtype::SOA);
        const zone::Rdata& rdata = soa_zone->rdatas(*soa)[0];
        const std::string_view origin = soa_zone->origin();
        w.add_record(dns::Section::answer, reinterpret_cast<const uint8_t*>(origin.data()), origin.size(), rrtype::SOA,
                     dns::rrclass::IN, soa->ttl, soa_zone->bytes_of(rdata), rdata.size, soa->form);
    }
    out.resize(w.finish());
    return out;
}

// The serial of the SOA an IXFR query carries in its authority section (RFC 1995 §3).
std::optional<uint32_t> ixfr_client_serial(std::span<const uint8_t> packet, const dns::Query& query) {
    const uint8_t* p = packet.data();
    std::size_t pos = query.question_end;
    const unsigned skip = dns::read_u16(p + 6);
    if (dns::read_u16(p + 8) == 0) return std::nullopt;
    for (unsigned i = 0; i <= skip; ++i) {
        if (dns::skip_name(p, packet.size(), &pos) != dns::NameError::none || packet.size() - pos < 10)
            return std::nullopt;
        const uint16_t type = dns::read_u16(p + pos);
        const std::size_t rdlength = dns::read_u16(p + pos + 8);
        pos += 10;
        if (packet.size() - pos < rdlength) return std::nullopt;
        if (i < skip) {
            pos += rdlength;
            continue;
        }
        if (type != rrtype::SOA) return std::nullopt;
        std::size_t at = pos;
        if (dns::skip_name(p, packet.size(), &at) != dns::NameError::none ||
            dns::skip_name(p, packet.size(), &at) != dns::NameError::none || at + 4 > pos + rdlength)
            return std::nullopt;
        return dns::read_u32(p + at);
    }
    return std::nullopt;
}

// Serial number arithmetic (RFC 1982 §3.2): is `a` newer than `b`?
bool is_newer(uint32_t a, uint32_t b) noexcept { return a != b && static_cast<int32_t>(a - b) > 0; }

class TransferWriter {
public:
    TransferWriter(std::span<const uint8_t> question, uint16_t id, std::size_t max_size)
        : question_(question), id_(id), max_size_(max_size) {
        start();
    }

    // Adds one RRset whole, in a new message when it does not fit this one; false when it fits
    // no message at all.
    bool add(const answer::RRsetRef& rrset) {
        for (int attempt = 0; attempt < 2; ++attempt) {
            answer::Sections sections;
            sections.add(dns::Section::answer, rrset);
            if (!sections.encode(writer_.get())) return true;
            if (writer_->count(dns::Section::answer) == 0) return false;
            end_message();
            start();
        }
        return false;
    }

    std::vector<std::vector<uint8_t>> finish(std::size_t* records) {
        end_message();
        *records = records_;
        return std::move(messages_);
    }

private:
    void start() {
        buffer_.assign(dns::kMaxMessageSize, 0);
        writer_ = std::make_unique<dns::MessageWriter>(buffer_);
        writer_->set_limit(max_size_);
        writer_->write_header(id_, dns::flag::QR | dns::flag::AA);
        // The question in the first message only (RFC 5936 §2.2.1 allows it to be left out after).
        if (messages_.empty() && question_.size() > 4) {
            writer_->write_question(question_.data(), question_.size() - 4,
                                    dns::read_u16(question_.data() + question_.size() - 4),
                                    dns::read_u16(question_.data() + question_.size() - 2));
        }
    }
    void end_message() {
        records_ += writer_->count(dns::Section::answer);
        buffer_.resize(writer_->finish());
        messages_.push_back(std::move(buffer_));
        buffer_.clear();
    }

    std::span<const uint8_t> question_;
    uint16_t id_;
    std::size_t max_size_;
    std::vector<uint8_t> buffer_;
    std::unique_ptr<dns::MessageWriter> writer_;
    std::vector<std::vector<uint8_t>> messages_;
    std::size_t records_ = 0;
};

answer::RRsetRef zone_rrset(const zone::Zone& zone, const zone::Node& node, const zone::RRset& set) {
    const std::string_view name = zone.name_of(node);
    answer::RRsetRef r;
    r.owner = reinterpret_cast<const uint8_t*>(name.data());
    r.owner_size = name.size();
    r.type = set.type;
    r.ttl = set.ttl;
    r.form = set.form;
    r.zone = &zone;
    r.set = &set;
    return r;
}

// Signed zones: what a secondary needs to serve the zone signed without signing anything itself
// (RFC 4035 §2): every RRset with its RRSIGs and a classic NSEC chain over the names that hold
// data (RFC 4034 §4; compact denial is for answers made online, not for a zone at rest).
class TransferSigner {
public:
    explicit TransferSigner(const zone::Zone& zone) : zone_(zone), signing_(zone.signing()) {}

    bool is_signed() const noexcept { return signing_ != nullptr; }

    // The zone's own signatures of a zone RRset.
    void attach(answer::RRsetRef* r, const zone::RRset& set) const {
        if (signing_ != nullptr) answer::attach_zone_signatures(r, zone_, set);
    }

    // Signs `r` (one RRset whose records are given as `rdatas`, names lower-cased) now, keeping
    // the signatures until the next call; false when signing fails.
    bool sign(answer::RRsetRef* r, std::string_view owner, uint32_t original_ttl,
              const std::vector<std::span<const uint8_t>>& rdatas) {
        if (signing_ == nullptr) return true;
        const dnssec::RRsetToSign rrset{
            {reinterpret_cast<const uint8_t*>(owner.data()), owner.size()}, r->type, r->rrclass, original_ttl, rdatas};
        signatures_.assign(signing_->zone_signers.size(), {});
        for (std::size_t i = 0; i < signing_->zone_signers.size() && i < r->rrsigs.size(); ++i) {
            std::vector<uint8_t>& out = signatures_[i];
            out.resize(dnssec::kMaxRrsigRdataSize);
            out.resize(dnssec::sign(*signing_->zone_signers[i], rrset, signing_->window, out));
            if (out.empty()) return false;
            r->rrsigs[r->rrsig_count++] = out;
        }
        return true;
    }

    // Remembers that `types` were transferred at `node`, for its NSEC.
    void note(uint32_t node, uint16_t type) {
        if (signing_ != nullptr) types_[node].push_back(type);
    }

    // The NSEC chain: one NSEC per name that holds data, each naming the next in canonical order
    // (RFC 4034 §6.1), the last the apex; glue has none (it is not the zone's).
    bool add_chain(TransferWriter* out) {
        if (signing_ == nullptr) return true;
        std::vector<uint32_t> names;
        for (const auto& [node, types] : types_) {
            if (!zone_.node(node).is_below_cut) names.push_back(node);
        }
        std::sort(names.begin(), names.end(), [&](uint32_t a, uint32_t b) {
            return canonical_less(zone_.name_of(zone_.node(a)), zone_.name_of(zone_.node(b)));
        });
        for (std::size_t i = 0; i < names.size(); ++i) {
            const std::string_view owner = zone_.name_of(zone_.node(names[i]));
            const std::string_view next = zone_.name_of(zone_.node(names[(i + 1) % names.size()]));
            std::vector<uint16_t> types = types_[names[i]];
            types.push_back(rrtype::RRSIG);
            types.push_back(rrtype::NSEC);
            std::vector<uint8_t> rdata(next.begin(), next.end());
            uint8_t bitmap[dnssec::kMaxBitmapSize];
            rdata.insert(rdata.end(), bitmap, bitmap + dnssec::write_type_bitmap(types, bitmap));
            answer::RRsetRef r;
            r.owner = reinterpret_cast<const uint8_t*>(owner.data());
            r.owner_size = owner.size();
            r.type = rrtype::NSEC;
            r.ttl = zone_.negative_ttl();  // RFC 9077
            r.rdata = rdata.data();
            r.rdata_size = rdata.size();
            if (!sign(&r, owner, r.ttl, {std::span<const uint8_t>(rdata)}) || !out->add(r)) return false;
        }
        return true;
    }

private:
    // Canonical order of lower-case wire names: label by label from the right (RFC 4034 §6.1).
    static bool canonical_less(std::string_view a, std::string_view b) {
        std::array<uint8_t, dns::kMaxLabels> la;
        std::array<uint8_t, dns::kMaxLabels> lb;
        const std::size_t na = dns::label_offsets(reinterpret_cast<const uint8_t*>(a.data()), a.size(), &la);
        const std::size_t nb = dns::label_offsets(reinterpret_cast<const uint8_t*>(b.data()), b.size(), &lb);
        for (std::size_t k = 1; k <= std::min(na, nb); ++k) {
            const std::string_view x = a.substr(la[na - k] + 1u, static_cast<uint8_t>(a[la[na - k]]));
            const std::string_view y = b.substr(lb[nb - k] + 1u, static_cast<uint8_t>(b[lb[nb - k]]));
            if (x != y)
                return std::lexicographical_compare(x.begin(), x.end(), y.begin(), y.end(), [](char p, char q) {
                    return static_cast<uint8_t>(p) < static_cast<uint8_t>(q);
                });
        }
        return na < nb;
    }

    const zone::Zone& zone_;
    const zone::Signing* signing_;
    std::vector<std::vector<uint8_t>> signatures_;
    std::map<uint32_t, std::vector<uint16_t>> types_;
};

}  // namespace

bool is_allowed(const answer::ZoneTransfer& transfer, const sockaddr* source) noexcept {
    const geo::IpAddress address = geo::from_sockaddr(source);
    if (!address.is_valid()) return false;
    return std::any_of(transfer.allow.begin(), transfer.allow.end(),
                       [&](const geo::Network& n) { return n.contains(address); });
}

std::vector<std::vector<uint8_t>> build_transfer(const zone::ServedZone& served,
                                                 std::span<const uint8_t> query_question, uint16_t id,
                                                 std::size_t max_message_size, std::size_t* records) {
    const zone::Zone& zone = served.zone();
    const steer::Policy& policy = zone.policy();
    TransferWriter out(query_question, id, max_message_size);
    TransferSigner signer(zone);
    const zone::RRset* soa = zone.find_rrset(zone.apex(), rrtype::SOA);
    answer::RRsetRef soa_ref = zone_rrset(zone, zone.apex(), *soa);
    signer.attach(&soa_ref, *soa);
    bool ok = out.add(soa_ref);
    signer.note(static_cast<uint32_t>(&zone.apex() - &zone.node(0)), rrtype::SOA);
    // Steered names get what a client nobody can locate gets now: no ECS, an address the
    // databases do not know, the current health and feedback boards, the fixed seed of the
    // explain tools for weighted choices (so two transfers of one state are the same).
    Random random(answer::kFixedSeed);
    const steer::ClientAddress nowhere{};
    const steer::Boards boards{&served.runtime->health(), &served.runtime->feedback()};
    for (std::size_t i = 0; i < zone.node_count() && ok; ++i) {
        const zone::Node& node = zone.node(static_cast<uint32_t>(i));
        const std::string_view name = zone.name_of(node);
        bool is_cname = false;
        std::array<steer::Decision, 2> decisions;
        if (node.steered != zone::kNoNode) {
            const steer::SteeredName& steered = policy.names[node.steered];
            for (std::size_t f = 0; f < 2 && ok && !is_cname; ++f) {
                const uint16_t type = f == 0 ? rrtype::A : rrtype::AAAA;
                steer::Decision& decision = decisions[f];
                decision = steer::decide(policy, boards, steered, type, nowhere, nullptr, &random, nullptr);
                answer::RRsetRef r;
                r.owner = reinterpret_cast<const uint8_t*>(name.data());
                r.owner_size = name.size();
                r.ttl = decision.ttl;
                const std::string* cname = decision.cname;
                if (cname == nullptr && decision.count > 0 && !policy.regions[decision.regions[0]].cname.empty())
                    cname = &policy.regions[decision.regions[0]].cname;
                if (cname != nullptr) {
                    // A name with a CNAME has no other data (RFC 2181 §10.1): only A asks it.
                    if (f == 1) break;
                    r.type = rrtype::CNAME;
                    r.form = dns::RdataForm::name;
                    r.rdata = reinterpret_cast<const uint8_t*>(cname->data());
                    r.rdata_size = cname->size();
                    std::vector<uint8_t> lower(cname->begin(), cname->end());
                    dns::lowercase_name(lower.data(), lower.size());
                    ok = signer.sign(&r, name, steered.ttl, {std::span<const uint8_t>(lower)}) && out.add(r);
                    signer.note(static_cast<uint32_t>(i), rrtype::CNAME);
                    is_cname = true;
                    continue;
                }
                if (decision.count == 0) continue;
                r.type = type;
                r.policy = &policy;
                r.regions = decision.regions.data();
                r.region_count = decision.count;
                r.health = &served.runtime->health();
                // A region with no address of this family adds nothing: skip an empty RRset.
                bool has_any = false;
                for (std::size_t k = 0; k < decision.count; ++k) {
                    const steer::Region& region = policy.regions[decision.regions[k]];
                    has_any = has_any || !(type == rrtype::A ? region.ipv4.empty() : region.ipv6.empty());
                }
                if (!has_any) continue;
                if (signer.is_signed()) {
                    // The addresses as written, so that what is signed is what is sent.
                    std::vector<uint8_t> bytes;
                    const std::size_t size = type == rrtype::A ? 4 : 16;
                    answer::each_steered_address(r, [&](const uint8_t* address, std::size_t) {
                        bytes.insert(bytes.end(), address, address + size);
                        return true;
                    });
                    std::vector<std::span<const uint8_t>> rdatas;
                    for (std::size_t at = 0; at < bytes.size(); at += size)
                        rdatas.emplace_back(bytes.data() + at, size);
                    r.policy = nullptr;
                    r.rdata = bytes.data();
                    r.rdata_size = bytes.size();
                    r.record_size = static_cast<uint16_t>(size);
                    ok = signer.sign(&r, name, steered.ttl, rdatas) && out.add(r);
                } else {
                    ok = out.add(r);
                }
                signer.note(static_cast<uint32_t>(i), type);
            }
        }
        for (const zone::RRset& set : zone.rrsets(node)) {
            if (!ok || is_cname) break;
            if (node.is_apex && set.type == rrtype::SOA) continue;
            const bool is_steered_type = set.type == rrtype::A || set.type == rrtype::AAAA || set.type == rrtype::CNAME;
            if (node.steered != zone::kNoNode && is_steered_type) continue;
            answer::RRsetRef r = zone_rrset(zone, node, set);
            signer.attach(&r, set);
            ok = out.add(r);
            signer.note(static_cast<uint32_t>(i), set.type);
        }
    }
    if (ok) ok = signer.add_chain(&out);
    if (ok) ok = out.add(soa_ref);
    auto messages = out.finish(records);
    if (!ok) {
        messages.clear();
        *records = 0;
    }
    return messages;
}

Reply serve(const answer::Snapshot& snapshot, const Request& request) {
    Reply reply;
    const std::span<const uint8_t> packet = request.query;
    dns::Query query;
    if (dns::read_query(packet, &query) != dns::QueryStatus::ok) return reply;
    const bool is_transfer = query.qtype == rrtype::AXFR || query.qtype == rrtype::IXFR;
    const answer::AnswerSettings& settings = snapshot.settings;

    // TSIG first: a request whose signature fails gets NOTAUTH, whatever it asked (RFC 8945 §5.2).
    std::optional<TsigSigner> signer;
    const answer::TsigKey* key = nullptr;
    if (query.tsig_offset != 0) {
        Verified v = verify_request(packet, query.tsig_offset, settings.tsig_keys, request.now_seconds);
        switch (v.status) {
        case TsigStatus::formerr:
            reply.messages.push_back(short_reply(query, packet, rcode::FORMERR));
            reply.verdict = Verdict::tsig_error;
            return reply;
        case TsigStatus::badkey:
        case TsigStatus::badsig: {
            // Errors of the key or the MAC are answered unsigned (RFC 8945 §5.3.2).
            std::vector<uint8_t> message = short_reply(query, packet, rcode::NOTAUTH);
            append_unsigned_tsig(&message, v.record,
                                 v.status == TsigStatus::badkey ? tsig_error::BADKEY : tsig_error::BADSIG);
            reply.messages.push_back(std::move(message));
            reply.verdict = Verdict::tsig_error;
            return reply;
        }
        case TsigStatus::badtime: {
            // A time error is signed, with our time in the other data (RFC 8945 §5.2.3, §5.3.2).
            std::vector<uint8_t> message = short_reply(query, packet, rcode::NOTAUTH);
            std::array<uint8_t, 6> now{};
            for (int k = 0; k < 6; ++k)
                now[static_cast<std::size_t>(k)] = static_cast<uint8_t>(request.now_seconds >> (40 - 8 * k));
            TsigSigner badtime(*v.key, v.record.mac, v.record.time_signed);
            badtime.sign(&message, tsig_error::BADTIME, now);
            reply.messages.push_back(std::move(message));
            reply.verdict = Verdict::tsig_error;
            return reply;
        }
        case TsigStatus::ok:
            key = v.key;
            signer.emplace(*v.key, v.record.mac, request.now_seconds);
            break;
        }
    }
    auto finish = [&](Verdict verdict) {
        if (signer) {
            for (auto& message : reply.messages) signer->sign(&message);
        }
        reply.verdict = verdict;
        return reply;
    };

    if (!is_transfer) {
        // A signed ordinary query: the core's answer, signed.
        if (request.core_response.size() < dns::kHeaderSize) return reply;
        reply.messages.emplace_back(request.core_response.begin(), request.core_response.end());
        return finish(Verdict::signed_reply);
    }

    const zone::ServedZone* served = snapshot.zones.find_origin(query.qname_lower.view());
    if (served == nullptr) {
        // Not a zone of ours (RFC 5936 §2.2.1: NotAuth for a zone the server does not serve).
        reply.messages.push_back(short_reply(query, packet, rcode::NOTAUTH));
        return finish(Verdict::refused);
    }
    const auto transfer = settings.transfers.find(std::string(served->zone().origin()));
    const bool is_permitted = transfer != settings.transfers.end() && is_allowed(transfer->second, request.source) &&
                              (transfer->second.key.empty() || (key != nullptr && key->name == transfer->second.key));
    if (!is_permitted) {
        // Policy says no: REFUSED (RFC 5936 §2.2.1), signed when the request was.
        reply.messages.push_back(short_reply(query, packet, rcode::REFUSED));
        return finish(Verdict::refused);
    }
    if (!request.is_tcp) {
        if (query.qtype == rrtype::AXFR) {
            // AXFR over UDP is not defined (RFC 5936 §4.2: "AXFR sessions over UDP transport are
            // not defined"): a kind of query we do not implement, NOTIMP (RFC 1035 §4.1.1).
            reply.messages.push_back(short_reply(query, packet, rcode::NOTIMP));
            return finish(Verdict::refused);
        }
        // IXFR over UDP: our SOA alone tells the client to ask again over TCP (RFC 1995 §2).
        reply.messages.push_back(short_reply(query, packet, rcode::NOERROR, &served->zone()));
        return finish(Verdict::up_to_date);
    }
    if (query.qtype == rrtype::IXFR) {
        const auto client_serial = ixfr_client_serial(packet, query);
        if (!client_serial) {
            reply.messages.push_back(short_reply(query, packet, rcode::FORMERR));
            return finish(Verdict::refused);
        }
        // Up to date: the single SOA (RFC 1995 §2); else the whole zone, AXFR-style (§4).
        if (!is_newer(served->zone().serial(), *client_serial)) {
            reply.messages.push_back(short_reply(query, packet, rcode::NOERROR, &served->zone()));
            return finish(Verdict::up_to_date);
        }
    }
    const std::span<const uint8_t> question = packet.subspan(dns::kHeaderSize, query.question_end - dns::kHeaderSize);
    reply.messages = build_transfer(*served, question, query.id, dns::kMaxMessageSize - tsig_room(key), &reply.records);
    if (reply.messages.empty()) {
        reply.messages.push_back(short_reply(query, packet, rcode::SERVFAIL));
        return finish(Verdict::refused);
    }
    return finish(Verdict::transfer);
}

void Counters::count(Verdict verdict) noexcept {
    switch (verdict) {
    case Verdict::transfer: transfers.fetch_add(1, std::memory_order_relaxed); break;
    case Verdict::up_to_date: up_to_date.fetch_add(1, std::memory_order_relaxed); break;
    case Verdict::refused: refused.fetch_add(1, std::memory_order_relaxed); break;
    case Verdict::tsig_error: tsig_errors.fetch_add(1, std::memory_order_relaxed); break;
    case Verdict::signed_reply: break;
    }
}

}  // namespace meridian::xfr
