#ifndef EVPREFORK_CLIBEVENT_SHIM_H
#define EVPREFORK_CLIBEVENT_SHIM_H
// The one door from Swift into libevent 2.1. Keep it to libevent's headers and
// tiny inline helpers for what Swift cannot express; POSIX comes from Glibc.
// System headers first: libevent's event-config.h defines _GNU_SOURCE, and a
// system header first seen after that would be built differently here than
// in Glibc's and Dispatch's modules, which Clang refuses to merge.
#include <stdio.h>
#include <errno.h>
#include <time.h>
#include <stdint.h>
#include <stdarg.h>
#include <stddef.h>
#include <inttypes.h>
#include <sys/types.h>
#include <sys/time.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <netdb.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <linux/openat2.h>

#include <event2/event.h>
#include <event2/http.h>
#include <event2/http_struct.h>
#include <event2/keyvalq_struct.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/listener.h>
#include <event2/util.h>

// evhttp 2.1 never tells the application which socket a new connection is on,
// nor when a connection goes away unless it already has a request. To see
// every connection from accept to close, evprefork puts its own accept
// callback in front of evhttp's: it reads evhttp's callback out of the
// listener once, replaces it, and calls it for each accepted socket.
// `struct evconnlistener` is private; this mirrors its first fields in
// libevent 2.1.12 (listener.c). The caller checks that the user_data read
// back is the evhttp it bound, so a different layout is detected, not trusted.
struct evprefork_listener_head {
    const void *ops;
    void *lock;
    evconnlistener_cb cb;
    evconnlistener_errorcb errorcb;
    void *user_data;
};

static inline evconnlistener_cb evprefork_listener_callback(struct evconnlistener *lev, void **user_data) {
    const struct evprefork_listener_head *head = (const struct evprefork_listener_head *)lev;
    *user_data = head->user_data;
    return head->cb;
}

// The evhttp_connection a server-side bufferevent belongs to: evhttp passes it
// as the callbacks' argument.
static inline struct evhttp_connection *evprefork_bufferevent_connection(struct bufferevent *bev) {
    void *arg = NULL;
    bufferevent_getcb(bev, NULL, NULL, NULL, &arg);
    return (struct evhttp_connection *)arg;
}

// openat2(2) has no glibc wrapper in bookworm and syscall(2) is variadic,
// which Swift cannot call. Static files are opened with RESOLVE_NO_SYMLINKS:
// a file the kernel opens that way is exactly where its name says
// (Routes/Static/StaticRoot.swift).
static inline int evprefork_openat2(int dirfd, const char *path, uint64_t flags, uint64_t resolve) {
#ifdef SYS_openat2
    struct open_how how = { .flags = flags, .mode = 0, .resolve = resolve };
    return (int)syscall(SYS_openat2, dirfd, path, &how, sizeof how);
#else
    errno = ENOSYS;
    return -1;
#endif
}

#endif
