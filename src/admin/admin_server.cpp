#include "admin/admin_server.hpp"

#include <httplib.h>

#include <arpa/inet.h>
#include <pthread.h>

#include <cstdlib>

#include "admin/dashboard.hpp"
#include "common/thread_priority.hpp"

namespace meridian::admin {

namespace {

constexpr std::chrono::milliseconds kControlTimeout{10000};

// Compares without leaking the position of the first difference through timing.
bool same_secret(const std::string& a, const std::string& b) {
    if (a.size() != b.size()) return false;
    unsigned char diff = 0;
    for (std::size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
    return diff == 0;
}

void send(httplib::Response& res, const Reply& reply) {
    res.status = reply.status;
    res.set_content(reply.body, reply.content_type.c_str());
}

}  // namespace

Reply error_reply(int status, const std::string& message) {
    // A message may quote a request's bytes: what is not UTF-8 becomes U+FFFD instead of an exception.
    return {status,
            nlohmann::json{{"error", message}}.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n",
            "application/json"};
}

AdminServer::AdminServer(Settings settings, ControlBridge* bridge, Handlers handlers)
    : settings_(std::move(settings)), bridge_(bridge), handlers_(std::move(handlers)),
      server_(std::make_unique<httplib::Server>()) {}

AdminServer::~AdminServer() { stop(); }

void AdminServer::route() {
    httplib::Server& s = *server_;
    s.set_payload_max_length(settings_.max_body_bytes);
    s.set_read_timeout(5, 0);
    s.set_write_timeout(5, 0);
    s.new_task_queue = [] { return new httplib::ThreadPool(2); };

    // Authentication first: with a token, every endpoint but the (data-free) dashboard page
    // needs "Authorization: Bearer TOKEN".
    s.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
        // Before any body is read: a POST or PUT must say how long it is (or be chunked, which
        // the handlers bound themselves), and may not announce more than the limit.
        if (req.method == "POST" || req.method == "PUT" || req.method == "PATCH") {
            const bool is_chunked = req.get_header_value("Transfer-Encoding").find("chunked") != std::string::npos;
            if (!req.has_header("Content-Length") && !is_chunked) {
                send(res,
                     error_reply(400, "a POST, PUT or PATCH needs a Content-Length (send an empty body: curl -d '')"));
                return httplib::Server::HandlerResponse::Handled;
            }
            if (req.has_header("Content-Length") &&
                std::strtoull(req.get_header_value("Content-Length").c_str(), nullptr, 10) > settings_.max_body_bytes) {
                send(res, error_reply(413, "request body too large"));
                return httplib::Server::HandlerResponse::Handled;
            }
        }
        if (settings_.token.empty() || (req.method == "GET" && req.path == "/"))
            return httplib::Server::HandlerResponse::Unhandled;
        const std::string header = req.get_header_value("Authorization");
        const std::string prefix = "Bearer ";
        if (header.rfind(prefix, 0) != 0) {
            res.set_header("WWW-Authenticate", "Bearer");
            send(res, error_reply(401, "missing bearer token"));
            return httplib::Server::HandlerResponse::Handled;
        }
        if (!same_secret(header.substr(prefix.size()), settings_.token)) {
            send(res, error_reply(403, "wrong bearer token"));
            return httplib::Server::HandlerResponse::Handled;
        }
        return httplib::Server::HandlerResponse::Unhandled;
    });

    auto on_control = [this](httplib::Response& res, std::function<Reply()> task) {
        const auto reply = bridge_->call<Reply>(std::move(task), kControlTimeout);
        send(res, reply ? *reply : error_reply(503, "the server is busy or stopping"));
    };

    s.Get("/", [](const httplib::Request&, httplib::Response& res) {
        res.set_content(std::string(dashboard_html()), "text/html; charset=utf-8");
    });
    s.Get("/status", [=, this](const httplib::Request&, httplib::Response& res) { on_control(res, handlers_.status); });
    s.Get("/metrics",
          [=, this](const httplib::Request&, httplib::Response& res) { on_control(res, handlers_.metrics); });
    s.Post("/reload", [=, this](const httplib::Request& req, httplib::Response& res) {
        if (req.body.size() > settings_.max_body_bytes) return send(res, error_reply(413, "request body too large"));
        on_control(res, handlers_.reload);
    });
    s.Get("/check", [=, this](const httplib::Request&, httplib::Response& res) { on_control(res, handlers_.check); });
    s.Get("/explain", [=, this](const httplib::Request& req, httplib::Response& res) {
        if (!req.has_param("name") || !req.has_param("client")) {
            send(res, error_reply(400, "explain needs ?name=NAME&client=ADDRESS[/PREFIX] (and optionally type, down)"));
            return;
        }
        std::vector<std::string> down;
        for (std::size_t i = 0; i < req.get_param_value_count("down"); ++i)
            down.push_back(req.get_param_value("down", i));
        const std::string name = req.get_param_value("name");
        const std::string client = req.get_param_value("client");
        const std::string type = req.has_param("type") ? req.get_param_value("type") : "A";
        on_control(res, [=, this] { return handlers_.explain(name, client, type, down); });
    });
    s.Get("/recommendations", [=, this](const httplib::Request& req, httplib::Response& res) {
        const std::string zone = req.has_param("zone") ? req.get_param_value("zone") : "";
        on_control(res, [=, this] { return handlers_.recommendations(zone); });
    });
    const std::string override_path = R"(/regions/([^/]+)/([^/]+)/override)";
    s.Put(override_path, [=, this](const httplib::Request& req, httplib::Response& res) {
        // A chunked body is only measured once read.
        if (req.body.size() > settings_.max_body_bytes) return send(res, error_reply(413, "request body too large"));
        const nlohmann::json body = nlohmann::json::parse(req.body, nullptr, /*allow_exceptions=*/false);
        if (body.is_discarded() || !body.is_object()) {
            send(res, error_reply(400,
                                  "the body must be a JSON object: {\"action\": \"up|down|drain\", \"expires_in\": "
                                  "SECONDS, \"reason\": TEXT}"));
            return;
        }
        const std::string zone = req.matches[1];
        const std::string region = req.matches[2];
        on_control(res, [=, this] { return handlers_.set_override(zone, region, body); });
    });
    s.Delete(override_path, [=, this](const httplib::Request& req, httplib::Response& res) {
        const std::string zone = req.matches[1];
        const std::string region = req.matches[2];
        on_control(res, [=, this] { return handlers_.clear_override(zone, region); });
    });

    s.Get("/members", [=, this](const httplib::Request& req, httplib::Response& res) {
        const std::string zone = req.has_param("zone") ? req.get_param_value("zone") : "";
        on_control(res, [=, this] { return handlers_.members("GET", zone, "", ""); });
    });
    const std::string members_path = R"(/members/([^/]+)/([^/]+))";
    const auto on_members = [=, this](const httplib::Request& req, httplib::Response& res) {
        if (req.body.size() > settings_.max_body_bytes) return send(res, error_reply(413, "request body too large"));
        const std::string method = req.method;
        const std::string zone = req.matches[1];
        const std::string region = req.matches[2];
        const std::string body = req.body;
        on_control(res, [=, this] { return handlers_.members(method, zone, region, body); });
    };
    s.Get(members_path, on_members);
    s.Put(members_path, on_members);
    s.Patch(members_path, on_members);
    s.Delete(members_path, on_members);
    s.set_error_handler([](const httplib::Request&, httplib::Response& res) {
        if (!res.body.empty()) return;  // a handler already said what went wrong
        if (res.status == 404) send(res, error_reply(404, "no such endpoint"));
        else if (res.status == 413) send(res, error_reply(413, "request body too large"));
        else if (res.status == 405) send(res, error_reply(405, "method not allowed"));
        else if (res.status == 400)
            send(res, error_reply(400, "bad request (a POST or PUT needs a Content-Length, e.g. curl -d '')"));
        else send(res, error_reply(res.status, "request failed"));
    });
    s.set_exception_handler([](const httplib::Request&, httplib::Response& res, const std::exception_ptr&) {
        send(res, error_reply(500, "internal error"));
    });
}

bool AdminServer::start(std::string* error) {
    route();
    if (!server_->bind_to_port(settings_.address.c_str(), settings_.port)) {
        *error = "admin " + settings_.address + ":" + std::to_string(settings_.port) + ": cannot bind (in use?)";
        return false;
    }
    thread_ = std::thread([this] {
        pthread_setname_np(pthread_self(), "admin-http");
        lower_to_control_plane_priority();  // its request threads inherit it
        server_->listen_after_bind();
    });
    return true;
}

void AdminServer::stop() {
    if (!thread_.joinable()) return;
    server_->stop();
    thread_.join();
}

}  // namespace meridian::admin
