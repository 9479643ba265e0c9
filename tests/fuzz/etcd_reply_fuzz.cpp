// Fuzz target: what the fleet layer reads from etcd's JSON gateway (fleet/etcd_reply). The input
// is a reply body, read as a 200 and as a 404 error, as a range reply, and as a watch stream fed
// in two pieces (split where its first byte says) and whole: both ways give the same frames. Every
// error is short printable ASCII; a range that reads has its kvs only when ok; base64 of the input
// decodes back to it; a prefix's range_end is above every key under the prefix.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fleet/etcd_reply.hpp"
#include "fuzz_check.hpp"

namespace {

using meridian::fleet::WatchFrame;

void check_text(const std::string& text) {
    FUZZ_CHECK(text.size() <= meridian::fleet::kMaxEtcdErrorBytes + 200);
    for (const char c : text) FUZZ_CHECK(c >= 0x20 && c < 0x7f);
}

bool same(const WatchFrame& a, const WatchFrame& b) {
    if (a.is_ok != b.is_ok || a.error != b.error || a.created != b.created || a.canceled != b.canceled ||
        a.revision != b.revision || a.compact_revision != b.compact_revision || a.events.size() != b.events.size() ||
        a.cancel_reason != b.cancel_reason)
        return false;
    for (std::size_t i = 0; i < a.events.size(); ++i) {
        const auto& x = a.events[i];
        const auto& y = b.events[i];
        if (x.type != y.type || x.kv.key != y.kv.key || x.kv.value != y.kv.value ||
            x.kv.mod_revision != y.kv.mod_revision || x.kv.create_revision != y.kv.create_revision ||
            x.kv.version != y.kv.version || x.kv.lease != y.kv.lease)
            return false;
    }
    return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string input(reinterpret_cast<const char*>(data), size);

    const auto ok = meridian::fleet::parse_error(200, input);
    if (!ok.is_ok) check_text(ok.message);
    const auto refused = meridian::fleet::parse_error(404, input);
    FUZZ_CHECK(!refused.is_ok);  // an HTTP error is never ok, whatever the body says
    FUZZ_CHECK(refused.message.rfind("etcd: ", 0) == 0);
    check_text(refused.message);

    const auto range = meridian::fleet::parse_range(200, input);
    if (!range.error.is_ok) {
        check_text(range.error.message);
        FUZZ_CHECK(range.kvs.empty());
    }
    FUZZ_CHECK(!meridian::fleet::parse_range(500, input).error.is_ok);

    // A watch stream whole, and split in two: the same frames, nothing left but a partial line.
    std::string whole = input;
    const std::vector<WatchFrame> frames = meridian::fleet::take_watch_frames(&whole);
    FUZZ_CHECK(whole.find('\n') == std::string::npos);
    const std::size_t cut = size == 0 ? 0 : data[0] % (size + 1);
    std::string split = input.substr(0, cut);
    std::vector<WatchFrame> pieces = meridian::fleet::take_watch_frames(&split);
    split += input.substr(cut);
    for (WatchFrame& frame : meridian::fleet::take_watch_frames(&split)) pieces.push_back(std::move(frame));
    FUZZ_CHECK(split == whole);
    FUZZ_CHECK(pieces.size() == frames.size());
    for (std::size_t i = 0; i < frames.size(); ++i) {
        FUZZ_CHECK(same(frames[i], pieces[i]));
        if (!frames[i].is_ok) {
            FUZZ_CHECK(!frames[i].error.empty());
            FUZZ_CHECK(frames[i].events.empty());
            check_text(frames[i].error);
        }
        check_text(frames[i].cancel_reason);
    }

    const std::string encoded = meridian::fleet::base64_encode(input);
    FUZZ_CHECK(encoded.size() % 4 == 0);
    FUZZ_CHECK(meridian::fleet::base64_decode(encoded) == input);
    const auto decoded = meridian::fleet::base64_decode(input);
    if (decoded) FUZZ_CHECK(meridian::fleet::base64_decode(meridian::fleet::base64_encode(*decoded)) == *decoded);

    const std::string end = meridian::fleet::prefix_range_end(input);
    if (end != std::string(1, '\0')) {
        FUZZ_CHECK(end > input);  // above the prefix and every key that starts with it
        FUZZ_CHECK(end.size() <= input.size());
        FUZZ_CHECK(input.compare(0, end.size() - 1, end, 0, end.size() - 1) == 0);
    } else {
        FUZZ_CHECK(input.find_first_not_of('\xff') == std::string::npos);
    }
    return 0;
}
