#ifndef TIDEMARK_CZEROMQ_SHIM_H
#define TIDEMARK_CZEROMQ_SHIM_H
#include <zmq.h>
#endif
