import Foundation
@testable import Store
import Testing
import TestSupport
import TidemarkProtocol

@Suite("Queries")
struct QueryTests {
    /// Events 1…8: odd ones on account A / tracker t1, even ones on account B / tracker t2, at 1 s, 2 s, …;
    /// 9 is a challenge event of account A.
    private func seeded() async throws -> (TemporaryDirectory, Store) {
        let directory = try TemporaryDirectory()
        let store = try Store(path: directory.storePath)
        var events = (1...8).map { n in
            n % 2 == 1 ? sampleEvent(UInt64(n), account: accountA, subject: "t1")
                       : sampleEvent(UInt64(n), account: accountB, subject: "t2", type: "profit")
        }
        events.append(sampleEvent(9, account: accountA, subject: "c1", kind: .challenge, type: "challengeFailed"))
        try await store.commit(StoreBatch(events: events))
        return (directory, store)
    }

    @Test("By broker time: both bounds inclusive, with account, subject, kind and limit")
    func byBrokerTime() async throws {
        let (directory, store) = try await seeded()
        _ = directory
        let range = EventQuery(kind: .tracker, fromBrokerTime: BrokerTime(milliseconds: 3000), toBrokerTime: BrokerTime(milliseconds: 6000))
        #expect(try await store.events(range).map(\.sequenceNumber) == [3, 4, 5, 6])
        var forAccount = range
        forAccount.accountId = accountA
        #expect(try await store.events(forAccount).map(\.sequenceNumber) == [3, 5])
        var forSubject = range
        forSubject.subjectId = "t2"
        #expect(try await store.events(forSubject).map(\.sequenceNumber) == [4, 6])
        var limited = range
        limited.limit = 3
        #expect(try await store.events(limited).map(\.sequenceNumber) == [3, 4, 5])
        let challenges = EventQuery(kind: .challenge, accountId: accountA)
        #expect(try await store.events(challenges).map(\.type) == ["challengeFailed"])
        try store.close()
    }

    @Test("After a sequence number, with filters and limit")
    func afterSequence() async throws {
        let (directory, store) = try await seeded()
        _ = directory
        #expect(try await store.events(EventQuery(afterSequenceNumber: 6)).map(\.sequenceNumber) == [7, 8, 9])
        #expect(try await store.events(EventQuery(kind: .tracker, afterSequenceNumber: 6)).map(\.sequenceNumber) == [7, 8])
        #expect(try await store.events(EventQuery(accountId: accountB, afterSequenceNumber: 2, limit: 2)).map(\.sequenceNumber) == [4, 6])
        #expect(try await store.events(EventQuery(afterSequenceNumber: 9)).isEmpty)
        #expect(try await store.event(sequenceNumber: 4)?.subjectId == "t2")
        try store.close()
    }

    @Test("A token's account list hides other accounts' events")
    func allowedAccounts() async throws {
        let (directory, store) = try await seeded()
        _ = directory
        let onlyB = EventQuery(afterSequenceNumber: 0, allowedAccounts: [accountB])
        #expect(try await store.events(onlyB).map(\.sequenceNumber) == [2, 4, 6, 8])
        // Asking for A explicitly with a B-only token still gives nothing.
        var sneaky = onlyB
        sneaky.accountId = accountA
        #expect(try await store.events(sneaky).isEmpty)
        #expect(try await store.events(EventQuery(allowedAccounts: [])).isEmpty)
        try store.close()
    }

    @Test("Limits outside 1…10000 are refused")
    func badLimit() async throws {
        let (directory, store) = try await seeded()
        _ = directory
        await #expect(throws: StoreError.invalidArgument) { try await store.events(EventQuery(limit: 0)) }
        await #expect(throws: StoreError.invalidArgument) { try await store.events(EventQuery(limit: 10_001)) }
        try store.close()
    }

    @Test("Bodies come back byte for byte and decode")
    func bodies() async throws {
        let (directory, store) = try await seeded()
        _ = directory
        let event = try #require(try await store.event(sequenceNumber: 5))
        #expect(event.body == Data(#"{"note":"","sequenceNumber":5}"#.utf8))
        #expect(try event.decodeBody(as: SampleBody.self) == SampleBody(sequenceNumber: 5, note: ""))
        try store.close()
    }
}

@Suite("Records")
struct RecordTests {
    private func statistics(_ tracker: String, start: Int64, end: Int64, marker: Int) -> StoredStatistics {
        StoredStatistics(accountId: accountA, trackerId: tracker, startBrokerTime: BrokerTime(milliseconds: start),
                         endBrokerTime: BrokerTime(milliseconds: end), body: Data("{\"m\":\(marker)}".utf8))
    }

    private func chart(start: Int64, marker: Int) -> StoredChartRecord {
        StoredChartRecord(accountId: accountA, startBrokerTime: BrokerTime(milliseconds: start),
                          endBrokerTime: BrokerTime(milliseconds: start + 3_599_999), body: Data("{\"m\":\(marker)}".utf8))
    }

    @Test("Statistics: newest first from a start time backwards, with a limit; upserts by period")
    func periodStatistics() async throws {
        let directory = try TemporaryDirectory()
        let store = try Store(path: directory.storePath)
        let day: Int64 = 86_400_000
        try await store.commit(StoreBatch(statistics: (0..<5).map { statistics("t1", start: $0 * day, end: ($0 + 1) * day - 1, marker: Int($0)) }
                                          + [statistics("t2", start: 0, end: day - 1, marker: 99)]))
        // The same period again (a replay) replaces, never duplicates.
        try await store.commit(StoreBatch(statistics: [statistics("t1", start: 4 * day, end: 5 * day - 1, marker: 4)]))
        let latest = try await store.statistics(accountId: accountA, trackerId: "t1")
        #expect(latest.map(\.startBrokerTime.milliseconds) == [4 * day])
        let fromDay2 = try await store.statistics(accountId: accountA, trackerId: "t1",
                                                  startingAtOrBefore: BrokerTime(milliseconds: 2 * day + 5), limit: 10)
        #expect(fromDay2.map(\.startBrokerTime.milliseconds) == [2 * day, day, 0])
        #expect(fromDay2.first?.body == Data("{\"m\":2}".utf8))
        #expect(try await store.statistics(accountId: accountB, trackerId: "t1").isEmpty)
        try store.close()
    }

    @Test("Equity chart: hours overlapping start…end, oldest first")
    func equityChart() async throws {
        let directory = try TemporaryDirectory()
        let store = try Store(path: directory.storePath)
        let hour: Int64 = 3_600_000
        try await store.commit(StoreBatch(chartRecords: (0..<6).map { chart(start: $0 * hour, marker: Int($0)) }))
        // 01:30 … 03:00 overlaps the hours starting 01:00, 02:00 and 03:00 (its first millisecond).
        let records = try await store.equityChart(accountId: accountA, from: BrokerTime(milliseconds: hour + hour / 2),
                                                  to: BrokerTime(milliseconds: 3 * hour))
        #expect(records.map(\.startBrokerTime.milliseconds) == [hour, 2 * hour, 3 * hour])
        #expect(try await store.equityChart(accountId: accountA).count == 6)
        #expect(try await store.equityChart(accountId: accountB).isEmpty)
        try store.close()
    }

    @Test("The deal journal is idempotent by account and ticket")
    func dealJournal() async throws {
        let directory = try TemporaryDirectory()
        let store = try Store(path: directory.storePath)
        let first = try await store.commit(StoreBatch(deals: [
            JournalDeal(accountId: accountA, deal: sampleDeal(ticket: 1, time: 1000)),
            JournalDeal(accountId: accountA, deal: sampleDeal(ticket: 2, time: 2000)),
            JournalDeal(accountId: accountB, deal: sampleDeal(ticket: 1, time: 1500)),
        ]))
        #expect(first.newDealCount == 3)
        // Resent after a reconnect (ticket 2 again, even with another profit) plus one new deal.
        let second = try await store.commit(StoreBatch(deals: [
            JournalDeal(accountId: accountA, deal: sampleDeal(ticket: 2, time: 2000, profit: FixedDecimal(99))),
            JournalDeal(accountId: accountA, deal: sampleDeal(ticket: 3, time: 3000)),
        ]))
        #expect(second.newDealCount == 1)
        let deals = try await store.deals(accountId: accountA)
        #expect(deals.map(\.ticket) == [1, 2, 3])
        #expect(deals[1].profit == FixedDecimal(12)) // the first journaled version stays
        #expect(try await store.deals(accountId: accountA, from: BrokerTime(milliseconds: 2000), to: BrokerTime(milliseconds: 3000)).map(\.ticket) == [2, 3])
        try store.close()
    }

    @Test("Definitions: create, rename, delete; names unique among live ones per account")
    func definitions() async throws {
        let directory = try TemporaryDirectory()
        let store = try Store(path: directory.storePath)
        func tracker(_ id: String, _ name: String, at: Int64 = 1000) -> StoredDefinition {
            StoredDefinition(kind: .tracker, id: id, accountId: accountA, name: name, body: Data("{\"name\":\"\(name)\"}".utf8),
                             createdAt: wallTime(at))
        }
        try await store.commit(StoreBatch(definitionChanges: [.put(tracker("t1", "daily")), .put(tracker("t2", "weekly", at: 2000))]))
        await #expect(throws: StoreError.conflict) {
            try await store.commit(StoreBatch(events: [sampleEvent(1)], definitionChanges: [.put(tracker("t3", "daily"))]))
        }
        #expect(store.lastSequenceNumber == 0) // the event of the failed batch is not stored
        try await store.commit(StoreBatch(definitionChanges: [.put(tracker("t1", "day"))]))
        #expect(try await store.definition(.tracker, accountId: accountA, name: "day")?.id == "t1")
        #expect(try await store.definition(.tracker, id: "t1")?.createdAt == wallTime(1000))
        try await store.commit(StoreBatch(definitionChanges: [.delete(kind: .tracker, id: "t1", at: wallTime(3000))]))
        #expect(try await store.definitions(.tracker, accountId: accountA).map(\.id) == ["t2"])
        #expect(try await store.definitions(.tracker, includingDeleted: true).map(\.id) == ["t1", "t2"])
        #expect(try await store.definition(.tracker, accountId: accountA, name: "day") == nil)
        // The deleted tracker's name is free again.
        try await store.commit(StoreBatch(definitionChanges: [.put(tracker("t4", "day", at: 4000))]))
        #expect(try await store.definition(.tracker, id: "t1")?.deletedAt == wallTime(3000))
        try store.close()
    }

    @Test("Accounts: register, update only what is given, refuse a second registration")
    func accounts() async throws {
        let directory = try TemporaryDirectory()
        let store = try Store(path: directory.storePath)
        // The terminal connects first, then the firm registers the account.
        try await store.commit(StoreBatch(accountUpdates: [AccountUpdate(id: accountA, currency: "EUR", lastBalance: FixedDecimal(5000),
                                                                         connected: true, enforcementState: "trading_disabled")]))
        let registered = try await store.registerAccount(accountA, platform: .mt4, at: wallTime(7000))
        #expect(registered.registeredAt == wallTime(7000) && registered.currency == "EUR" && registered.platform == .mt4)
        await #expect(throws: StoreError.conflict) { try await store.registerAccount(accountA, platform: .mt4, at: wallTime(8000)) }
        try await store.updateAccount(AccountUpdate(id: accountA, lastEquity: FixedDecimal(units: 499_950_000_000),
                                                    connected: false, reconciliationDrift: FixedDecimal(units: -1_000_000)))
        var account = try #require(try await store.account(accountA))
        #expect(account.lastBalance == FixedDecimal(5000)) // untouched
        #expect(account.lastEquity == FixedDecimal(units: 499_950_000_000)) // 4,999.50
        #expect(!account.connected && account.reconciliationDrift == FixedDecimal(units: -1_000_000)) // -0.01
        #expect(account.enforcementState == "trading_disabled")
        try await store.updateAccount(AccountUpdate(id: accountA, enforcementState: .some(nil)))
        account = try #require(try await store.account(accountA))
        #expect(account.enforcementState == nil)
        try await store.registerAccount(AccountID("Other:Server:42"), platform: .mt5, at: wallTime(1))
        #expect(try await store.account(AccountID("Other:Server:42"))?.server == "Other:Server")
        await #expect(throws: StoreError.invalidArgument) { try await store.registerAccount(AccountID("nologin"), platform: .mt5, at: wallTime(1)) }
        #expect(try await store.accounts().map(\.id) == [accountA, AccountID("Other:Server:42")])
        #expect(try await store.accounts(allowed: [accountA]).map(\.id) == [accountA])
        try store.close()
    }

    @Test("Sessions: opened and closed with a reason, newest first")
    func sessions() async throws {
        let directory = try TemporaryDirectory()
        let store = try Store(path: directory.storePath)
        try await store.commit(StoreBatch(sessionChanges: [.opened(sessionId: "s1", accountId: accountA, at: wallTime(1000))]))
        try await store.commit(StoreBatch(sessionChanges: [.closed(sessionId: "s1", at: wallTime(2000), reason: "timeout"),
                                                           .opened(sessionId: "s2", accountId: accountA, at: wallTime(3000))]))
        let sessions = try await store.sessions(accountId: accountA)
        #expect(sessions.map(\.sessionId) == ["s2", "s1"])
        #expect(sessions[1].closedAt == wallTime(2000) && sessions[1].closeReason == "timeout")
        #expect(sessions[0].closedAt == nil)
        try store.close()
    }
}
