import CompactBinaryCoding
import EquityEngine
import Foundation
@testable import RiskCore
import Testing
import TidemarkProtocol

/// `lastOwnInputTime(accountId:)`: the latest time an account's own inputs carried, which the
/// agent's resume window relies on (a heartbeat must never move it).
@Suite struct OwnInputTimeTests {
    /// Account A: observation, late deal, position change, open positions, late observation, all
    /// with a heartbeat far ahead in between; account B: a tracker and a heartbeat only.
    private func engine() throws -> RiskEngine {
        var engine = RiskEngine()
        try engine.apply(.createTracker(TrackerDefinition(id: "a1", accountId: accountA, name: "a", period: .lifetime,
                                                          absoluteDrawdownThreshold: 50)))
        try engine.apply(.createTracker(TrackerDefinition(id: "b1", accountId: accountB, name: "b", period: .lifetime,
                                                          absoluteProfitThreshold: 500)))
        _ = run(&engine, [flat("2024-03-04 10:00:05.000", 10_000), .time(accountA, at("2024-03-04 10:01:00.000")),
                          .time(accountB, at("2024-03-04 10:01:00.000"))])
        return engine
    }

    @Test func onlyTheAccountsOwnInputsMoveIt() throws {
        var engine = try engine()
        #expect(engine.lastOwnInputTime(accountId: accountA) == at("2024-03-04 10:00:05.000"))
        #expect(engine.clock(accountId: accountA) == at("2024-03-04 10:01:00.000"))
        // B had only a heartbeat: a clock, no own input.
        #expect(engine.clock(accountId: accountB) == at("2024-03-04 10:01:00.000"))
        #expect(engine.lastOwnInputTime(accountId: accountB) == nil)

        // A late deal is applied at the clock (10:01:00) but keeps its own, earlier time: the mark
        // stays at the observation's 10:00:05.
        _ = run(&engine, [deposit("2024-03-04 10:00:03.000", 100)])
        #expect(engine.lastOwnInputTime(accountId: accountA) == at("2024-03-04 10:00:05.000"))
        _ = run(&engine, [position(.opened, "2024-03-04 10:00:07.000", ticket: 5)])
        #expect(engine.lastOwnInputTime(accountId: accountA) == at("2024-03-04 10:00:07.000"))
        _ = run(&engine, [.openPositions(accountA, [], at: at("2024-03-04 10:00:08.000"))])
        #expect(engine.lastOwnInputTime(accountId: accountA) == at("2024-03-04 10:00:08.000"))
        _ = run(&engine, [flat("2024-03-04 10:00:06.000", 10_100), .time(accountA, at("2024-03-04 10:02:00.000"))])
        #expect(engine.lastOwnInputTime(accountId: accountA) == at("2024-03-04 10:00:08.000"))
        #expect(engine.lastOwnInputTime(accountId: accountB) == nil)
        // An own input past the clock moves both.
        _ = run(&engine, [deposit("2024-03-04 10:03:00.000", 100, ticket: 901)])
        #expect(engine.lastOwnInputTime(accountId: accountA) == at("2024-03-04 10:03:00.000"))
        #expect(engine.clock(accountId: accountA) == at("2024-03-04 10:03:00.000"))
    }

    /// Both checkpoint forms keep the marks, and "no own input yet" stays nil (it must not turn
    /// into the clock, as an old checkpoint's missing mark does).
    @Test func checkpointsKeepTheMarks() throws {
        let engine = try engine()
        let compact = try CompactBinaryDecoder().decode(RiskEngine.self, from: try CompactBinaryEncoder().encode(engine))
        let json = try JSONDecoder().decode(RiskEngine.self, from: try JSONEncoder().encode(engine))
        for decoded in [compact, json] {
            #expect(decoded == engine)
            #expect(decoded.lastOwnInputTime(accountId: accountA) == at("2024-03-04 10:00:05.000"))
            #expect(decoded.lastOwnInputTime(accountId: accountB) == nil)
        }
    }

    /// A checkpoint written before the mark existed (no `lastOwnInputTime`, no `formatVersion`)
    /// still decodes, in both forms; every account's mark is then its clock, the bound the agent
    /// used before (heartbeats included), and everything else is as it was.
    @Test func anOldCheckpointDecodesWithTheClockAsMark() throws {
        let engine = try engine()
        let old = try CompactBinaryDecoder().decode(EngineBeforeOwnInputTime.self, from: try CompactBinaryEncoder().encode(engine))
        let oldCompact = try CompactBinaryEncoder().encode(old)
        #expect(!oldCompact.contains(subsequence: Array("lastOwnInputTime".utf8)))
        #expect(!oldCompact.contains(subsequence: Array("formatVersion".utf8)))
        let oldJSON = try JSONEncoder().encode(old)
        #expect(!String(decoding: oldJSON, as: UTF8.self).contains("lastOwnInputTime"))

        let decodedForms = [try CompactBinaryDecoder().decode(RiskEngine.self, from: oldCompact),
                            try JSONDecoder().decode(RiskEngine.self, from: oldJSON)]
        for decoded in decodedForms {
            for account in [accountA, accountB] {
                #expect(decoded.lastOwnInputTime(accountId: account) == at("2024-03-04 10:01:00.000"))
                #expect(decoded.clock(accountId: account) == engine.clock(accountId: account))
                #expect(decoded.trackers(accountId: account) == engine.trackers(accountId: account))
            }
            #expect(decoded.currentPeriodStatistics(accountId: accountA, trackerId: "a1")
                    == engine.currentPeriodStatistics(accountId: accountA, trackerId: "a1"))
            #expect(decoded.nextSequenceNumber == engine.nextSequenceNumber)
        }
    }
}

/// The risk core's checkpoint shape before `lastOwnInputTime` (decoding a current one drops it).
private struct EngineBeforeOwnInputTime: Codable {
    var nextSequenceNumber: UInt64
    var accounts: [AccountBeforeOwnInputTime]
    var competitions: [Competition]
}

/// `AccountRiskState` as it was before `lastOwnInputTime`.
private struct AccountBeforeOwnInputTime: Codable {
    var accountId: AccountID
    var clock: BrokerTime?
    var balanceKnown: Bool
    var balance: FixedDecimal
    var trackers: [TrackerState]
    var chartHour: EquityChartHour?
    var challenges: [Challenge]
    var chartUntil: Int64
}

private extension Array where Element == UInt8 {
    func contains(subsequence: [UInt8]) -> Bool {
        guard subsequence.count <= count else { return false }
        return (0...(count - subsequence.count)).contains { self[$0..<($0 + subsequence.count)].elementsEqual(subsequence) }
    }
}

/// Accounts are kept in the order first seen, and walked in id order.
@Suite("Risk engine account order")
struct RiskEngineAccountOrderTests {
    static func engine(seeing logins: [Int64]) -> RiskEngine {
        var engine = RiskEngine()
        for login in logins {
            _ = engine.apply(.openPositions(AccountID(server: "Demo", login: login), [], at: BrokerTime(milliseconds: 1_000)))
        }
        return engine
    }

    @Test func theOrderAccountsArriveInChangesNothing() throws {
        let forward = Self.engine(seeing: [1, 2, 3, 10, 20])
        let shuffled = Self.engine(seeing: [20, 3, 1, 10, 2])
        #expect(shuffled.accountIds == forward.accountIds)
        #expect(shuffled.accountIds.map(\.rawValue) == ["Demo:1", "Demo:10", "Demo:2", "Demo:20", "Demo:3"])
        #expect(shuffled == forward)
        #expect(shuffled.hashValue == forward.hashValue)
        // The checkpoint is the same bytes, and decodes to an equal engine.
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        #expect(try encoder.encode(shuffled) == encoder.encode(forward))
        #expect(try JSONDecoder().decode(RiskEngine.self, from: encoder.encode(shuffled)) == forward)
    }
}
