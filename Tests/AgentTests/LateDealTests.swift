import Agent
import AgentFold
import EquityEngine
import Foundation
import RiskCore
import Testing
import TidemarkProtocol

/// Deals that reach the agent out of time order (an EA's history rescan, a balance operation booked
/// while the terminal reconnected, a replayed journal after an outage) are folded once, by ticket.
@Suite struct LateDealTests {
    static func deposit(_ ticket: Int64, at milliseconds: Int64, _ amount: FixedDecimal) -> TerminalMessage {
        .deal(Deal(ticket: ticket, time: BrokerTime(milliseconds: milliseconds), type: .balance, entry: .in, symbol: "",
                   volume: .zero, price: .zero, profit: amount, commission: .zero, swap: .zero, fee: .zero,
                   positionID: 0, comment: "deposit"))
    }

    static func opening() -> [TerminalMessage] {
        [.hello(Script.hello("a")), Script.snapshot(1_000, balance: 10_000, bid: "1.10000")]
    }

    /// The tracker's balance adjustment (deposits since the period start): every folded deposit counts once.
    static func adjustment(_ core: AgentCore) -> FixedDecimal? {
        core.risk.currentPeriodStatistics(accountId: Script.account, trackerId: "t1")?.balanceAdjustment
    }

    @Test func aLateDealWithANewTicketIsFolded() throws {
        var core = AgentCore()
        try Script.declareTracker(&core)
        // 500 USD at 5,000 ms, then a 200 USD deposit booked earlier (3,000 ms) that the EA found later.
        let effects = Script.session("a", Self.opening() + [Self.deposit(501, at: 5_000, 500), Self.deposit(502, at: 3_000, 200)],
                                     into: &core)
        #expect(effects.deals.map(\.1.ticket) == [501, 502])
        #expect(effects.skippedResent == 0)
        #expect(Self.adjustment(core) == 700)
    }

    @Test func aDealTicketAlreadyFoldedIsSkippedWhateverItsTime() throws {
        var core = AgentCore()
        try Script.declareTracker(&core)
        // The same ticket again (an MT4 history filter widened, a journal replayed): at its own time,
        // and as if older (a different broker time would not make it a different deal).
        let effects = Script.session("a", Self.opening() + [Self.deposit(501, at: 3_000, 500), Self.deposit(502, at: 5_000, 200),
                                                            Self.deposit(501, at: 3_000, 500), Self.deposit(502, at: 4_000, 200)],
                                     into: &core)
        #expect(effects.deals.map(\.1.ticket) == [501, 502])
        #expect(effects.skippedResent == 2)
        #expect(Self.adjustment(core) == 700)
    }

    @Test func aDealOlderThanTheWindowIsSkipped() throws {
        var core = AgentCore()
        try Script.declareTracker(&core)
        let latest: Int64 = 1_000 + AgentCore.lateDealWindowMilliseconds + 10_000
        let effects = Script.session("a", Self.opening() + [Self.deposit(601, at: latest, 100),
                                                            Self.deposit(602, at: latest - AgentCore.lateDealWindowMilliseconds, 10),
                                                            Self.deposit(603, at: latest - AgentCore.lateDealWindowMilliseconds - 1, 1)],
                                     into: &core)
        // At the window's edge: folded; one millisecond before it: whether it was folded is unknown.
        #expect(effects.deals.map(\.1.ticket) == [601, 602])
        #expect(effects.skippedResent == 1)
    }

    @Test func theCheckpointKeepsTheTicketsOfTheWindow() throws {
        var first = AgentCore()
        try Script.declareTracker(&first)
        _ = Script.session("a", Self.opening() + [Self.deposit(501, at: 3_000, 500), Self.deposit(502, at: 5_000, 200)], into: &first)
        var resumed = try AgentCore(checkpoint: try first.checkpoint())
        // After a restart the EA replays its journal: both deposits again, and a late one it had not sent.
        let effects = Script.session("b", [.hello(Script.hello("b")), Script.snapshot(1_000, balance: 10_000, bid: "1.10000"),
                                           Self.deposit(501, at: 3_000, 500), Self.deposit(502, at: 5_000, 200),
                                           Self.deposit(503, at: 4_000, 50)],
                                     into: &resumed)
        #expect(effects.deals.map(\.1.ticket) == [503])
        #expect(Self.adjustment(resumed) == 750)
    }
}
