#include "common/thread_priority.hpp"

#include <sys/resource.h>
#include <unistd.h>

namespace meridian {

namespace {

constexpr int kControlPlaneNice = 10;

}  // namespace

void lower_to_control_plane_priority() noexcept {
    // On Linux the "process" of PRIO_PROCESS is a thread id: only this thread changes.
    const auto thread = static_cast<id_t>(gettid());
    const int current = getpriority(PRIO_PROCESS, thread);
    if (current < kControlPlaneNice) setpriority(PRIO_PROCESS, thread, kControlPlaneNice);
}

}  // namespace meridian
