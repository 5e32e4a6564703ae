@testable import Agent
import AgentFold
import Bridge
import CompactBinaryCoding
import EquityEngine
import Foundation
import RiskCore
@testable import Store
import TestSupport
import Testing
import TidemarkProtocol

/// The agent's checkpoint in account rows: a declaration writes its account's row (and the
/// shared part), not the state of every other account; a restart reads back exactly the state of
/// the last checkpoint; a checkpoint in one blob becomes rows at start.
@Suite("Checkpoint in account rows")
struct CheckpointRowsTests {
    /// A fresh store in a temporary directory (both gone when the value is released).
    final class TemporaryStore {
        let directory: TemporaryDirectory
        let store: Store
        init() throws {
            directory = try TemporaryDirectory()
            store = try Store(path: directory.storePath)
        }
        deinit { try? store.close() }
    }

    static func account(_ index: Int) -> AccountID { AccountID(server: "Demo", login: Int64(100 + index)) }

    /// A session of `account`: HELLO, snapshot, ticks and a deposit (``Script/stream``), with a
    /// lifetime tracker whose threshold nothing reaches (no event, so no event rows are needed).
    static func feed(_ account: AccountID, session: String, into core: inout AgentCore) throws {
        var effects = AgentCore.Effects()
        try core.declare(.createTracker(TrackerDefinition(id: "dd-\(account.rawValue)", accountId: account, name: "dd",
                                                          period: .lifetime, absoluteDrawdownThreshold: 1_000_000)),
                         into: &effects)
        _ = Script.session(session, [.hello(Script.hello(session)), Script.snapshot(1_000, balance: 10_000, bid: "1.10000")]
                           + Script.stream, account: account, into: &core)
    }

    /// Writes `parts` as the store's checkpoint and returns what the commit wrote.
    static func commit(_ parts: AgentCore.CheckpointParts, position: UInt64, to store: Store) async throws -> CheckpointWriteSize {
        try await store.commit(StoreBatch(checkpoint: Checkpoint(parts, inputPosition: position, savedAt: Date()))).checkpointWritten
    }

    /// The store's checkpoint commits of a declaration, with `others` other accounts in the core:
    /// the complete one before it, and the declaration's.
    static func declarationCheckpoint(others: Int) async throws -> (complete: CheckpointWriteSize, declaration: CheckpointWriteSize) {
        let temporary = try TemporaryStore()
        var core = AgentCore()
        for index in 0..<others { try feed(account(index), session: "s\(index)", into: &core) }
        let declared = AccountID(server: "Demo", login: 7)
        try feed(declared, session: "declared", into: &core)
        let complete = try core.checkpointParts(changedSince: nil)
        #expect(complete.accounts.count == others + 1)
        let completeWritten = try await commit(complete, position: 1, to: temporary.store)
        var effects = AgentCore.Effects()
        try core.declare(.createTracker(TrackerDefinition(id: "extra", accountId: declared, name: "extra", period: .day,
                                                          absoluteDrawdownThreshold: 10)), into: &effects)
        let changes = try core.checkpointParts(changedSince: complete.mark)
        #expect(Array(changes.accounts.keys) == [declared])
        return (completeWritten, try await commit(changes, position: 2, to: temporary.store))
    }

    @Test("A declaration's checkpoint writes the same rows and bytes with 1 or 1,000 other accounts")
    func declarationDoesNotGrowWithOtherAccounts() async throws {
        let one = try await Self.declarationCheckpoint(others: 1)
        let thousand = try await Self.declarationCheckpoint(others: 1_000)
        // The header and the declared account's row.
        #expect(one.declaration.rows == 2)
        #expect(thousand.declaration == one.declaration)
        // What it would write as one blob of the whole state grows with the accounts.
        #expect(thousand.complete.bytes > 200 * thousand.declaration.bytes)
        #expect(thousand.complete.rows == 1_002)
    }

    @Test("Read back from the store, the rows give exactly the core that wrote them, and it folds on alike")
    func restartEquivalence() async throws {
        let temporary = try TemporaryStore()
        var core = AgentCore()
        let accounts = (0..<300).map(Self.account)
        for (index, account) in accounts.enumerated() { try Self.feed(account, session: "s\(index)", into: &core) }
        var effects = AgentCore.Effects()
        try core.declare(.createCompetition(CompetitionDefinition(
            id: "cup", accounts: Array(accounts.prefix(20)), startTime: BrokerTime(milliseconds: 86_400_000),
            endTime: BrokerTime(milliseconds: 2 * 86_400_000), metric: .gainPercent)), into: &effects)
        // (It starts after every input here: no events, so the store needs no event rows.)
        // An account that says HELLO only: its UTC offset is all the core keeps of it.
        let fleeting = AccountID(server: "Demo", login: 99_999)
        core.apply(Script.delivery(.hello(Script.hello("fleeting")), session: "fleeting", sequence: 1, account: fleeting),
                   wallClock: Script.wallClock, into: &effects)
        let complete = try core.checkpointParts(changedSince: nil)
        #expect(complete.accounts[fleeting] != nil)
        _ = try await Self.commit(complete, position: 10, to: temporary.store)

        // Some accounts change: ticks on a few (two of them in the competition), a deal, a
        // declaration, and the HELLO-only session ends (the account is forgotten).
        for (index, account) in accounts.enumerated() where index % 50 == 0 {
            _ = Script.session("t\(index)", [Script.tick(6_000, bid: "1.09700")], account: account, into: &core)
        }
        core.apply(Script.delivery(.deal(Deal(ticket: 900, time: BrokerTime(milliseconds: 7_000), type: .balance, entry: .in,
                                              symbol: "", volume: .zero, price: .zero, profit: 10, commission: .zero, swap: .zero,
                                              fee: .zero, positionID: 0, comment: "")), session: "s7", sequence: 99,
                                   account: accounts[7]), wallClock: Script.wallClock, into: &effects)
        try core.declare(.deleteTracker(accountId: accounts[9], trackerId: "dd-\(accounts[9].rawValue)"), into: &effects)
        core.apply(BridgeDelivery(account: fleeting, sessionID: "fleeting", sequence: 2, message: .bye(reason: ""), sessionEnd: .bye),
                   wallClock: Script.wallClock, into: &effects)
        let changes = try core.checkpointParts(changedSince: complete.mark)
        #expect(Set(changes.accounts.keys) == Set([0, 50, 100, 150, 200, 250, 7, 9].map { accounts[$0] }))
        #expect(changes.removedAccounts == [fleeting])
        _ = try await Self.commit(changes, position: 11, to: temporary.store)

        let stored = try #require(try await temporary.store.checkpoint())
        #expect(stored.inputPosition == 11)
        #expect(stored.accounts.count == accounts.count)
        var restored = try AgentCore(checkpoint: stored)
        #expect(restored.risk == core.risk)
        #expect(restored.utcOffsets == core.utcOffsets)
        let decoder = CompactBinaryDecoder()
        func decoded(_ parts: AgentCore.CheckpointParts) throws -> [AccountID: AgentCore.AccountCheckpoint] {
            try parts.accounts.mapValues { try decoder.decode(AgentCore.AccountCheckpoint.self, from: $0) }
        }
        #expect(try decoded(restored.checkpointParts(changedSince: nil)) == decoded(core.checkpointParts(changedSince: nil)))

        // Both fold the same resent and new input into the same outputs (deal marks included: the
        // resent deposit is skipped by both).
        let further: [TerminalMessage] = [.hello(Script.hello("again")), Script.snapshot(8_000, balance: 11_010, bid: "1.09700"),
                                          Script.deposit, Script.tick(9_000, bid: "1.09000")]
        var liveEffects = AgentCore.Effects()
        var restoredEffects = AgentCore.Effects()
        for (index, message) in further.enumerated() {
            for account in [accounts[0], accounts[7]] {
                let delivery = Script.delivery(message, session: "again-\(account.rawValue)", sequence: UInt64(index + 1), account: account)
                core.apply(delivery, wallClock: Script.wallClock, into: &liveEffects)
                restored.apply(delivery, wallClock: Script.wallClock, into: &restoredEffects)
            }
        }
        #expect(restoredEffects.riskOutputs == liveEffects.riskOutputs)
        #expect(restoredEffects.skippedResent == liveEffects.skippedResent)
        #expect(restored.risk == core.risk)
    }

    @Test("At start a checkpoint in one blob is written back as account rows, in the store and the checkpoint file")
    func startMigratesABlob() async throws {
        let temporary = try TemporaryStore()
        var core = AgentCore()
        for index in 0..<40 { try Self.feed(Self.account(index), session: "s\(index)", into: &core) }
        try await temporary.store.commit(StoreBatch(checkpoint: Checkpoint(inputPosition: 41, nextSequenceNumber: core.risk.nextSequenceNumber,
                                                                           state: try core.checkpoint(), savedAt: Date())))
        #expect(try await temporary.store.checkpoint()?.layout == .whole)

        let restored = try await Pipeline.restore(from: temporary.store, configuration: .init())
        #expect(restored.inputPosition == 41)
        #expect(restored.core.risk == core.risk)
        #expect(restored.writtenMark == restored.core.changeMark)
        let stored = try #require(try await temporary.store.checkpoint())
        #expect(stored.layout == .perAccount)
        #expect(stored.inputPosition == 41)
        #expect(stored.accounts.count == 40)
        #expect(try AgentCore(checkpoint: stored).risk == core.risk)
        let file = try #require(try temporary.store.savedCheckpointHeader())
        #expect(file.layout == .perAccount)
        #expect(try temporary.store.savedCheckpointAccounts() == stored.accounts)
    }
}
