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

    /// Checks every byte the client sends before evhttp parses it (RequestGuard.swift).
    /// Unchecked: its `feed` is a mutating call the compiler cannot see
    /// through, so each of the three per request was checked at run time
    /// (about 70 instructions each); nothing it calls touches the connection.
    @exclusivity(unchecked) var requestGuard: RequestGuard
    /// The request the guard refused. evhttp never sees it; the server
    /// answers it on the socket once the requests before it are answered.
    var rejection: RequestGuard.Rejection?
    var rejectionAnswered = false
    /// What of that answer the socket did not take yet.
    var unsentAnswer: [UInt8] = []
    /// When the lingering close after that answer ends (loop clock).
    var lingerUntil = 0.0
    /// True while the server itself puts bytes back into the input buffer.
    var reinserting = false

    // The direct path (HTTPServer+Direct.swift).
    /// evhttp has taken part of a request from the input, or will take the
    /// request at its front: no direct answer until its answer is written.
    var evhttpOwnsInput = false
    /// True while the server itself drains the input buffer.
    var selfDraining = false
    /// Direct answers wait in the output buffer.
    var directPending = false
    /// A direct answer ended the connection: it closes once that is written.
    var closing = false
    /// evhttp has freed the connection (its close callback ran).
    var freed = false

    init(evcon: OpaquePointer, fd: Int32, remote: String, now: Double,
         guardLimits: RequestGuard.Limits = .init(maxHeaderSize: 16 << 10, maxBodySize: 1 << 20)) {
        self.evcon = evcon; self.fd = fd; self.remote = remote; self.since = now
        requestGuard = RequestGuard(limits: guardLimits)
    }

    var input: OpaquePointer? {
        guard let bev = evhttp_connection_get_bufferevent(evcon) else { return nil }
        return bufferevent_get_input(bev)
    }
}
