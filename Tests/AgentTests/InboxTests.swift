@testable import Agent
import Bridge
import Testing
import TidemarkProtocol

@Suite("Pipeline inbox")
struct InboxTests {
    static let account = AccountID(server: "Demo", login: 7)

    static func deliveries(from first: UInt64, count: Int) -> [BridgeDelivery] {
        (0..<UInt64(count)).map { offset in
            BridgeDelivery(account: account, sessionID: "s", sequence: first + offset,
                           message: .heartbeat(BrokerTime(milliseconds: Int64(first + offset))))
        }
    }

    /// Under sustained load the writer never empties the inbox; the taken prefix must still be
    /// reclaimed (it once grew by every message ever received, ~1 GB after 10 M ticks).
    @Test func storageStaysBoundedWhileNeverEmpty() async throws {
        let inbox = Inbox(capacity: 1_000_000)
        var next: UInt64 = 1
        var expected: UInt64 = 1
        for _ in 0..<300 {
            await inbox.push(Self.deliveries(from: next, count: 1_000))
            next += 1_000
            let taken = try #require(await inbox.take(maximum: 999, deadline: nil))
            for item in taken {
                guard case .delivery(let delivery) = item else { Issue.record("not a delivery"); return }
                #expect(delivery.sequence == expected)
                expected += 1
            }
        }
        // 300,000 pushed, 299,700 taken, 300 waiting: storage holds the waiting ones plus at most
        // one reclaim threshold (16,384) and one push of slack.
        #expect(expected == 299_701)
        #expect(inbox.storedItemCount < 20_000)
    }

    @Test func takeWithDeadlineReturnsEmptyThenNilWhenFinished() async throws {
        let inbox = Inbox(capacity: 10)
        let empty = await inbox.take(maximum: 5, deadline: .now + .milliseconds(20))
        #expect(empty?.isEmpty == true)
        await inbox.push(Self.deliveries(from: 1, count: 3))
        inbox.finish()
        #expect(await inbox.take(maximum: 5, deadline: nil)?.count == 3)
        #expect(await inbox.take(maximum: 5, deadline: nil) == nil)
    }
}
