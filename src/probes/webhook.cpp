#include "probes/webhook.hpp"

#include "common/log.hpp"

namespace meridian::probes {

Webhook::Webhook(uv_loop_t* loop, WebhookSettings settings) : settings_(std::move(settings)) {
    if (is_configured()) curl_ = std::make_unique<CurlDriver>(loop);
}

Webhook::~Webhook() { close(); }

void Webhook::close() {
    if (is_closed_) return;
    is_closed_ = true;
    if (curl_) curl_->close();
}

void Webhook::post(const std::string& json) {
    if (!is_configured() || is_closed_) return;
    HttpRequest request;
    request.url = settings_.url;
    request.method = "POST";
    request.body = json;
    request.headers = {"Content-Type: application/json"};
    request.timeout_ms = settings_.timeout_ms;
    curl_->start(request, [url = settings_.url](const HttpResponse& response) {
        if (!response.is_transport_ok || response.status >= 300) {
            log::warning("health: webhook " + url + " failed: " +
                         (response.is_transport_ok ? "HTTP " + std::to_string(response.status) : response.error));
        }
    });
}

}  // namespace meridian::probes
