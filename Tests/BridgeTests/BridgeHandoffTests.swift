import Bridge
import Foundation
import Synchronization
import Testing
import TestSupport

/// Atomics are not copyable; a class lets escaping closures share one.
final class SharedCounter: Sendable {
    private let value = Atomic<Int>(0)
    func add(_ amount: Int = 1) { value.add(amount, ordering: .relaxed) }
    func set(_ amount: Int) { value.store(amount, ordering: .relaxed) }
    var current: Int { value.load(ordering: .relaxed) }
}

/// Runs `body` on its own OS thread, like the bridge's socket loop: a producer that blocks must
/// not hold one of the threads Swift concurrency (and Dispatch) share.
private func onOwnThread(_ body: @escaping @Sendable () -> Void) -> SharedCounter {
    let done = SharedCounter()
    Thread.detachNewThread {
        body()
        done.set(1)
    }
    return done
}

@Suite("Bounded handoff")
struct BridgeHandoffTests {
    @Test func deliversEverythingInOrderAndNeverQueuesMoreThanItsCapacity() async throws {
        let handoff = BridgeHandoff<Int>(capacity: 8)
        let overfilled = SharedCounter()
        let producerDone = onOwnThread {
            var next = 0
            while next < 10_000 {
                let batch = Array(next..<min(next + 3, 10_000))
                next += batch.count
                handoff.push(batch)
                // A batch may overshoot by itself, never by more.
                if handoff.queuedCount > 8 + 3 { overfilled.set(1) }
            }
            handoff.finish()
        }
        var expected = 0
        for await value in handoff.elements {
            #expect(value == expected)
            expected += 1
        }
        #expect(expected == 10_000)
        #expect(overfilled.current == 0)
        try await eventually("the producer finished") { producerDone.current == 1 }
    }

    @Test func aFullQueueBlocksTheProducerUntilFinishReleasesIt() async throws {
        let handoff = BridgeHandoff<Int>(capacity: 2)
        let pushes = SharedCounter()
        let refused = SharedCounter()
        let producerDone = onOwnThread {
            for value in 0..<100 {
                guard handoff.push([value]) else { refused.set(1); break }
                pushes.add()
            }
        }
        // Nobody reads: the producer gets exactly two messages in, then waits.
        try await eventually("two items queued") { handoff.queuedCount >= 2 }
        #expect(pushes.current <= 2)
        handoff.finish()
        try await eventually("the producer finished") { producerDone.current == 1 }
        #expect(refused.current == 1)
        #expect(pushes.current == 2)
        // What was queued before the end is still delivered.
        var drained: [Int] = []
        for await value in handoff.elements { drained.append(value) }
        #expect(drained == [0, 1])
    }

    @Test func batchesArriveAsTheyWerePushed() async throws {
        let handoff = BridgeHandoff<Int>(capacity: 100)
        handoff.push([1, 2])
        handoff.push([3])
        handoff.finish()
        var batches: [[Int]] = []
        for await batch in handoff.batches { batches.append(batch) }
        #expect(batches == [[1, 2], [3]])
    }
}
