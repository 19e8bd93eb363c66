@testable import EVPrefork
import Glibc
import XCTest

/// The accept mutex's fairness rule reads the others' counts from here.
final class WorkerLoadsTests: XCTestCase {
    func testFewestIgnoresOwnSlotAndSlotsNotInUse() throws {
        let loads = try WorkerLoads()
        XCTAssertNil(loads.fewest(besides: 0))
        loads.assign(0)
        loads.assign(2)
        loads.publish(30, at: 0)
        // Slot 2 is handed out but its worker has not published yet: not a contender.
        XCTAssertNil(loads.fewest(besides: 0))
        loads.publish(0, at: 2)
        XCTAssertEqual(loads.fewest(besides: 0), 0)
        XCTAssertEqual(loads.fewest(besides: 2), 30)
        loads.assign(1)
        loads.publish(7, at: 1)
        XCTAssertEqual(loads.fewest(besides: 2), 7)
        loads.clear(1)
        XCTAssertEqual(loads.fewest(besides: 2), 30)
    }

    func testAReassignedSlotForgetsItsLastWorker() throws {
        let loads = try WorkerLoads()
        loads.assign(0)
        loads.assign(1)
        loads.publish(5, at: 0)
        loads.publish(9, at: 1)
        loads.assign(1)
        XCTAssertNil(loads.fewest(besides: 0))
    }

    func testAForkedChildWritesWhatTheParentReads() throws {
        let loads = try WorkerLoads()
        loads.assign(0)
        loads.assign(1)
        loads.publish(3, at: 0)
        let pid = fork()
        if pid == 0 {
            loads.publish(41, at: 1)
            _exit(0)
        }
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        XCTAssertEqual(loads.fewest(besides: 0), 41)
    }
}
