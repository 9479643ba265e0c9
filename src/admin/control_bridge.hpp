// Runs work on the control loop on behalf of another thread (the admin HTTP server's) and hands
// the result back: the admin thread never touches the control thread's state itself.
#pragma once

#include <uv.h>

#include <chrono>
#include <deque>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <optional>

namespace meridian::admin {

class ControlBridge {
public:
    explicit ControlBridge(uv_loop_t* loop);
    ControlBridge(const ControlBridge&) = delete;
    ControlBridge& operator=(const ControlBridge&) = delete;

    // From any thread but the control thread: runs `task` there and waits up to `timeout` for
    // its result; nullopt when the loop is gone or too slow.
    template <typename Result>
    std::optional<Result> call(std::function<Result()> task, std::chrono::milliseconds timeout) {
        auto promise = std::make_shared<std::promise<Result>>();
        std::future<Result> future = promise->get_future();
        if (!post([promise, task = std::move(task)] { promise->set_value(task()); })) return std::nullopt;
        if (future.wait_for(timeout) != std::future_status::ready) return std::nullopt;
        try {
            return future.get();
        } catch (const std::future_error&) {
            return std::nullopt;  // the control loop closed before running it
        }
    }

    // Control thread: stops taking work; tasks already queued are dropped.
    void close();

private:
    bool post(std::function<void()> task);
    static void on_async(uv_async_t* handle);

    uv_async_t async_{};
    std::mutex mutex_;
    std::deque<std::function<void()>> queue_;
    bool is_closed_ = false;
};

}  // namespace meridian::admin
