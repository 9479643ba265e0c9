// How failed checks print health values: states by name, transitions as "healthy → unhealthy
// (HTTP 503)". Included by every test that compares them, so each test binary sees one definition.
#pragma once

#include <optional>
#include <string>

#include <catch2/catch.hpp>

#include "health/state.hpp"
#include "health/target_health.hpp"

namespace Catch {

template <>
struct StringMaker<meridian::health::State> {
    static std::string convert(meridian::health::State state) { return meridian::health::to_string(state); }
};

template <>
struct StringMaker<std::optional<meridian::health::Transition>> {
    static std::string convert(const std::optional<meridian::health::Transition>& t) {
        if (!t) return "no transition";
        return std::string(meridian::health::to_string(t->from)) + " → " + meridian::health::to_string(t->to) + " (" +
               t->reason + ")";
    }
};

}  // namespace Catch
