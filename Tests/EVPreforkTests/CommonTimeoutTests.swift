import CLibevent
@testable import EVPrefork
import Glibc
import XCTest

/// Connection timeouts are libevent common timeouts (a queue per duration,
/// not the heap); they must fire, and be pushed back by traffic, as plain ones do.
final class CommonTimeoutTests: XCTestCase {
    private func monotonic() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    /// A bufferevent on one end of a socket pair, reading, with `seconds` read timeout.
    private func reader(_ loop: EventLoop, seconds: Double) throws -> (BufferEvent, peer: Int32) {
        var fds: [Int32] = [0, 0]
        XCTAssertEqual(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &fds), 0)
        _ = fcntl(fds[0], F_SETFL, O_NONBLOCK)
        let stream = try XCTUnwrap(BufferEvent(loop: loop, fd: fds[0]))
        stream.setTimeouts(read: seconds, write: nil)
        stream.enable(read: true)
        return (stream, fds[1])
    }

    /// Runs `body` with a loop that outlives everything `body` made on it:
    /// an optimized build may release a local as soon as it is last used,
    /// and a bufferevent freed after its event base is a crash.
    private func withLoop(_ body: (EventLoop) throws -> Void) throws {
        let loop = try EventLoop()
        try withExtendedLifetime(loop) { try body(loop) }
    }

    func testReadTimeoutFiresAfterItsDuration() throws { try withLoop { loop in
        let (stream, peer) = try reader(loop, seconds: 0.15)
        defer { close(peer) }
        let start = monotonic()
        var fired: (flags: Int16, at: Double)?
        stream.onEvent = { flags in
            fired = (flags, self.monotonic() - start)
            loop.stop()
        }
        withExtendedLifetime(stream) { loop.run() }
        let (flags, at) = try XCTUnwrap(fired)
        XCTAssertEqual(flags, Int16(BEV_EVENT_READING | BEV_EVENT_TIMEOUT))
        XCTAssertGreaterThanOrEqual(at, 0.14)
        XCTAssertLessThan(at, 0.6)
    } }

    func testBytesReadPushTheTimeoutBack() throws { try withLoop { loop in
        let (stream, peer) = try reader(loop, seconds: 0.2)
        defer { close(peer) }
        let start = monotonic()
        var reads = 0
        let input = stream.input
        stream.onRead = {
            evbuffer_drain(input, evbuffer_get_length(input))
            reads += 1
        }
        var firedAt: Double?
        stream.onEvent = { _ in
            firedAt = self.monotonic() - start
            loop.stop()
        }
        // Traffic at 0.1 s and 0.2 s: the timeout is 0.2 s after the last, not after the start.
        for delay in [0.1, 0.2] {
            LoopEvent.once(loop, after: delay) { _ = write(peer, "x", 1) }
        }
        withExtendedLifetime(stream) { loop.run() }
        XCTAssertEqual(reads, 2)
        let at = try XCTUnwrap(firedAt)
        XCTAssertGreaterThanOrEqual(at, 0.39)
        XCTAssertLessThan(at, 0.9)
    } }

    func testDifferentDurationsOnOneLoopFireInTheirOrder() throws { try withLoop { loop in
        let (slow, slowPeer) = try reader(loop, seconds: 0.3)
        let (fast, fastPeer) = try reader(loop, seconds: 0.1)
        defer { close(slowPeer); close(fastPeer) }
        var order: [String] = []
        fast.onEvent = { _ in order.append("fast") }
        slow.onEvent = { _ in
            order.append("slow")
            loop.stop()
        }
        withExtendedLifetime((slow, fast)) { loop.run() }
        XCTAssertEqual(order, ["fast", "slow"])
    } }

    func testPastLibeventsLimitADurationIsAPlainTimeval() throws { try withLoop { loop in
        // libevent keeps at most 256 common durations per base.
        for i in 1...300 {
            let seconds = Double(i) / 100
            let t = timeval(commonSeconds: seconds, base: loop.base)
            let plain = timeval(seconds: seconds)
            XCTAssertEqual(t.tv_sec, plain.tv_sec)
            XCTAssertEqual(t.tv_usec & 0xFFFFF, plain.tv_usec, "the microseconds, below libevent's magic bits")
            if i <= 256 {
                XCTAssertNotEqual(t.tv_usec, plain.tv_usec, "a common timeout carries libevent's mark")
            } else {
                XCTAssertEqual(t.tv_usec, plain.tv_usec, "no room left: a plain timeval")
            }
        }
    } }
}
