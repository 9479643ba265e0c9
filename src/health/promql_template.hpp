// A PromQL template of a `prometheus` check, expanded for one region: {region}, {zone} and
// {label:KEY} (the region's `labels`). Pure string work, in the health layer so that the zone
// loader can refuse a template it cannot expand and the prober can expand it.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace meridian::health {

// What a PromQL template may name. Zone and region names and label values come from the config.
struct PromqlContext {
    std::string zone;  // a trailing dot is dropped when expanded
    std::string region;
    std::vector<std::pair<std::string, std::string>> labels;  // the region's labels, key → value
};

// Expands a PromQL template: {region} → the region's name, {zone} → the zone's name without its
// trailing dot, {label:KEY} → the value of the region's label KEY. Values are escaped for use
// inside a PromQL double-quoted string (backslash, double quote, line feed, CR, tab), not for a
// regex. Braces that are not `{name}` or `{name:…}` (label matchers, `{}`, regex repeats) are
// PromQL's and kept. False with *error for an unknown placeholder, a label the region does not
// have, or an empty template; *out is set only on success.
bool expand_promql(std::string_view templ, const PromqlContext& context, std::string* out, std::string* error);

}  // namespace meridian::health
