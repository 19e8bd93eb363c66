#include <event2/event.h>
#include <event2/event_struct.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_struct.h>
#include "evprefork_internals.h"

int evprefork_bufferevent_set_read_handler(struct bufferevent *bev,
                                           void (*callback)(int fd, short what, void *argument),
                                           void *argument) {
    evutil_socket_t fd = bufferevent_getfd(bev);
    if (fd < 0) return -1;
    // event_assign needs an event that is not added: take it out, and put it
    // back as bufferevent_enable would (with the read timeout, if one is set).
    int reading = event_pending(&bev->ev_read, EV_READ, NULL);
    if (reading) event_del(&bev->ev_read);
    // The flags libevent's bufferevent_setfd gives it: EV_FINALIZE keeps the
    // bufferevent's deferred free working.
    if (event_assign(&bev->ev_read, bev->ev_base, fd, EV_READ | EV_PERSIST | EV_FINALIZE, callback,
                     argument ? argument : bev) != 0)
        return -1;
    if (reading) {
        const struct timeval *timeout = evutil_timerisset(&bev->timeout_read) ? &bev->timeout_read : NULL;
        event_add(&bev->ev_read, timeout);
    }
    return 0;
}
