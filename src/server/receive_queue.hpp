// How deep a UDP socket's receive queue may grow. Deep while the worker keeps up, so that bursts
// and pauses (a reload on a shared core, a descheduled virtual CPU) lose nothing; shallow once
// the queue has not emptied for a whole interval, i.e. under sustained overload, so that answers
// do not wait behind a full buffer of queries whose clients have long given up. The kernel then
// drops the excess as it arrives, where dropping costs least. No clock, no allocation: the
// caller feeds it what each recvmmsg saw and applies the size it asks for.
#pragma once

#include <atomic>
#include <cstdint>

namespace meridian::server {

struct ReceiveQueueSizes {
    uint32_t burst = 0;        // SO_RCVBUF while keeping up; 0: leave the socket alone
    uint32_t overload = 0;     // SO_RCVBUF under sustained overload (the kernel's default)
    uint32_t interval_ms = 0;  // how long the queue must stay non-empty; 0: never shrink
};

class ReceiveQueueGovernor {
public:
    enum class Resize { none, to_overload, to_burst };

    explicit ReceiveQueueGovernor(ReceiveQueueSizes sizes) noexcept : sizes_(sizes) {}

    // After each read: `emptied` when the read took fewer datagrams than it had room for (the
    // queue ran dry). Returns the change of size to make now, if any.
    //
    // Overload begins when the queue has not run dry for a whole interval. It ends only when,
    // over a whole interval, most reads ran the queue dry: under overload the sender's own
    // pauses empty the shallow queue now and then, and one dry read must not bring the deep
    // queue back (it would fill again and flap).
    Resize observe(bool emptied, uint64_t now_ms) noexcept {
        if (sizes_.burst == 0 || sizes_.interval_ms == 0) return Resize::none;
        if (is_overloaded_.load(std::memory_order_relaxed)) {
            ++reads_;
            if (!emptied) ++full_reads_;
            if (now_ms - window_start_ms_ < sizes_.interval_ms) return Resize::none;
            const bool keeps_up = 2 * full_reads_ < reads_;
            window_start_ms_ = now_ms;
            reads_ = full_reads_ = 0;
            if (!keeps_up) return Resize::none;
            is_overloaded_.store(false, std::memory_order_relaxed);
            has_backlog_ = false;
            return Resize::to_burst;
        }
        if (emptied) {
            has_backlog_ = false;
            return Resize::none;
        }
        if (!has_backlog_) {
            has_backlog_ = true;
            backlog_since_ms_ = now_ms;
            return Resize::none;
        }
        if (now_ms - backlog_since_ms_ < sizes_.interval_ms) return Resize::none;
        is_overloaded_.store(true, std::memory_order_relaxed);
        window_start_ms_ = now_ms;
        reads_ = full_reads_ = 0;
        return Resize::to_overload;
    }

    // Any thread may ask (metrics); only the worker's changes it.
    bool is_overloaded() const noexcept { return is_overloaded_.load(std::memory_order_relaxed); }
    const ReceiveQueueSizes& sizes() const noexcept { return sizes_; }

private:
    ReceiveQueueSizes sizes_;
    bool has_backlog_ = false;
    std::atomic<bool> is_overloaded_{false};
    uint64_t backlog_since_ms_ = 0;
    uint64_t window_start_ms_ = 0;  // under overload: reads counted since then
    uint32_t reads_ = 0;
    uint32_t full_reads_ = 0;
};

}  // namespace meridian::server
