// Tests for the latency matrix file: what it accepts, and every error with its line.
#include <catch2/catch.hpp>

#include <string>

#include "adapt/latency_matrix.hpp"

using meridian::Diagnostics;
using meridian::adapt::LatencyMatrix;

TEST_CASE("a latency matrix: header, comments, blank lines, any case, the last of a pair wins") {
    Diagnostics d;
    const auto m = LatencyMatrix::parse(
        "country,region,rtt_ms\n# from RUM\n\nbr, us-east-1 , 118\r\nBR,sa_east.1,24.5\n"
        "BR,us-east-1,117\n",
        "m.csv", &d);
    INFO(d.format_all());
    REQUIRE(m);
    CHECK(m->size() == 2);
    CHECK(m->rtt_ms({'B', 'R'}, "us-east-1") == 117);
    CHECK(m->rtt_ms({'B', 'R'}, "sa_east.1") == 24.5);
    CHECK_FALSE(m->rtt_ms({'A', 'R'}, "us-east-1"));
}

TEST_CASE("every bad line of a latency matrix is an error with its line number, and the file is not used") {
    Diagnostics d;
    const auto m = LatencyMatrix::parse(
        "BR,us,10\nBRA,us,10\nBR,,10\nBR,us\nBR,us,10,4\nBR,us,0\nBR,us,-3\n"
        "BR,us,12ms\nBR,us,nan\nBR,us,60001\nB1,us,5\nBR,u s,5\n",
        "m.csv", &d);
    CHECK_FALSE(m);
    REQUIRE(d.items().size() == 11);
    for (uint32_t i = 0; i < 11; ++i) CHECK(d.items()[i].where.line == i + 2);
    CHECK(d.items()[0].format() == "m.csv:2: \"BRA\" is not an ISO 3166-1 alpha-2 country code");
    CHECK(d.items()[2].message == "expected country,region,rtt_ms");
}

TEST_CASE("a CR is allowed only at the end of a line (CRLF files), not inside a field") {
    Diagnostics d;
    CHECK_FALSE(LatencyMatrix::parse("BR,us\r\r,5\r\n", "m.csv", &d));
    REQUIRE(d.items().size() == 1);
    CHECK(d.items()[0].message == "\"us\\x0d\\x0d\" is not a region name");
}

TEST_CASE("a header elsewhere than the first line is an error; an over-long line too") {
    Diagnostics d;
    CHECK_FALSE(LatencyMatrix::parse("BR,us,10\ncountry,region,rtt_ms\n", "m.csv", &d));
    Diagnostics d2;
    CHECK_FALSE(LatencyMatrix::parse("BR,us,10\n" + std::string(5000, 'x') + "\n", "m.csv", &d2));
    REQUIRE(d2.items().size() == 1);
    CHECK(d2.items()[0].where.line == 2);
}

TEST_CASE("an unreadable latency matrix is an error naming the file") {
    Diagnostics d;
    CHECK_FALSE(LatencyMatrix::load("/nonexistent/meridian-matrix.csv", &d));
    REQUIRE(d.items().size() == 1);
    CHECK(d.items()[0].format() == "/nonexistent/meridian-matrix.csv: cannot read the latency matrix");
}
