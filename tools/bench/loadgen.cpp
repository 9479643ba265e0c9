// loadgen: an open-loop DNS load generator for loopback benchmarks (tools/bench/README.md).
//
//   loadgen --target 127.0.0.1:5300 --gen ecs --rate 100000 --duration 10 [--server-pid PID]
//
// UDP: several sockets, sendmmsg/recvmmsg batches, queries sent on schedule whether or not
// answers come back (open loop), matched to answers by socket, ID and question. TCP: N
// connections with M queries in flight each, two-byte framing. Answers are checked before
// anything is timed; a wrong answer stops the run (exit 3). Prints one JSON line on stdout and
// a summary for people on stderr.
#include <sys/types.h>
#include <unistd.h>

#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "load.hpp"
#include "queries.hpp"
#include "wire.hpp"

namespace {

using namespace bench;

constexpr const char* kDefaultSteer =
    "EU=192.0.2.110,NA=198.51.100.10,SA=198.51.100.30,AF=192.0.2.140,AS=203.0.113.10,OC=203.0.113.30,*=198.51.100.99";

constexpr const char* kUsage = R"(usage: loadgen --target ADDR:PORT (--gen WORKLOAD | --queries FILE) [options]

Target and sources (loopback only: 127.0.0.0/8, ::1)
  --target ADDR:PORT        the server under test, e.g. 127.0.0.1:5300 or [::1]:5300
  --sources A,B,...         local addresses the sockets bind to, in turn
                            (default 127.0.0.1,127.0.0.2,127.0.0.3,127.0.0.4; ::1 for an IPv6 target)
Queries
  --gen WORKLOAD            static | ecs | noecs | nxdomain, or several joined with '+';
                            signed-WORKLOAD: the same with DO set, answers must carry RRSIGs
  --queries FILE            one a line: name type [ecs-subnet] [noedns] [do] [rcode=R] [a=A,B|a=@source]
  --zone NAME               zone of generated queries (bench.example.com)
  --geo-csv FILE            networks and continents for ecs/noecs (geoip/test-geo.csv)
  --steer MAP               continent=address of the steered name, *=default (the bench zone's)
  --static-a ADDR           the A record of www (192.0.2.10)
  --nx-names N              distinct NXDOMAIN names (100000)
  --seed N                  of the NXDOMAIN names (1): another seed, other names
  --subnets-per-network N   /24s taken from each shorter network of the CSV (16)
  --no-edns                 plain queries (ECS queries keep their OPT)
  --write-queries FILE      write the query set (file format above) and exit
Load
  --rate QPS                queries per second, 0 = as fast as it can (0)
  --duration S              seconds of sending (10); 0 = until --count
  --count N                 queries to send (0 = until --duration)
  --sockets N               UDP sockets (16)        --batch N   datagrams per syscall (32)
  --tcp                     TCP instead of UDP      --connections N (8)   --inflight M (32)
  --timeout-ms T            answers later than this are lost (1000)
  --drain-ms T              wait this long for answers after the last query (= timeout)
Checks and measures
  --no-verify               do not check answers first     --verify-only  check, then exit
  --verify-max N            distinct queries checked (300)
  --wait-ready S            first wait up to S seconds for the server to answer
  --ready-only              only that: exit 0 once it answers (anything), 2 if it does not
  --server-pid PID          report this process tree's CPU time per answered query
  --label TEXT              copied into the JSON line
  --quiet                   no summary on stderr
Exit: 0 done, 1 usage or setup error, 2 server not ready, 3 wrong answers.
)";

struct Args {
    std::string target;
    std::string sources;
    std::string gen;
    std::string queries_file;
    std::string write_queries;
    std::string label;
    std::string steer = kDefaultSteer;
    std::string geo_csv = "geoip/test-geo.csv";
    GenOptions gen_options;
    LoadOptions load;
    bool tcp = false;
    bool verify = true;
    bool verify_only = false;
    bool ready_only = false;
    std::size_t verify_max = 300;
    double wait_ready = 0;
    bool quiet = false;
    bool drain_set = false;
};

[[noreturn]] void usage_error(const std::string& message) {
    std::fprintf(stderr, "loadgen: %s\n\n%s", message.c_str(), kUsage);
    std::exit(1);
}

double number(const std::string& option, const char* text) {
    char* end = nullptr;
    const double value = std::strtod(text, &end);
    if (end == text || *end != '\0' || value < 0) usage_error(option + " needs a non-negative number");
    return value;
}

Args parse_args(int argc, char** argv) {
    Args a;
    for (int i = 1; i < argc; ++i) {
        const std::string option = argv[i];
        auto value = [&]() -> const char* {
            if (i + 1 >= argc) usage_error(option + " needs a value");
            return argv[++i];
        };
        if (option == "--help" || option == "-h") {
            std::fputs(kUsage, stdout);
            std::exit(0);
        } else if (option == "--target") a.target = value();
        else if (option == "--sources") a.sources = value();
        else if (option == "--gen") a.gen = value();
        else if (option == "--queries") a.queries_file = value();
        else if (option == "--zone") a.gen_options.zone = value();
        else if (option == "--geo-csv") a.geo_csv = value();
        else if (option == "--steer") a.steer = value();
        else if (option == "--static-a") {
            const auto address = parse_v4(value());
            if (!address) usage_error("--static-a needs an IPv4 address");
            a.gen_options.static_a = *address;
        } else if (option == "--nx-names") a.gen_options.nx_names = static_cast<unsigned>(number(option, value()));
        else if (option == "--seed") a.gen_options.seed = static_cast<uint64_t>(number(option, value()));
        else if (option == "--subnets-per-network")
            a.gen_options.subnets_per_network = static_cast<unsigned>(number(option, value()));
        else if (option == "--no-edns") a.gen_options.edns = false;
        else if (option == "--write-queries") a.write_queries = value();
        else if (option == "--rate") a.load.rate = number(option, value());
        else if (option == "--duration") a.load.duration = number(option, value());
        else if (option == "--count") a.load.count = static_cast<uint64_t>(number(option, value()));
        else if (option == "--sockets") a.load.sockets = static_cast<unsigned>(number(option, value()));
        else if (option == "--batch") a.load.batch = static_cast<unsigned>(number(option, value()));
        else if (option == "--tcp") a.tcp = true;
        else if (option == "--connections") a.load.connections = static_cast<unsigned>(number(option, value()));
        else if (option == "--inflight") a.load.inflight = static_cast<unsigned>(number(option, value()));
        else if (option == "--timeout-ms") a.load.timeout_ms = static_cast<uint32_t>(number(option, value()));
        else if (option == "--drain-ms") {
            a.load.drain_ms = static_cast<uint32_t>(number(option, value()));
            a.drain_set = true;
        } else if (option == "--no-verify") a.verify = false;
        else if (option == "--verify-only") a.verify_only = true;
        else if (option == "--ready-only") a.ready_only = true;
        else if (option == "--verify-max") a.verify_max = static_cast<std::size_t>(number(option, value()));
        else if (option == "--wait-ready") a.wait_ready = number(option, value());
        else if (option == "--server-pid") a.load.server_pid = static_cast<pid_t>(number(option, value()));
        else if (option == "--label") a.label = value();
        else if (option == "--quiet") a.quiet = true;
        else usage_error("unknown option " + option);
    }
    if (a.gen.empty() == a.queries_file.empty()) usage_error("give one of --gen and --queries");
    if (a.target.empty() && a.write_queries.empty()) usage_error("--target is required");
    if (a.load.duration == 0 && a.load.count == 0) usage_error("--duration 0 needs --count");
    if (!a.drain_set) a.load.drain_ms = a.load.timeout_ms;
    return a;
}

std::string json_escape(const std::string& s) {
    std::string out;
    for (const char c : s) {
        if (c == '"' || c == '\\') out += '\\';
        if (static_cast<unsigned char>(c) < 0x20) continue;
        out += c;
    }
    return out;
}

std::vector<std::string> split_list(const std::string& text) {
    std::vector<std::string> out;
    std::size_t at = 0;
    while (at <= text.size()) {
        const auto comma = text.find(',', at);
        const auto item = text.substr(at, comma == std::string::npos ? std::string::npos : comma - at);
        if (!item.empty()) out.push_back(item);
        if (comma == std::string::npos) break;
        at = comma + 1;
    }
    return out;
}

void write_query_file(const QuerySet& q, const std::string& path) {
    FILE* f = std::fopen(path.c_str(), "w");
    if (f == nullptr) usage_error("cannot write " + path);
    for (std::size_t i = 0; i < q.size(); ++i) {
        const Expectation& e = q.expectation(i);
        std::string line = q.at(i).text;
        if (e.rcode >= 0) line += " rcode=" + rcode_text(static_cast<unsigned>(e.rcode));
        if (e.by_source) line += " a=@source";
        for (std::size_t k = 0; k < e.a_any_of.size(); ++k) line += (k == 0 ? " a=" : ",") + format_v4(e.a_any_of[k]);
        std::fprintf(f, "%s\n", line.c_str());
    }
    std::fclose(f);
}

}  // namespace

int main(int argc, char** argv) {
    Args a = parse_args(argc, argv);
    std::string error;

    SteerMap steer;
    if (!steer.parse(a.steer, &error)) usage_error(error);
    GeoTable geo;
    const bool needs_geo = a.gen.find("ecs") != std::string::npos || !a.queries_file.empty();
    const bool have_geo = needs_geo && geo.load(a.geo_csv, &error);
    if (needs_geo && !have_geo && !a.gen.empty()) usage_error(error);
    a.gen_options.steer = steer;
    a.gen_options.geo = have_geo ? &geo : nullptr;

    QuerySet queries;
    const bool loaded = a.gen.empty() ? load_query_file(a.queries_file, steer, a.gen_options.edns, &queries, &error)
                                      : generate_queries(a.gen, a.gen_options, &queries, &error);
    if (!loaded) usage_error(error);
    if (!a.write_queries.empty()) {
        write_query_file(queries, a.write_queries);
        return 0;
    }

    if (!parse_sockaddr(a.target, true, &a.load.target.address, &a.load.target.size)) {
        usage_error("--target \"" + a.target + "\" is not ADDRESS:PORT");
    }
    if (!is_loopback(a.load.target.sa())) usage_error("refusing a target off loopback: " + a.target);
    const bool v6 = a.load.target.address.ss_family == AF_INET6;
    if (a.sources.empty()) a.sources = v6 ? "::1" : "127.0.0.1,127.0.0.2,127.0.0.3,127.0.0.4";
    for (const auto& text : split_list(a.sources)) {
        Endpoint e;
        if (!parse_sockaddr(text, false, &e.address, &e.size) ||
            e.address.ss_family != a.load.target.address.ss_family || !is_loopback(e.sa())) {
            usage_error("source \"" + text + "\" is not a loopback address of the target's family");
        }
        a.load.sources.push_back(e);
    }

    if ((a.wait_ready > 0 || a.ready_only) && !wait_ready(queries, a.load, a.wait_ready > 0 ? a.wait_ready : 1.0)) {
        std::fprintf(stderr, "loadgen: %s did not answer within %.1f s\n", a.target.c_str(), a.wait_ready);
        return 2;
    }
    if (a.ready_only) return 0;

    VerifyResult verified;
    if (a.verify || a.verify_only) {
        VerifyOptions v;
        v.geo = have_geo ? &geo : nullptr;
        v.steer = &steer;
        v.max_queries = a.verify_max;
        v.tcp = a.tcp;
        verified = verify_answers(queries, a.load, v);
        if (!a.quiet || verified.wrong != 0) {
            std::fprintf(stderr, "loadgen: verified %" PRIu64 " answers of %s: %" PRIu64 " wrong\n", verified.checked,
                         a.target.c_str(), verified.wrong);
        }
        for (const auto& failure : verified.failures) std::fprintf(stderr, "  wrong: %s\n", failure.c_str());
        if (verified.wrong != 0) {
            std::printf("{\"label\":\"%s\",\"target\":\"%s\",\"verify_checked\":%" PRIu64 ",\"verify_wrong\":%" PRIu64
                        ",\"error\":\"wrong answers\"}\n",
                        json_escape(a.label).c_str(), json_escape(a.target).c_str(), verified.checked, verified.wrong);
            return 3;
        }
        if (a.verify_only) return 0;
    }

    RunResult r;
    const bool ran = a.tcp ? run_tcp(queries, a.load, &r, &error) : run_udp(queries, a.load, &r, &error);
    if (!ran) {
        std::fprintf(stderr, "loadgen: %s\n", error.c_str());
        return 1;
    }

    const double seconds = r.send_seconds > 0 ? r.send_seconds : 1e-9;
    const double lat_avg = r.latency.mean() / 1000.0;
    const double lat_p50 = r.latency.quantile(0.50) / 1000.0;
    const double lat_p99 = r.latency.quantile(0.99) / 1000.0;
    const double lat_p999 = r.latency.quantile(0.999) / 1000.0;
    const double lat_max = static_cast<double>(r.latency.max()) / 1000.0;
    const double cpu_per_answer = r.have_server_cpu && r.answered != 0
                                      ? static_cast<double>(r.server_cpu_us) / static_cast<double>(r.answered)
                                      : -1.0;
    const double server_util = r.have_server_cpu ? static_cast<double>(r.server_cpu_us) / 1e6 / r.total_seconds : -1.0;
    std::string busy;
    for (const double b : r.cpu_busy) busy += (busy.empty() ? "" : ",") + std::to_string(b).substr(0, 5);
    std::string rcodes;
    for (unsigned i = 0; i < r.rcodes.size(); ++i) {
        if (r.rcodes[i] == 0) continue;
        rcodes += (rcodes.empty() ? "\"" : ",\"") + rcode_text(i) + "\":" + std::to_string(r.rcodes[i]);
    }
    std::printf(
        "{\"label\":\"%s\",\"target\":\"%s\",\"transport\":\"%s\",\"queries\":\"%s\",\"distinct_queries\":%zu,"
        "\"rate\":%.0f,\"duration_s\":%.3f,\"total_s\":%.3f,\"sockets\":%u,\"connections\":%u,\"inflight\":%u,"
        "\"sent\":%" PRIu64 ",\"send_failed\":%" PRIu64 ",\"answered\":%" PRIu64 ",\"lost\":%" PRIu64
        ",\"late\":%" PRIu64 ",\"unmatched\":%" PRIu64 ",\"truncated\":%" PRIu64 ",\"unexpected_rcode\":%" PRIu64
        ",\"signed_answers\":%" PRIu64 ",\"unsigned_answers\":%" PRIu64
        ",\"rcodes\":{%s},"
        "\"sent_qps\":%.1f,\"answered_qps\":%.1f,"
        "\"latency_us\":{\"avg\":%.1f,\"p50\":%.1f,\"p99\":%.1f,\"p999\":%.1f,\"max\":%.1f},"
        "\"server_cpu_us\":%" PRIu64 ",\"server_user_us\":%" PRIu64
        ",\"server_cpu_us_per_answer\":%.4f,\"server_cpu_util\":%.3f,"
        "\"server_drops\":%" PRIu64 ",\"client_drops\":%" PRIu64
        ",\"loadgen_cpu_util\":%.3f,\"cpu_busy\":[%s],"
        "\"tcp_connects\":%" PRIu64 ",\"tcp_disconnects\":%" PRIu64 ",\"verify_checked\":%" PRIu64
        ",\"verify_wrong\":%" PRIu64 "}\n",
        json_escape(a.label).c_str(), json_escape(a.target).c_str(), a.tcp ? "tcp" : "udp",
        json_escape(a.gen.empty() ? a.queries_file : a.gen).c_str(), queries.size(), a.load.rate, r.send_seconds,
        r.total_seconds, a.tcp ? 0u : a.load.sockets, a.tcp ? a.load.connections : 0u, a.tcp ? a.load.inflight : 0u,
        r.sent, r.send_failed, r.answered, r.lost(), r.late, r.unmatched, r.truncated, r.unexpected_rcode,
        r.signed_answers, r.unsigned_answers, rcodes.c_str(), static_cast<double>(r.sent) / seconds,
        static_cast<double>(r.answered) / seconds, lat_avg, lat_p50, lat_p99, lat_p999, lat_max, r.server_cpu_us,
        r.server_user_us, cpu_per_answer, server_util, r.server_drops, r.client_drops,
        static_cast<double>(r.loadgen_cpu_us) / 1e6 / r.total_seconds, busy.c_str(), r.connects, r.disconnects,
        verified.checked, verified.wrong);
    std::fflush(stdout);

    if (!a.quiet) {
        std::fprintf(stderr,
                     "loadgen %s %s %s: sent %" PRIu64 " (%.0f q/s), answered %" PRIu64 " (%.0f q/s), lost %" PRIu64
                     " (%.3f %%), server socket drops %" PRIu64 "\n",
                     a.label.c_str(), a.tcp ? "tcp" : "udp", a.target.c_str(), r.sent,
                     static_cast<double>(r.sent) / seconds, r.answered, static_cast<double>(r.answered) / seconds,
                     r.lost(), r.sent == 0 ? 0.0 : 100.0 * static_cast<double>(r.lost()) / static_cast<double>(r.sent),
                     r.server_drops);
        std::fprintf(stderr, "  latency µs: avg %.1f  p50 %.1f  p99 %.1f  p99.9 %.1f  max %.1f\n", lat_avg, lat_p50,
                     lat_p99, lat_p999, lat_max);
        std::fprintf(stderr,
                     "  rcodes: {%s}  unexpected rcode %" PRIu64 ", truncated %" PRIu64 ", unmatched %" PRIu64 "\n",
                     rcodes.c_str(), r.unexpected_rcode, r.truncated, r.unmatched);
        if (r.signed_answers + r.unsigned_answers != 0) {
            std::fprintf(stderr, "  DO answers: %" PRIu64 " signed, %" PRIu64 " without an RRSIG\n", r.signed_answers,
                         r.unsigned_answers);
        }
        if (r.have_server_cpu) {
            std::fprintf(stderr, "  server cpu: %.3f s (%.0f %% of one core), %.3f µs per answered query\n",
                         static_cast<double>(r.server_cpu_us) / 1e6, 100.0 * server_util, cpu_per_answer);
        }
    }
    return 0;
}
