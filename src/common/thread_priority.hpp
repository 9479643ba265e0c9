// The data plane outranks the control plane: threads that reload, probe and serve the admin API
// run at a lower scheduling priority than the workers, so that a reload or a burst of admin
// requests on a busy machine delays itself rather than the answers (on a shared core a worker
// waiting out a reload's time slice would let its socket's receive queue overflow).
#pragma once

namespace meridian {

// Lowers the calling thread's priority (nice +10; raising nice needs no privilege). Threads it
// starts afterwards inherit it, so call it after the workers are started. Best effort.
void lower_to_control_plane_priority() noexcept;

}  // namespace meridian
