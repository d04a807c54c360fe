#ifndef ONSR_CMALLOC_SHIM_H
#define ONSR_CMALLOC_SHIM_H
/* Process-level glibc calls that Swift's Glibc module does not export (or cannot call, being variadic):
   the allocator tuning (mallopt) and the parent-death signal (prctl). */
#include <malloc.h>
#include <signal.h>
#include <sys/prctl.h>

static inline int onsr_set_parent_death_signal(int signal_number) {
    return prctl(PR_SET_PDEATHSIG, signal_number, 0, 0, 0);
}
#endif
