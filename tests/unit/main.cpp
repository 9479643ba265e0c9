// The Catch2 entry point of the unit_tests binary; the tests live beside it in folders that
// mirror src/.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
