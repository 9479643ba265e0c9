// The one way Meridian includes ldns: its header defines `bool` as a macro unless stdbool.h
// came first, which breaks C++ headers included after it. Also RAII owners for its objects.
#pragma once

#include <stdbool.h>  // NOLINT(modernize-deprecated-headers): must precede ldns.h, see above

#include <ldns/ldns.h>

#include <memory>

namespace meridian::ldns {

struct RdfDeleter {
    void operator()(ldns_rdf* rdf) const { ldns_rdf_deep_free(rdf); }
};
struct RrDeleter {
    void operator()(ldns_rr* rr) const { ldns_rr_free(rr); }
};
struct BufferDeleter {
    void operator()(ldns_buffer* buffer) const { ldns_buffer_free(buffer); }
};
struct PacketDeleter {
    void operator()(ldns_pkt* packet) const { ldns_pkt_free(packet); }
};
using RdfPtr = std::unique_ptr<ldns_rdf, RdfDeleter>;
using RrPtr = std::unique_ptr<ldns_rr, RrDeleter>;
using BufferPtr = std::unique_ptr<ldns_buffer, BufferDeleter>;
using PacketPtr = std::unique_ptr<ldns_pkt, PacketDeleter>;

}  // namespace meridian::ldns
