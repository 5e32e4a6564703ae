import Agent
import AgentFold
import Bridge
import EquityEngine
import RiskCore
import Testing
import TidemarkProtocol

/// The account error's life in the fold: begun once by a frame that cannot be represented,
/// reported once, untouched by further refusals, ended by a snapshot that folds cleanly.
@Suite struct AccountInputErrorTests {
    static let account = FoldFuzzTests.hostile

    static func snapshot(balance: FixedDecimal) -> TerminalMessage {
        .snapshot(Snapshot(account: AccountReport(time: BrokerTime(milliseconds: 1_000), balance: balance, credit: .zero,
                                                  equity: balance, margin: .zero),
                           symbols: FoldFuzzTests.symbols, positions: [], quotes: []))
    }

    static func deposit(_ ticket: Int64, _ amount: FixedDecimal) -> TerminalMessage {
        .deal(Deal(ticket: ticket, time: BrokerTime(milliseconds: 2_000 + ticket), type: .balance, entry: .in, symbol: "",
                   volume: .zero, price: .zero, profit: amount, commission: .zero, swap: .zero, fee: .zero, positionID: 0,
                   comment: ""))
    }

    @Test func anErrorBeginsOnceAndASnapshotThatFoldsCleanlyEndsIt() throws {
        var core = AgentCore()
        try FoldFuzzTests.declare(into: &core, accounts: [Self.account])
        var sequence: UInt64 = 0
        func send(_ message: TerminalMessage) -> AgentCore.Effects {
            var effects = AgentCore.Effects()
            sequence += 1
            core.apply(BridgeDelivery(account: Self.account, sessionID: "s", sequence: sequence, message: message),
                       wallClock: FoldFuzzTests.wallClock, into: &effects)
            return effects
        }
        _ = send(.hello(FoldFuzzTests.hello(Self.account, login: 2)))
        #expect(send(Self.snapshot(balance: 10_000)).accountErrors.isEmpty)
        // The largest profit on 10,000: balance out of range.
        let first = send(Self.deposit(1, .greatestFiniteMagnitude))
        #expect(first.accountErrors.map(\.error.reason) == [.balanceOutOfRange])
        #expect(first.refusalsByReason == ["balance_out_of_range": 1])
        // Already in error: counted, not reported again.
        let second = send(Self.deposit(2, .greatestFiniteMagnitude))
        #expect(second.accountErrors.isEmpty)
        #expect(core.accountErrors[Self.account]?.reason == .balanceOutOfRange)
        // An out-of-calendar heartbeat neither moves the account's clock nor reaches the engine.
        let clockBefore = core.risk.clock(accountId: Self.account)
        let heartbeat = send(.heartbeat(BrokerTime(milliseconds: .max)))
        #expect(heartbeat.refusalsByReason == ["time_out_of_range": 1])
        #expect(core.risk.clock(accountId: Self.account) == clockBefore)
        // A snapshot whose figures are representable clears it.
        #expect(send(Self.snapshot(balance: 10_000)).clearedAccountErrors == [Self.account])
        #expect(core.accountErrors.isEmpty)
        // A deal whose amount itself is out of range reaches neither the engine nor the risk core.
        let refused = send(.deal(Deal(ticket: 3, time: BrokerTime(milliseconds: 3_000), type: .balance, entry: .in, symbol: "",
                                      volume: .zero, price: .zero, profit: .greatestFiniteMagnitude, commission: .zero,
                                      swap: .greatestFiniteMagnitude, fee: .zero, positionID: 0, comment: "")))
        #expect(refused.accountErrors.map(\.error.reason) == [.dealOutOfRange])
        #expect(refused.deals.isEmpty)
        #expect(core.equity.view(of: Self.account)?.balance == 10_000)
    }
}
