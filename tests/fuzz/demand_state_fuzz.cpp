// Fuzz target: the demand forecasts' state file as a whole (ops::DemandForecasts::read_state):
// the document that names each series ("region ZONE ID", "name ZONE OWNER") around the
// per-series forecaster state (fuzzed on its own by forecast_state). Bad series are warned about
// and skipped; what it keeps writes out to a text that reads back to the same series and the
// same text. (Its warnings go to stderr: run the fuzzer with -close_fd_mask=2 for speed.)
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_check.hpp"
#include "ops/demand_forecasts.hpp"

namespace {

meridian::config::ForecastConfig config() {
    meridian::config::ForecastConfig c;
    c.bucket_ms = 60000;
    c.season_ms = 240000;  // four buckets, as in forecast_state's corpus
    return c;              // no state_file: in memory only
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string text(reinterpret_cast<const char*>(data), size);
    meridian::ops::DemandForecasts first(config());
    const std::size_t kept = first.read_state(text, "fuzz.json");
    const auto written = first.state_text();
    if (!written) return 0;  // nothing observed in what was kept
    FUZZ_CHECK(kept > 0);
    meridian::ops::DemandForecasts second(config());
    FUZZ_CHECK(second.read_state(*written, "again.json") > 0);
    const auto again = second.state_text();
    FUZZ_CHECK(again.has_value());
    FUZZ_CHECK(*again == *written);
    return 0;
}
