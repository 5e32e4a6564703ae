import Bridge
import Dispatch
import Synchronization
import Testing

/// Atomics are not copyable; a class lets escaping closures share one.
final class SharedCounter: Sendable {
    private let value = Atomic<Int>(0)
    func add(_ amount: Int = 1) { value.add(amount, ordering: .relaxed) }
    func set(_ amount: Int) { value.store(amount, ordering: .relaxed) }
    var current: Int { value.load(ordering: .relaxed) }
}

@Suite("Bounded handoff")
struct BridgeHandoffTests {
    @Test func deliversEverythingInOrderAndNeverQueuesMoreThanItsCapacity() async {
        let handoff = BridgeHandoff<Int>(capacity: 8)
        let overfilled = SharedCounter()
        let producerDone = DispatchSemaphore(value: 0)
        DispatchQueue.global().async {
            var next = 0
            while next < 10_000 {
                let batch = Array(next..<min(next + 3, 10_000))
                next += batch.count
                handoff.push(batch)
                // A batch may overshoot by itself, never by more.
                if handoff.queuedCount > 8 + 3 { overfilled.set(1) }
            }
            handoff.finish()
            producerDone.signal()
        }
        var expected = 0
        for await value in handoff.elements {
            #expect(value == expected)
            expected += 1
        }
        #expect(expected == 10_000)
        #expect(overfilled.current == 0)
        producerDone.wait()
    }

    @Test func aFullQueueBlocksTheProducerUntilFinishReleasesIt() async {
        let handoff = BridgeHandoff<Int>(capacity: 2)
        let pushes = SharedCounter()
        let refused = SharedCounter()
        let producerDone = DispatchSemaphore(value: 0)
        DispatchQueue.global().async {
            for value in 0..<100 {
                guard handoff.push([value]) else { refused.set(1); break }
                pushes.add()
            }
            producerDone.signal()
        }
        // Nobody reads: the producer gets exactly two messages in, then waits.
        while handoff.queuedCount < 2 { await Task.yield() }
        #expect(pushes.current <= 2)
        handoff.finish()
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            DispatchQueue.global().async { producerDone.wait(); continuation.resume() }
        }
        #expect(refused.current == 1)
        #expect(pushes.current == 2)
        // What was queued before the end is still delivered.
        var drained: [Int] = []
        for await value in handoff.elements { drained.append(value) }
        #expect(drained == [0, 1])
    }
}
