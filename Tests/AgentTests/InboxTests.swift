import Bridge
import Dispatch
import Foundation
import Synchronization
import Testing
import TidemarkProtocol

@testable import Agent

@Suite("Pipeline inbox")
struct InboxTests {
    static let account = AccountID(server: "Demo", login: 7)

    static func deliveries(from first: UInt64, count: Int) -> [BridgeDelivery] {
        (0..<UInt64(count)).map { offset in
            BridgeDelivery(
                account: account, sessionID: "s", sequence: first + offset,
                message: .heartbeat(BrokerTime(milliseconds: Int64(first + offset))))
        }
    }

    static func openInbox(capacity: Int) -> Inbox {
        let inbox = Inbox(capacity: capacity)
        inbox.openDeliveries()
        return inbox
    }

    /// Under sustained load the writer never empties the inbox; the taken prefix must still be
    /// reclaimed (it once grew by every message ever received, ~1 GB after 10 M ticks).
    @Test func storageStaysBoundedWhileNeverEmpty() throws {
        let inbox = Self.openInbox(capacity: 1_000_000)
        var next: UInt64 = 1
        var expected: UInt64 = 1
        for _ in 0..<300 {
            #expect(inbox.deliver(Self.deliveries(from: next, count: 1_000)))
            next += 1_000
            let taken = try #require(inbox.take(maximum: 999, until: nil))
            for delivery in taken.deliveries {
                #expect(delivery.sequence == expected)
                expected += 1
            }
        }
        // 300,000 delivered, 299,700 taken, 300 waiting: storage holds the waiting ones plus at
        // most one reclaim threshold (16,384) and one delivery of slack.
        #expect(expected == 299_701)
        #expect(inbox.storedDeliveryCount < 20_000)
    }

    @Test func takeWithDeadlineReturnsEmptyThenNilWhenFinished() throws {
        let inbox = Self.openInbox(capacity: 10)
        let empty = inbox.take(maximum: 5, until: .now + .milliseconds(20))
        #expect(empty?.isEmpty == true)
        #expect(inbox.deliver(Self.deliveries(from: 1, count: 3)))
        inbox.finish()
        #expect(inbox.take(maximum: 5, until: nil)?.deliveries.map(\.sequence) == [1, 2, 3])
        #expect(inbox.take(maximum: 5, until: nil) == nil)
        #expect(!inbox.deliver(Self.deliveries(from: 4, count: 1)))
    }

    /// A rules file's declarations precede every input: deliveries wait until the prelude is done.
    @Test func deliveriesWaitUntilOpenedWhileRequestsPass() async throws {
        let inbox = Inbox(capacity: 10)
        #expect(inbox.deliver(Self.deliveries(from: 1, count: 2)))
        let registered = Task {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                #expect(inbox.submit(.registration(Self.account, .mt5, continuation)))
            }
        }
        var first: Inbox.Input?
        while first?.requests.isEmpty ?? true { first = inbox.take(maximum: 10, until: .now + .milliseconds(50)) }
        #expect(first?.deliveries.isEmpty == true)
        for request in first?.requests ?? [] {
            if case .registration(_, _, let continuation) = request { continuation.resume() }
        }
        try await registered.value
        inbox.openDeliveries()
        #expect(inbox.take(maximum: 10, until: nil)?.deliveries.map(\.sequence) == [1, 2])
    }

    /// Backpressure: the socket thread blocks while the inbox is over capacity, goes on once the
    /// writer takes, and gives up (false) when the inbox finishes.
    @Test func deliverBlocksWhileFullUntilTakenOrFinished() throws {
        let inbox = Self.openInbox(capacity: 4)
        #expect(inbox.deliver(Self.deliveries(from: 1, count: 4)))
        let firstAccepted = Atomic<Bool>(false)
        let secondRefused = Atomic<Bool>(false)
        let firstDone = DispatchSemaphore(value: 0)
        let secondDone = DispatchSemaphore(value: 0)
        DispatchQueue.global().async {
            // Over capacity: blocks until the writer takes.
            firstAccepted.store(inbox.deliver(Self.deliveries(from: 5, count: 4)), ordering: .relaxed)
            firstDone.signal()
            // Full again (5…8 wait): blocks until finished.
            secondRefused.store(!inbox.deliver(Self.deliveries(from: 9, count: 4)), ordering: .relaxed)
            secondDone.signal()
        }
        #expect(firstDone.wait(timeout: .now() + .milliseconds(100)) == .timedOut)
        #expect(inbox.take(maximum: 100, until: nil)?.deliveries.map(\.sequence) == [1, 2, 3, 4])
        #expect(firstDone.wait(timeout: .now() + .seconds(5)) == .success)
        let accepted = firstAccepted.load(ordering: .relaxed)
        #expect(accepted)
        #expect(secondDone.wait(timeout: .now() + .milliseconds(100)) == .timedOut)
        inbox.finish()
        #expect(secondDone.wait(timeout: .now() + .seconds(5)) == .success)
        let refused = secondRefused.load(ordering: .relaxed)
        #expect(refused)
        // What was accepted before the finish is still taken.
        #expect(inbox.take(maximum: 100, until: nil)?.deliveries.map(\.sequence) == [5, 6, 7, 8])
        #expect(inbox.take(maximum: 100, until: nil) == nil)
    }

    /// A checkpoint encoded off the writer wakes a writer that waits with nothing to take.
    @Test func wakeWriterEndsAWaitWithoutInput() throws {
        let inbox = Self.openInbox(capacity: 4)
        DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(20)) { inbox.wakeWriter() }
        let started = ContinuousClock.now
        let woken = inbox.take(maximum: 10, until: nil)
        #expect(woken?.isEmpty == true)
        #expect(ContinuousClock.now - started < .seconds(5))
    }

    /// The socket thread delivering batches of random sizes into a small inbox while the writer
    /// takes random amounts with random deadlines and wake-ups arrive from a third thread: every
    /// delivery arrives once, in order, and nobody sleeps through a wake-up (the test would hang).
    @Test(.timeLimit(.minutes(1))) func concurrentDeliveriesTakesAndWakeUpsLoseNothing() throws {
        let inbox = Self.openInbox(capacity: 64)
        let total: UInt64 = 200_000
        DispatchQueue.global().async {
            var random = SplitMix64(seed: 1)
            var next: UInt64 = 1
            while next <= total {
                let count = Int(min(total - next + 1, UInt64.random(in: 1...300, using: &random)))
                _ = inbox.deliver(Self.deliveries(from: next, count: count))
                next += UInt64(count)
            }
            inbox.finish()
        }
        let wakingStopped = Atomic<Bool>(false)
        DispatchQueue.global().async {
            while !wakingStopped.load(ordering: .relaxed) {
                inbox.wakeWriter()
                usleep(50)
            }
        }
        defer { wakingStopped.store(true, ordering: .relaxed) }
        var random = SplitMix64(seed: 2)
        var expected: UInt64 = 1
        var outOfOrder = 0
        while let input = inbox.take(
            maximum: Int.random(in: 1...500, using: &random),
            until: Bool.random(using: &random) ? nil : .now + .microseconds(Int64.random(in: 0...200, using: &random)))
        {
            for delivery in input.deliveries {
                if delivery.sequence != expected { outOfOrder += 1 }
                expected = delivery.sequence + 1
            }
        }
        #expect(outOfOrder == 0)
        #expect(expected == total + 1)
    }
}
