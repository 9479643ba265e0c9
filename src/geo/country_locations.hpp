// An approximate location (the capital) for each ISO 3166-1 country, so that the `nearest`
// strategy works with databases that carry only the country.
#pragma once

#include <string_view>

namespace meridian::geo {

// Approximate location (the capital) of a country, for databases without coordinates.
struct CountryLocation {
    double latitude;
    double longitude;
};

// nullptr for an unknown code. `iso_country` is upper-case alpha-2.
const CountryLocation* location_of_country(std::string_view iso_country) noexcept;

}  // namespace meridian::geo
