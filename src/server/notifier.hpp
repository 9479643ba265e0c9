// NOTIFY (RFC 1996) on the control loop: when a snapshot is published, every zone whose serial
// differs from the one last notified has each of its [transfer] notify secondaries told, over
// UDP, each attempt waiting twice as long as the one before, a few attempts. Never on the query
// path; the messages themselves are xfr::make_notify's.
#pragma once

#include <uv.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "answer/snapshot.hpp"
#include "xfr/transfer.hpp"

namespace meridian::server {

struct NotifySchedule {
    unsigned attempts = 5;             // RFC 1996 §3.6: retry, a few times
    uint64_t first_timeout_ms = 1000;  // doubled after each unanswered attempt
};

class Notifier {
public:
    Notifier(uv_loop_t* loop, xfr::Counters* counters, NotifySchedule schedule = {});
    ~Notifier();
    Notifier(const Notifier&) = delete;
    Notifier& operator=(const Notifier&) = delete;

    // Notifies the secondaries of every zone whose serial changed since it was last notified
    // (every zone with secondaries, the first time).
    void apply(const answer::Snapshot& snapshot);
    // Closes what is in flight (its handles close on the loop's last run).
    void stop();

private:
    struct Notification;
    void finish(Notification* n, bool is_acknowledged, const std::string& outcome);

    uv_loop_t* loop_;
    xfr::Counters* counters_;
    NotifySchedule schedule_;
    std::map<std::string, uint32_t> notified_serial_;  // by zone origin (wire form)
    std::vector<Notification*> in_flight_;             // owned; each deletes itself once closed
    uint16_t next_id_;
};

}  // namespace meridian::server
