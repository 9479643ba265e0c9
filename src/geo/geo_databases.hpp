// The set of databases a snapshot uses, consulted in order: the first database that knows a fact
// provides it (a City database, then an ASN database, say).
#pragma once

#include <memory>
#include <vector>

#include "geo/country_locations.hpp"
#include "geo/database.hpp"

namespace meridian::geo {

class GeoDatabases {
public:
    void add(std::shared_ptr<const Database> database) { databases_.push_back(std::move(database)); }
    bool empty() const noexcept { return databases_.empty(); }
    const std::vector<std::shared_ptr<const Database>>& databases() const noexcept { return databases_; }

    // Facts about `address`. facts.prefix_length is the longest network any database returned
    // (found or not): within that prefix every database gives the same answer, so the facts
    // hold for every address in it.
    Facts lookup(const IpAddress& address) const noexcept {
        Facts facts;
        uint8_t longest = 0;
        for (const auto& database : databases_) {
            const uint8_t prefix = database->lookup(address, &facts);
            if (prefix > longest) longest = prefix;
        }
        facts.prefix_length = longest;
        // Databases with only a country still serve `nearest`, approximately: the country's
        // capital stands in for the client.
        if (!facts.has_location && !facts.country.empty()) {
            if (const CountryLocation* place = location_of_country(facts.country.view())) {
                facts.has_location = true;
                facts.is_location_from_country = true;
                facts.latitude = place->latitude;
                facts.longitude = place->longitude;
            }
        }
        return facts;
    }

private:
    std::vector<std::shared_ptr<const Database>> databases_;
};

}  // namespace meridian::geo
