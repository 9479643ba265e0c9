// The admin HTTP API (cpp-httplib on its own thread): status, Prometheus metrics, reload,
// region overrides, explain, config check and the dashboard. Every request that needs server
// state runs on the control loop through the ControlBridge; the DNS workers are never touched.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "admin/control_bridge.hpp"

namespace httplib {
class Server;
}

namespace meridian::admin {

// What the admin API can ask of the server; each runs on the control thread and returns the
// HTTP status with a JSON body (or text for metrics).
struct Reply {
    int status = 200;
    std::string body;
    std::string content_type = "application/json";
};

struct Handlers {
    std::function<Reply()> status;
    std::function<Reply()> metrics;
    std::function<Reply()> reload;
    std::function<Reply()> check;
    std::function<Reply(const std::string& zone, const std::string& region, const nlohmann::json& request)>
        set_override;
    std::function<Reply(const std::string& zone, const std::string& region)> clear_override;
    std::function<Reply(const std::string& name, const std::string& client, const std::string& type,
                        const std::vector<std::string>& down)>
        explain;
    std::function<Reply(const std::string& zone)> recommendations;  // zone "": every zone
    // Region members: GET (zone and region "": every region with addresses), PUT, PATCH, DELETE;
    // `body` as sent.
    std::function<Reply(const std::string& method, const std::string& zone, const std::string& region,
                        const std::string& body)>
        members;
};

struct Settings {
    std::string address = "127.0.0.1";
    uint16_t port = 8019;
    std::string token;  // empty: no authentication (loopback only)
    std::size_t max_body_bytes = std::size_t{64} * 1024;
};

class AdminServer {
public:
    AdminServer(Settings settings, ControlBridge* bridge, Handlers handlers);
    ~AdminServer();
    AdminServer(const AdminServer&) = delete;
    AdminServer& operator=(const AdminServer&) = delete;

    // Binds (failing with one line in *error, e.g. when the port is taken) and serves.
    bool start(std::string* error);
    void stop();

private:
    void route();

    Settings settings_;
    ControlBridge* bridge_;
    Handlers handlers_;
    std::unique_ptr<httplib::Server> server_;
    std::thread thread_;
};

// Shared by the handlers: a JSON error document.
Reply error_reply(int status, const std::string& message);

}  // namespace meridian::admin
