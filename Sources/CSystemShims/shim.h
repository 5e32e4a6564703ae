#ifndef TIDEMARK_CSYSTEMSHIMS_H
#define TIDEMARK_CSYSTEMSHIMS_H
/* Operating-system headers that Glibc's Swift module leaves out or that Swift cannot call. */
#ifdef __linux__
#include <sys/prctl.h>
/* epoll: the simulator waits on its sockets' ZMQ_FDs with it. */
#include <sys/epoll.h>
/* Names the calling thread (15 bytes at most) for perf and top -H; prctl is variadic, so Swift
   cannot call it directly. */
static inline void tidemark_set_thread_name(const char *name) { prctl(PR_SET_NAME, name, 0, 0, 0); }
#endif
#endif
