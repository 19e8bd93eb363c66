import CLibevent

/// What evprefork knows of one client connection that evhttp serves. evhttp
/// owns the `evhttp_connection` and its bufferevent; this object only
/// watches: it learns of the connection at accept and of its end through
/// evhttp's close callback, and sees bytes arrive through a callback on the
/// input buffer, before evhttp parses them.
final class Connection {
    enum State {
        /// Between requests: nothing received since the last response.
        case idle
        /// Bytes of a request have arrived; evhttp has not dispatched it yet.
        case receiving
        /// A handler has the request; its response is not finished.
        case handling
        /// Handed to a WebSocket or tunnel; evhttp no longer drives it.
        case detached
    }

    let evcon: OpaquePointer
    let fd: Int32
    let remote: String
    var state = State.idle
    var requests = 0
    /// When the current state began, on the loop's cached clock.
    var since: Double
    var inputCallback: OpaquePointer?

    init(evcon: OpaquePointer, fd: Int32, remote: String, now: Double) {
        self.evcon = evcon; self.fd = fd; self.remote = remote; self.since = now
    }

    var input: OpaquePointer? {
        guard let bev = evhttp_connection_get_bufferevent(evcon) else { return nil }
        return bufferevent_get_input(bev)
    }
}
