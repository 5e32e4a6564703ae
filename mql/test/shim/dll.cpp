// The DLLs the EAs import (ZeroMQ.mqh's #import blocks), with the EA's own MQL signatures, over
// Debian's libzmq. On MQL4 the EA holds pointers in 32-bit ints (a 32-bit terminal); this 64-bit
// process keeps them in a handle table instead, so the EA code runs unchanged. What this cannot
// prove (the 32-bit calling convention of the real libzmq.dll) is listed in mql/README.md.
//
// The binding also reports what crosses the socket to the fake terminal (terminal.cpp): the
// sequence of every frame sent, every ACK and REJECT received, so scenarios can wait for the agent.
#include "mql.h"
#include "terminal.h"

#include <cstring>
#include <map>
#include <zmq.h>

#ifdef __MQL5__
typedef long Handle;
typedef ulong Size;
static void *pointerOf(Handle h) { return reinterpret_cast<void *>(h); }
static Handle handleOf(const void *p) { return reinterpret_cast<Handle>(p); }
#else
typedef int Handle;
typedef uint Size;
static std::map<int, const void *> handles;
static int nextHandle = 0x1000;
static void *pointerOf(Handle h) {
  auto found = handles.find(h);
  return found == handles.end() ? nullptr : const_cast<void *>(found->second);
}
static Handle handleOf(const void *p) {
  if (!p) return 0;
  for (auto &entry : handles) if (entry.second == p) return entry.first;
  handles[nextHandle] = p;
  return nextHandle++;
}
#endif

static void *lastSocket = nullptr;

bool FakeAgentFrameWaiting(long timeoutMs) {
  if (!lastSocket) return false;
  zmq_pollitem_t item = {lastSocket, 0, ZMQ_POLLIN, 0};
  return ::zmq_poll(&item, 1, timeoutMs) > 0 && (item.revents & ZMQ_POLLIN);
}

namespace mql_import_libzmq {
Handle zmq_ctx_new() { return handleOf(::zmq_ctx_new()); }
int zmq_ctx_term(Handle context) { return ::zmq_ctx_term(pointerOf(context)); }
Handle zmq_socket(Handle context, int type) {
  void *socket = ::zmq_socket(pointerOf(context), type);
  if (type == ZMQ_DEALER) lastSocket = socket;
  return handleOf(socket);
}
int zmq_close(Handle socket) {
  if (pointerOf(socket) == lastSocket) lastSocket = nullptr;
  return ::zmq_close(pointerOf(socket));
}
int zmq_setsockopt(Handle socket, int option, const MqlArray<uchar> &value, Size size) {
  return ::zmq_setsockopt(pointerOf(socket), option, const_cast<MqlArray<uchar> &>(value).data(), size);
}
int zmq_connect(Handle socket, const MqlArray<uchar> &endpoint) {
  return ::zmq_connect(pointerOf(socket), reinterpret_cast<const char *>(const_cast<MqlArray<uchar> &>(endpoint).data()));
}
int zmq_send(Handle socket, const MqlArray<uchar> &buffer, Size size, int flags) {
  FakeTerminal &terminal = FakeTerminal::instance();
  if (terminal.queueFull) {
    // zmq_send with ZMQ_DONTWAIT on a full queue: -1, EAGAIN (zmq_send(3)).
    terminal.lastErrno = EAGAIN;
    errno = EAGAIN;
    return -1;
  }
  if (terminal.linkDown) {
    // The link is down: the EA's DEALER queues until its high-water mark; here the frame is lost, as
    // one queued on a socket that is then closed (LINGER 0) would be.
    terminal.noteLostFrame(std::string(reinterpret_cast<const char *>(const_cast<MqlArray<uchar> &>(buffer).data()), size));
    return (int)size;
  }
  int sent = ::zmq_send(pointerOf(socket), const_cast<MqlArray<uchar> &>(buffer).data(), size, flags);
  if (sent >= 0)
    terminal.noteSentFrame(std::string(reinterpret_cast<const char *>(const_cast<MqlArray<uchar> &>(buffer).data()), size));
  return sent;
}
int zmq_recv(Handle socket, MqlArray<uchar> &buffer, Size size, int flags) {
  FakeTerminal &terminal = FakeTerminal::instance();
  if (terminal.linkDown) {
    errno = EAGAIN;
    terminal.lastErrno = EAGAIN;
    return -1;
  }
  int received = ::zmq_recv(pointerOf(socket), buffer.data(), size, flags);
  if (received < 0) terminal.lastErrno = ::zmq_errno();
  else terminal.noteReceivedFrame(std::string(reinterpret_cast<const char *>(buffer.data()),
                                              std::min<size_t>((size_t)received, size)));
  return received;
}
int zmq_errno() {
  FakeTerminal &terminal = FakeTerminal::instance();
  int error = terminal.lastErrno ? terminal.lastErrno : ::zmq_errno();
  terminal.lastErrno = 0;
  // On Windows libzmq reports EAGAIN as the C runtime's 11 (ZeroMQ.mqh, ZMQ_EAGAIN).
  return error == EAGAIN ? 11 : error;
}
Handle zmq_strerror(int error) { return handleOf(::zmq_strerror(error == 11 ? EAGAIN : error)); }
void zmq_version(int &major, int &minor, int &patch) { ::zmq_version(&major, &minor, &patch); }
int zmq_has(const MqlArray<uchar> &capability) {
  return ::zmq_has(reinterpret_cast<const char *>(const_cast<MqlArray<uchar> &>(capability).data()));
}
int zmq_socket_monitor(Handle socket, const MqlArray<uchar> &endpoint, int events) {
  return ::zmq_socket_monitor(pointerOf(socket), reinterpret_cast<const char *>(const_cast<MqlArray<uchar> &>(endpoint).data()),
                              events);
}
} // namespace mql_import_libzmq

namespace mql_import_kernel32 {
int lstrlenA(Handle text) {
  const char *p = static_cast<const char *>(pointerOf(text));
  return p ? (int)std::strlen(p) : 0;
}
void RtlMoveMemory(MqlArray<uchar> &destination, Handle source, Size size) {
  const char *p = static_cast<const char *>(pointerOf(source));
  if (p && size <= (Size)destination.items.size()) std::memcpy(destination.data(), p, size);
}
} // namespace mql_import_kernel32
