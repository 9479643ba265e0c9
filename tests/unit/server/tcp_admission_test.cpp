// Server-wide TCP caps: in total and per source, with slots given back on release.
#include <catch2/catch.hpp>

#include <netinet/in.h>

#include <vector>

#include "geo/address.hpp"
#include "server/tcp_admission.hpp"

namespace {

sockaddr_storage peer(const char* address) {
    sockaddr_storage s{};
    meridian::geo::to_sockaddr(*meridian::geo::parse_address(address), &s);
    return s;
}

const sockaddr* as_sockaddr(const sockaddr_storage& s) { return reinterpret_cast<const sockaddr*>(&s); }

}  // namespace

TEST_CASE("tcp admission caps each source and gives slots back on release", "[server]") {
    meridian::server::TcpAdmission admission(100, 2);
    const auto a = peer("192.0.2.1");
    const auto b = peer("192.0.2.2");
    const int first = admission.admit(as_sockaddr(a));
    const int second = admission.admit(as_sockaddr(a));
    CHECK(first >= 0);
    CHECK(second >= 0);
    CHECK(admission.admit(as_sockaddr(a)) == -1);
    CHECK(admission.admit(as_sockaddr(b)) >= 0);
    CHECK(admission.open() == 3);
    admission.release(first);
    CHECK(admission.admit(as_sockaddr(a)) >= 0);
    admission.release(-1);  // a refused connection has nothing to give back
    CHECK(admission.open() == 3);
}

TEST_CASE("tcp admission caps the total over every source", "[server]") {
    meridian::server::TcpAdmission admission(3, 10);
    std::vector<int> tickets;
    for (const char* a : {"198.51.100.1", "198.51.100.2", "198.51.100.3"}) tickets.push_back(admission.admit(as_sockaddr(peer(a))));
    for (const int t : tickets) CHECK(t >= 0);
    CHECK(admission.admit(as_sockaddr(peer("198.51.100.4"))) == -1);
    admission.release(tickets[0]);
    CHECK(admission.admit(as_sockaddr(peer("198.51.100.4"))) >= 0);
}

TEST_CASE("tcp admission counts an IPv6 client per /64", "[server]") {
    meridian::server::TcpAdmission admission(100, 1);
    CHECK(admission.admit(as_sockaddr(peer("2001:db8:1:2::1"))) >= 0);
    CHECK(admission.admit(as_sockaddr(peer("2001:db8:1:2::ffff"))) == -1);  // same /64
    CHECK(admission.admit(as_sockaddr(peer("2001:db8:1:3::1"))) >= 0);
}
