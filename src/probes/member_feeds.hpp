// Member feeds on the control loop: for each region with a feed (its [regions.NAME.members]
// table), the member document is fetched every interval with a conditional request (If-None-Match
// with the last ETag, If-Modified-Since with the last Last-Modified) or, for a file, read again
// when the file changes. What comes back goes to the owner's callback; nothing here parses it,
// and nothing here is on the query path.
#pragma once

#include <uv.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "answer/snapshot.hpp"
#include "probes/curl_driver.hpp"

namespace meridian::probes {

// The largest member document read: kMaxMembers members with ids and then some.
inline constexpr std::size_t kMaxFeedBytes = std::size_t{1} << 20;

struct FeedRead {
    std::string zone;  // origin as text, "geo.example.com."
    std::string region;
    std::string source;         // the URL or path
    bool is_unchanged = false;  // HTTP 304, or the file as it was
    std::string body;           // the document, when read and not unchanged
    std::string error;          // why there is no document ("HTTP 500", "timeout …", "no such file")
};

class MemberFeeds {
public:
    // `on_read` returns whether the region took the document (or had it already): only then are
    // its validators sent with the next request.
    MemberFeeds(uv_loop_t* loop, std::function<bool(const FeedRead&)> on_read);
    ~MemberFeeds();
    MemberFeeds(const MemberFeeds&) = delete;
    MemberFeeds& operator=(const MemberFeeds&) = delete;

    // Feeds what `snapshot`'s zones ask for: a feed that stays keeps its validators (and is not
    // asked again at once), new ones are read now, gone ones stop.
    void apply(const answer::Snapshot& snapshot);
    void stop();

    // Requests sent to URL feeds, and how many carried a validator (tests, metrics).
    uint64_t requests() const noexcept { return requests_; }

private:
    struct Feed;
    void schedule(Feed& feed, uint32_t delay_ms);
    void fetch(Feed& feed);
    void read_file(Feed& feed);
    static void close(std::unique_ptr<Feed> feed);

    uv_loop_t* loop_;
    CurlDriver curl_;
    std::function<bool(const FeedRead&)> on_read_;
    std::map<std::string, std::unique_ptr<Feed>> feeds_;  // by zone, region and source
    uint64_t requests_ = 0;
    bool is_stopped_ = false;
};

}  // namespace meridian::probes
