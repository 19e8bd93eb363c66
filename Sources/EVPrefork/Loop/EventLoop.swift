import CLibevent
import Glibc

/// One libevent `event_base`, tuned as LIBEVENT.md measured: the epoll
/// changelist folds evhttp's many add/delete calls per request into fewer
/// `epoll_ctl`s.
public final class EventLoop {
    public let base: OpaquePointer

    struct CreateError: Error { var message: String }

    init() throws(CreateError) {
        guard let cfg = event_config_new() else { throw CreateError(message: "event_config_new failed") }
        defer { event_config_free(cfg) }
        event_config_set_flag(cfg, Int32(EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST.rawValue))
        event_config_set_flag(cfg, Int32(EVENT_BASE_FLAG_NOLOCK.rawValue))
        guard let base = event_base_new_with_config(cfg) else { throw CreateError(message: "event_base_new failed") }
        self.base = base
    }

    deinit { event_base_free(base) }

    /// Runs until `stop()` or until nothing is left to wait for.
    func run() { event_base_dispatch(base) }

    func stop() { event_base_loopbreak(base) }

    /// Seconds on the loop's cached clock: cheap enough for every request.
    var now: Double {
        var tv = timeval()
        event_base_gettimeofday_cached(base, &tv)
        return Double(tv.tv_sec) + Double(tv.tv_usec) / 1e6
    }
}

/// A timer or fd watcher whose callback is a Swift closure. The owner keeps it
/// alive; the event is deleted and freed on deinit.
public final class LoopEvent {
    private var event: OpaquePointer!
    private let action: () -> Void

    /// A timer; `repeating` makes it fire every `after` seconds until cancelled.
    init(_ loop: EventLoop, repeating: Bool = false, action: @escaping () -> Void) {
        self.action = action
        let flags = Int16(repeating ? EV_PERSIST : 0)
        event = event_new(loop.base, -1, flags, loopEventTrampoline, Unmanaged.passUnretained(self).toOpaque())
    }

    /// A watcher for readability of `fd`, persistent.
    init(_ loop: EventLoop, readable fd: Int32, action: @escaping () -> Void) {
        self.action = action
        event = event_new(loop.base, fd, Int16(EV_READ | EV_PERSIST), loopEventTrampoline,
                          Unmanaged.passUnretained(self).toOpaque())
    }

    /// A libevent signal watcher: the handler only wakes the loop, which then
    /// runs `action` as an ordinary callback.
    init(_ loop: EventLoop, signal: Int32, action: @escaping () -> Void) {
        self.action = action
        event = event_new(loop.base, signal, Int16(EV_SIGNAL | EV_PERSIST), loopEventTrampoline,
                          Unmanaged.passUnretained(self).toOpaque())
    }

    deinit { event_free(event) }

    func schedule(after seconds: Double) {
        var tv = timeval(seconds: seconds)
        event_add(event, &tv)
    }

    /// Watchers (fd, signal) are armed without a timeout.
    func arm() { event_add(event, nil) }

    func cancel() { event_del(event) }

    fileprivate func fire() { action() }

    /// Runs `action` once on `loop` after `seconds` (0: the next turn), the
    /// event kept alive until then. For work that must not run inside the
    /// callback asking for it.
    static func once(_ loop: EventLoop, after seconds: Double, _ action: @escaping () -> Void) {
        var id: ObjectIdentifier?
        let event = LoopEvent(loop) {
            if let id { pending[id] = nil }
            action()
        }
        id = ObjectIdentifier(event)
        pending[id!] = event
        event.schedule(after: seconds)
    }

    nonisolated(unsafe) private static var pending: [ObjectIdentifier: LoopEvent] = [:]
}

private let loopEventTrampoline: @convention(c) (Int32, Int16, UnsafeMutableRawPointer?) -> Void = { _, _, ctx in
    Unmanaged<LoopEvent>.fromOpaque(ctx!).takeUnretainedValue().fire()
}

extension timeval {
    init(seconds: Double) {
        let s = max(0, seconds)
        self.init(tv_sec: Int(s), tv_usec: Int((s - s.rounded(.down)) * 1_000_000))
    }

    /// `seconds` as one of `base`'s common timeouts: libevent keeps the
    /// events that use it in a queue ordered by deadline instead of its
    /// min-heap. Every connection has the same inactivity timeout, and a
    /// persistent event re-arms it on every read, so a heap would move one
    /// entry down past log2(connections) others per request, touching their
    /// memory; the queue appends at its tail. Falls back to a plain timeval
    /// when the base has no room for another duration (it holds 256).
    init(commonSeconds seconds: Double, base: OpaquePointer) {
        var plain = timeval(seconds: seconds)
        self = event_base_init_common_timeout(base, &plain)?.pointee ?? plain
    }
}
