#include "server/notifier.hpp"

#include <algorithm>
#include <array>
#include <ctime>
#include <random>

#include "common/log.hpp"
#include "dns/name.hpp"
#include "xfr/notify.hpp"

namespace meridian::server {

struct Notifier::Notification {
    Notifier* owner = nullptr;
    std::string zone_text;  // for logs
    uint32_t serial = 0;
    answer::NotifyTarget target;
    std::vector<uint8_t> message;
    uint16_t id = 0;
    unsigned attempt = 0;
    uint64_t timeout_ms = 0;
    uv_udp_t udp{};
    uv_timer_t timer{};
    uv_udp_send_t send{};
    std::array<char, 4096> input{};
    int handles_open = 0;
    bool is_closing = false;

    void close() {
        if (is_closing) return;
        is_closing = true;
        uv_udp_recv_stop(&udp);
        uv_timer_stop(&timer);
        auto closed = [](uv_handle_t* h) {
            auto* self = static_cast<Notification*>(h->data);
            if (--self->handles_open == 0) delete self;
        };
        uv_close(reinterpret_cast<uv_handle_t*>(&udp), closed);
        uv_close(reinterpret_cast<uv_handle_t*>(&timer), closed);
    }

    void send_attempt() {
        ++attempt;
        uv_buf_t buf = uv_buf_init(reinterpret_cast<char*>(message.data()), static_cast<unsigned>(message.size()));
        // One send at a time: the previous attempt's datagram left long before this timer fired.
        if (uv_udp_send(&send, &udp, &buf, 1, reinterpret_cast<const sockaddr*>(&target.address), nullptr) == 0 &&
            owner->counters_ != nullptr)
            owner->counters_->notifies_sent.fetch_add(1, std::memory_order_relaxed);
        uv_timer_start(&timer, on_timeout, timeout_ms, 0);
        timeout_ms *= 2;
    }

    static void on_timeout(uv_timer_t* timer) {
        auto* self = static_cast<Notification*>(timer->data);
        if (self->attempt >= self->owner->schedule_.attempts) {
            self->owner->finish(self, false, "no answer after " + std::to_string(self->attempt) + " attempts");
            return;
        }
        self->send_attempt();
    }

    static void on_alloc(uv_handle_t* handle, std::size_t, uv_buf_t* buf) {
        auto* self = static_cast<Notification*>(handle->data);
        *buf = uv_buf_init(self->input.data(), static_cast<unsigned>(self->input.size()));
    }

    static void on_read(uv_udp_t* udp, ssize_t nread, const uv_buf_t* buf, const sockaddr* from, unsigned) {
        auto* self = static_cast<Notification*>(udp->data);
        if (nread <= 0 || from == nullptr || self->is_closing) return;
        const auto rcode = xfr::read_notify_reply({reinterpret_cast<const uint8_t*>(buf->base),
                                                   static_cast<std::size_t>(nread)},
                                                  self->id);
        if (!rcode) return;  // not the reply to this NOTIFY: keep waiting
        if (*rcode == 0) self->owner->finish(self, true, "acknowledged");
        else self->owner->finish(self, false, "answered with rcode " + std::to_string(*rcode));
    }
};

Notifier::Notifier(uv_loop_t* loop, xfr::Counters* counters, NotifySchedule schedule)
    : loop_(loop), counters_(counters), schedule_(schedule), next_id_(static_cast<uint16_t>(std::random_device{}())) {}

Notifier::~Notifier() { stop(); }

void Notifier::stop() {
    for (Notification* n : in_flight_) n->close();
    in_flight_.clear();
}

void Notifier::finish(Notification* n, bool is_acknowledged, const std::string& outcome) {
    const std::string line = "notify " + n->zone_text + " serial " + std::to_string(n->serial) + " to " +
                             n->target.text + ": " + outcome;
    if (is_acknowledged) log::info(line);
    else log::warning(line);
    if (counters_ != nullptr) {
        (is_acknowledged ? counters_->notifies_acknowledged : counters_->notifies_failed)
            .fetch_add(1, std::memory_order_relaxed);
    }
    in_flight_.erase(std::remove(in_flight_.begin(), in_flight_.end(), n), in_flight_.end());
    n->close();
}

void Notifier::apply(const answer::Snapshot& snapshot) {
    for (const auto& [origin, transfer] : snapshot.settings.transfers) {
        if (transfer.notify.empty()) continue;
        const zone::ServedZone* served = snapshot.zones.find_origin(origin);
        if (served == nullptr) continue;
        const uint32_t serial = served->zone().serial();
        const auto last = notified_serial_.find(origin);
        if (last != notified_serial_.end() && last->second == serial) continue;
        notified_serial_[origin] = serial;
        const std::string zone_text = dns::name_to_text(origin);
        // A newer serial replaces a notification of this zone still in flight.
        for (Notification* n : std::vector<Notification*>(in_flight_)) {
            if (n->zone_text == zone_text) {
                in_flight_.erase(std::remove(in_flight_.begin(), in_flight_.end(), n), in_flight_.end());
                n->close();
            }
        }
        const answer::TsigKey* key = nullptr;
        for (const answer::TsigKey& k : snapshot.settings.tsig_keys) {
            if (k.name == transfer.key) key = &k;
        }
        for (const answer::NotifyTarget& target : transfer.notify) {
            auto* n = new Notification;
            n->owner = this;
            n->zone_text = zone_text;
            n->serial = serial;
            n->target = target;
            n->id = next_id_++;
            n->message = xfr::make_notify(served->zone(), n->id, key, static_cast<uint64_t>(std::time(nullptr)));
            n->timeout_ms = schedule_.first_timeout_ms;
            uv_udp_init(loop_, &n->udp);
            uv_timer_init(loop_, &n->timer);
            n->udp.data = n;
            n->timer.data = n;
            n->handles_open = 2;
            in_flight_.push_back(n);
            // An ephemeral port of the target's family, bound before receiving.
            sockaddr_storage any{};
            any.ss_family = target.address.ss_family;
            if (uv_udp_bind(&n->udp, reinterpret_cast<const sockaddr*>(&any), 0) != 0 ||
                uv_udp_recv_start(&n->udp, Notification::on_alloc, Notification::on_read) != 0) {
                finish(n, false, "cannot open a UDP socket");
                continue;
            }
            n->send_attempt();
        }
    }
}

}  // namespace meridian::server
