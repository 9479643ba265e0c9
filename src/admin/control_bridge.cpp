#include "admin/control_bridge.hpp"

namespace meridian::admin {

ControlBridge::ControlBridge(uv_loop_t* loop) {
    uv_async_init(loop, &async_, on_async);
    async_.data = this;
}

bool ControlBridge::post(std::function<void()> task) {
    {
        const std::lock_guard<std::mutex> lock(mutex_);
        if (is_closed_) return false;
        queue_.push_back(std::move(task));
    }
    uv_async_send(&async_);
    return true;
}

void ControlBridge::on_async(uv_async_t* handle) {
    auto* self = static_cast<ControlBridge*>(handle->data);
    std::deque<std::function<void()>> tasks;
    {
        const std::lock_guard<std::mutex> lock(self->mutex_);
        tasks.swap(self->queue_);
    }
    for (auto& task : tasks) task();
}

void ControlBridge::close() {
    {
        const std::lock_guard<std::mutex> lock(mutex_);
        is_closed_ = true;
        queue_.clear();
    }
    uv_close(reinterpret_cast<uv_handle_t*>(&async_), nullptr);
}

}  // namespace meridian::admin
