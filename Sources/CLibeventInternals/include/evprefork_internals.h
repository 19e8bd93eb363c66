#ifndef EVPREFORK_LIBEVENT_INTERNALS_H
#define EVPREFORK_LIBEVENT_INTERNALS_H
// What the public libevent API cannot do, done through the structs libevent
// 2.1 publishes in event2/*_struct.h. Kept out of the CLibevent shim: a
// complete `struct bufferevent` there would change how Swift sees every
// bufferevent pointer (OpaquePointer today).

struct bufferevent;

// Puts `callback` in place of libevent's own read callback on a socket
// bufferevent's read event, keeping whether reading is enabled and its
// timeout. libevent's asks the kernel how many bytes are waiting (ioctl
// FIONREAD) before every read. The callback's argument is `argument`, or
// the bufferevent when that is NULL. Returns 0, or -1 when the bufferevent
// has no socket yet.
int evprefork_bufferevent_set_read_handler(struct bufferevent *bev,
                                           void (*callback)(int fd, short what, void *argument),
                                           void *argument);

#endif
