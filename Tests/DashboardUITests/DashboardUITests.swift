import FeedProtocol
import Foundation
import Testing

@testable import Dashboard

@Suite("Live change payloads")
struct LiveChangeTests {
    @Test func aLargeChangeIsSplitUnderTheLimitAndLosesNoAccount() throws {
        let accounts = (0..<1_000).map { "Broker-Live-Server-\($0):\(10_000_000 + $0)" }
        let change = LiveChange(storeId: "store-1", firstEvent: 17, lastEvent: 42, accounts: accounts)
        let payloads = change.payloads()
        #expect(payloads.count > 1)
        #expect(payloads.allSatisfy { $0.utf8.count <= LiveChange.maximumPayloadBytes })
        let decoded = payloads.compactMap(LiveChange.decode(payload:))
        #expect(decoded.count == payloads.count)
        #expect(decoded.flatMap(\.accounts) == accounts)
        // The event range travels once, in the first payload.
        #expect(
            decoded.first?.storeId == "store-1" && decoded.first?.firstEvent == 17 && decoded.first?.lastEvent == 42)
        #expect(decoded.dropFirst().allSatisfy { $0.firstEvent == nil })
        // Each names its origin (a process skips its own for the API, which it woke at once).
        let named = LiveChange(
            storeId: "s", firstEvent: 1, lastEvent: 2, accounts: accounts, eventsThrough: 99, origin: "process-1")
        let parts = named.payloads().compactMap(LiveChange.decode(payload:))
        #expect(parts.count > 1 && parts.allSatisfy { $0.origin == "process-1" })
        #expect(parts.first?.eventsThrough == 99)
    }

    @Test func aSmallChangeIsOnePayload() throws {
        let event = FeedEvent(
            sequence: 5, kind: "tracker", type: "drawdown", accountId: "S:1", subjectId: "dd", brokerTime: 1, body: "{}"
        )
        let change = LiveChange(storedEvents: [event], storeId: "s", accounts: ["S:1", "S:1", "S:2"])
        let payloads = change.payloads()
        #expect(payloads.count == 1)
        #expect(
            LiveChange.decode(payload: payloads[0])
                == LiveChange(storeId: "s", firstEvent: 5, lastEvent: 5, accounts: ["S:1", "S:2"]))
        #expect(LiveChange(storedEvents: [], storeId: "s", accounts: []).isEmpty)
        #expect(LiveChange.decode(payload: "not json") == nil)
    }
}

@Suite("Sessions as signed cookies")
struct UISessionTests {
    let now = Date(timeIntervalSince1970: 1_800_000_000)

    @Test func aSessionIsValidUntilItExpires() {
        let sessions = UISessions(adminToken: String(repeating: "a", count: 64), lifetime: .seconds(3600))
        let cookie = sessions.issue(tokenId: "tok_1", now: now)
        #expect(sessions.tokenId(fromCookie: cookie, now: now) == "tok_1")
        #expect(sessions.tokenId(fromCookie: cookie, now: now.addingTimeInterval(3599)) == "tok_1")
        #expect(sessions.tokenId(fromCookie: cookie, now: now.addingTimeInterval(3600)) == nil)
    }

    @Test func aChangedOrForeignCookieIsRefused() {
        let sessions = UISessions(adminToken: String(repeating: "a", count: 64))
        let cookie = sessions.issue(tokenId: "tok_1", now: now)
        // Another token id, a longer expiry, a flipped MAC digit: all refused.
        #expect(sessions.tokenId(fromCookie: cookie.replacingOccurrences(of: "tok_1", with: "admin"), now: now) == nil)
        let parts = cookie.split(separator: ".")
        #expect(sessions.tokenId(fromCookie: "\(parts[0]).\(Int(parts[1])! + 1).\(parts[2])", now: now) == nil)
        let flipped = String(cookie.dropLast()) + (cookie.last == "0" ? "1" : "0")
        #expect(sessions.tokenId(fromCookie: flipped, now: now) == nil)
        #expect(sessions.tokenId(fromCookie: "garbage", now: now) == nil)
        // A dashboard with another admin token (so another key) does not accept it.
        let other = UISessions(adminToken: String(repeating: "b", count: 64))
        #expect(other.tokenId(fromCookie: cookie, now: now) == nil)
    }
}

@Suite("What a page's stream may carry")
struct UIStreamFrameTests {
    static func row(_ id: String) -> AccountRow {
        AccountRow(
            accountId: id, agent: "CN=a", connected: true, balance: "10000", equity: "9990.5", brokerTime: 1,
            dayStartBalance: nil, agentLastSeen: Date(timeIntervalSince1970: 0), breached: false, challenges: [])
    }
    static func event(_ account: String) -> EventRow {
        EventRow(
            storeId: "s", sequence: 1, agent: "CN=a", kind: "tracker", type: "drawdown", accountId: account,
            subjectId: "dd", brokerTime: 1, body: "{}")
    }

    @Test func aReadOnlyTokenGetsOnlyItsAccounts() throws {
        let update = LiveUpdate(
            change: LiveChange(accounts: ["S:1", "S:2"]), accounts: [Self.row("S:1"), Self.row("S:2")],
            events: [Self.event("S:1"), Self.event("S:2")])
        let scoped = UIPrincipal(tokenId: "t", isAdmin: false, accounts: ["S:2"])
        let frames = try UIRoutes.frames(update, for: scoped)
        #expect(frames.count == 2)
        #expect(frames.allSatisfy { $0.contains("S:2") && !$0.contains("S:1") })
        let nothing = try UIRoutes.frames(update, for: UIPrincipal(tokenId: "t", isAdmin: false, accounts: ["S:9"]))
        #expect(nothing.isEmpty)
        let admin = try UIRoutes.frames(update, for: UIPrincipal(tokenId: "admin", isAdmin: true, accounts: nil))
        #expect(admin.count == 2 && admin.allSatisfy { $0.contains("S:1") && $0.contains("S:2") })
    }

    @Test func aResynchronizationTellsThePageToReload() throws {
        let frames = try UIRoutes.frames(
            LiveUpdate(change: .resynchronize, accounts: [Self.row("S:1")], events: []),
            for: UIPrincipal(tokenId: "admin", isAdmin: true, accounts: nil))
        #expect(frames == ["event: reload\ndata: {}\n\n"])
    }

    @Test func theLoginFormIsDecoded() {
        #expect(UIRoutes.formValue("token", in: "a=1&token=ab%2Bc+d") == "ab+c d")
        #expect(UIRoutes.formValue("token", in: "a=1") == nil)
    }
}
