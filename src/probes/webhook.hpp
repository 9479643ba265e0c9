// A webhook: POSTs JSON documents to one configured URL on the control loop and logs a failed
// delivery; nothing is retried or queued. Owns its own CurlDriver, made only when a URL is set,
// so each user (health transitions, analytics alerts) has an instance of its own.
#pragma once

#include <uv.h>

#include <cstdint>
#include <memory>
#include <string>

#include "probes/curl_driver.hpp"

namespace meridian::probes {

struct WebhookSettings {
    std::string url;  // empty: no webhook, post() does nothing
    uint32_t timeout_ms = 2000;
};

class Webhook {
public:
    // `loop` may be null when `settings.url` is empty (nothing will ever be sent).
    Webhook(uv_loop_t* loop, WebhookSettings settings);
    ~Webhook();
    Webhook(const Webhook&) = delete;
    Webhook& operator=(const Webhook&) = delete;

    bool is_configured() const noexcept { return !settings_.url.empty(); }
    // Sends `json` with Content-Type application/json; a no-op without a URL or once closed.
    void post(const std::string& json);
    // Cancels what is in flight and releases the curl handles; run the loop once more afterwards
    // so libuv can let go of them.
    void close();

private:
    WebhookSettings settings_;
    std::unique_ptr<CurlDriver> curl_;  // null without a URL
    bool is_closed_ = false;
};

}  // namespace meridian::probes
