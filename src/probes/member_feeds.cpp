#include "probes/member_feeds.hpp"

#include <fstream>
#include <sstream>

#include "dns/name.hpp"

namespace meridian::probes {

struct MemberFeeds::Feed {
    MemberFeeds* owner = nullptr;
    std::string zone;
    std::string region;
    health::MemberFeed spec;
    uv_timer_t timer{};   // URL feeds
    uv_fs_poll_t poll{};  // file feeds
    std::string etag;     // validators of the last good response
    std::string last_modified;
    bool is_in_flight = false;
    int open_handles = 0;                                           // while closing
    std::shared_ptr<bool> is_alive = std::make_shared<bool>(true);  // for a transfer that outlives it

    const std::string& source() const { return spec.url.empty() ? spec.path : spec.url; }
    FeedRead read() const { return FeedRead{zone, region, source(), false, {}, {}}; }
};

MemberFeeds::MemberFeeds(uv_loop_t* loop, std::function<bool(const FeedRead&)> on_read)
    : loop_(loop), curl_(loop), on_read_(std::move(on_read)) {}

MemberFeeds::~MemberFeeds() { stop(); }

void MemberFeeds::close(std::unique_ptr<Feed> feed) {
    *feed->is_alive = false;
    Feed* closing = feed.release();  // owned by the close callbacks from here: the last one frees it
    closing->open_handles = closing->spec.url.empty() ? 2 : 1;
    const auto on_closed = [](uv_handle_t* h) {
        auto* f = static_cast<Feed*>(h->data);
        if (--f->open_handles == 0) delete f;
    };
    uv_timer_stop(&closing->timer);
    uv_close(reinterpret_cast<uv_handle_t*>(&closing->timer), on_closed);
    if (closing->spec.url.empty()) {
        uv_fs_poll_stop(&closing->poll);
        uv_close(reinterpret_cast<uv_handle_t*>(&closing->poll), on_closed);
    }
}

void MemberFeeds::stop() {
    if (is_stopped_) return;
    is_stopped_ = true;
    for (auto& [key, feed] : feeds_) close(std::move(feed));
    feeds_.clear();
    curl_.close();
}

void MemberFeeds::apply(const answer::Snapshot& snapshot) {
    if (is_stopped_) return;
    std::map<std::string, std::unique_ptr<Feed>> kept;
    for (const zone::ServedZone& served : snapshot.zones.zones()) {
        const std::string zone = dns::name_to_text(served.zone().origin());
        for (const health::RegionCheck& region : served.zone().checks().regions) {
            const health::MemberFeed& spec = region.feed;
            if (!spec.is_set()) continue;
            const std::string key = zone + "|" + region.region + "|" + (spec.url.empty() ? spec.path : spec.url) + "|" +
                                    std::to_string(spec.interval_ms) + "|" + std::to_string(spec.timeout_ms);
            if (auto old = feeds_.find(key); old != feeds_.end()) {
                kept[key] = std::move(old->second);
                feeds_.erase(old);
                continue;
            }
            auto feed = std::make_unique<Feed>();
            feed->owner = this;
            feed->zone = zone;
            feed->region = region.region;
            feed->spec = spec;
            uv_timer_init(loop_, &feed->timer);
            feed->timer.data = feed.get();
            if (spec.url.empty()) {
                uv_fs_poll_init(loop_, &feed->poll);
                feed->poll.data = feed.get();
                // Polled each second (or the interval, when shorter): a change is read at once.
                uv_fs_poll_start(
                    &feed->poll,
                    [](uv_fs_poll_t* handle, int, const uv_stat_t*, const uv_stat_t*) {
                        auto* f = static_cast<Feed*>(handle->data);
                        f->owner->read_file(*f);
                    },
                    spec.path.c_str(), std::min<uint32_t>(spec.interval_ms, 1000));
            }
            // The first read comes from the loop, not from inside apply(): what it publishes
            // applies the feeds again.
            schedule(*feed, 0);
            kept[key] = std::move(feed);
        }
    }
    for (auto& [key, feed] : feeds_) close(std::move(feed));  // no region asks for these any more
    feeds_ = std::move(kept);
}

void MemberFeeds::schedule(Feed& feed, uint32_t delay_ms) {
    uv_timer_start(
        &feed.timer,
        [](uv_timer_t* timer) {
            auto* f = static_cast<Feed*>(timer->data);
            f->owner->fetch(*f);
        },
        delay_ms, 0);
}

void MemberFeeds::fetch(Feed& feed) {
    if (feed.spec.url.empty()) {
        read_file(feed);  // the first read; the poll reads the changes
        return;
    }
    schedule(feed, feed.spec.interval_ms);
    if (feed.is_in_flight) return;
    feed.is_in_flight = true;
    HttpRequest request;
    request.url = feed.spec.url;
    request.timeout_ms = feed.spec.timeout_ms;
    request.max_body = kMaxFeedBytes;
    if (!feed.etag.empty()) request.headers.push_back("If-None-Match: " + feed.etag);
    if (!feed.last_modified.empty()) request.headers.push_back("If-Modified-Since: " + feed.last_modified);
    request.headers.emplace_back("Accept: application/json");
    ++requests_;
    std::weak_ptr<bool> alive = feed.is_alive;
    Feed* f = &feed;
    curl_.start(request, [this, alive, f](const HttpResponse& response) {
        if (alive.expired() || is_stopped_) return;
        f->is_in_flight = false;
        FeedRead read = f->read();
        if (!response.is_transport_ok) {
            read.error = response.error;
        } else if (response.status == 304) {
            read.is_unchanged = true;
        } else if (response.status != 200) {
            read.error = "HTTP " + std::to_string(response.status);
        } else if (response.is_truncated) {
            read.error = "the document is larger than " + std::to_string(kMaxFeedBytes) + " bytes";
        } else {
            read.body = response.body;
        }
        const bool is_taken = on_read_(read);
        if (is_taken && !read.is_unchanged && read.error.empty()) {
            // The validators of a document the region took, for the next request: a refused one's
            // would have the server answer 304 for it and the refusal pass for a good read.
            const auto etag = response.headers.find("etag");
            f->etag = etag != response.headers.end() ? etag->second : std::string();
            const auto modified = response.headers.find("last-modified");
            f->last_modified = modified != response.headers.end() ? modified->second : std::string();
        }
    });
}

void MemberFeeds::read_file(Feed& feed) {
    FeedRead read = feed.read();
    std::ifstream in(feed.spec.path, std::ios::binary);
    if (!in) {
        read.error = "cannot read " + feed.spec.path;
        on_read_(read);
        return;
    }
    std::string text(kMaxFeedBytes + 1, '\0');
    in.read(text.data(), static_cast<std::streamsize>(text.size()));
    text.resize(static_cast<std::size_t>(in.gcount()));
    if (text.size() > kMaxFeedBytes)
        read.error = "the document is larger than " + std::to_string(kMaxFeedBytes) + " bytes";
    else read.body = std::move(text);
    on_read_(read);
}

}  // namespace meridian::probes
