#ifndef ONSR_CMALLOC_SHIM_H
#define ONSR_CMALLOC_SHIM_H
/* Process-level glibc calls that Swift's Glibc module does not export (or cannot call, being variadic):
   the allocator tuning (mallopt), the parent-death signal (prctl) and a thread's own nice value. */
#include <errno.h>
#include <malloc.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

static inline int onsr_set_parent_death_signal(int signal_number) {
    return prctl(PR_SET_PDEATHSIG, signal_number, 0, 0, 0);
}

/* The kernel's id of the calling thread. */
static inline int onsr_thread_id(void) {
    return (int)syscall(SYS_gettid);
}

/* Linux keeps a nice value per thread: raises the calling thread's by `increment` (0 on success). */
static inline int onsr_lower_thread_priority(int increment) {
    pid_t thread = (pid_t)onsr_thread_id();
    errno = 0;
    int current = getpriority(PRIO_PROCESS, (id_t)thread);
    if (current == -1 && errno != 0) return -1;
    return setpriority(PRIO_PROCESS, (id_t)thread, current + increment);
}
#endif
