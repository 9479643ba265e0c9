// The continent of each ISO 3166-1 country, for databases that carry only the country.
#pragma once

#include <string_view>

namespace meridian::geo {

// Two-letter continent code (AF AN AS EU NA OC SA) or empty for an unknown country.
std::string_view continent_of_country(std::string_view iso_country) noexcept;

}  // namespace meridian::geo
