// Fuzz target: the forecast state a restart reads back (adapt::Forecaster::from_json), which sits
// in a file an operator or a disk fault may have changed. Refusals are expected; a state that is
// accepted must write back to the same document and forecast finite numbers.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>

#include "adapt/forecast.hpp"
#include "fuzz_check.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    meridian::adapt::ForecastSettings settings;
    settings.bucket_seconds = 60;
    settings.season_buckets = 4;
    const std::string text(reinterpret_cast<const char*>(data), size);
    std::string error;
    const auto restored = meridian::adapt::Forecaster::from_json(text, settings, &error);
    if (!restored) {
        FUZZ_CHECK(!error.empty());
        return 0;
    }
    std::string again_error;
    const auto again = meridian::adapt::Forecaster::from_json(restored->to_json(), settings, &again_error);
    FUZZ_CHECK(again.has_value());
    FUZZ_CHECK(again->to_json() == restored->to_json());
    meridian::adapt::Forecaster next = *restored;
    next.observe(next.last_bucket() + 1, 10.0);
    (void)next.forecast(1);
    return 0;
}
