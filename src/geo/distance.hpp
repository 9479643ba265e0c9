// Great-circle distance on a spherical Earth (haversine), for the `nearest` strategy.
#pragma once

#include <cmath>

namespace meridian::geo {

inline constexpr double kEarthRadiusKm = 6371.0088;  // mean radius (IUGG)

inline double great_circle_km(double lat1, double lon1, double lat2, double lon2) noexcept {
    constexpr double kRadians = 3.14159265358979323846 / 180.0;
    const double dlat = (lat2 - lat1) * kRadians;
    const double dlon = (lon2 - lon1) * kRadians;
    const double a = std::sin(dlat / 2) * std::sin(dlat / 2) +
                     std::cos(lat1 * kRadians) * std::cos(lat2 * kRadians) * std::sin(dlon / 2) * std::sin(dlon / 2);
    return 2 * kEarthRadiusKm * std::asin(std::sqrt(std::fmin(1.0, a)));
}

}  // namespace meridian::geo
