import EquityEngine
import RiskCore
import TidemarkProtocol

// `at(_:)` and `observation(_:balance:equity:credit:account:)` come from ChallengeTestSupport.swift.

/// The account `observation(…)` uses by default.
let accountA = testAccount
let accountB = AccountID("Demo-Server:2")

func balanceDeal(
    _ time: String, amount: FixedDecimal, ticket: Int64 = 1, type: DealType = .balance,
    account: AccountID = accountA
) -> RiskInput {
    .deal(account, Deal(ticket: ticket, time: at(time), type: type, entry: .in, profit: amount))
}

func tradeDeal(_ time: String, ticket: Int64 = 1, account: AccountID = accountA) -> RiskInput {
    .deal(
        account,
        Deal(
            ticket: ticket, time: at(time), type: .buy, entry: .in, symbol: "EURUSD", volume: "0.1",
            price: "1.1", positionID: ticket))
}

extension Array where Element == RiskOutput {
    var trackerEvents: [TrackerEvent] {
        compactMap { if case .trackerEvent(let event) = $0 { event } else { nil } }
    }
    var closedStatistics: [PeriodStatistics] {
        compactMap { if case .periodStatistics(_, _, let statistics) = $0 { statistics } else { nil } }
    }
    var chartRecords: [EquityChartRecord] {
        compactMap { if case .equityChart(_, let record) = $0 { record } else { nil } }
    }
}

/// Applies every input, collecting all outputs.
func run(_ engine: inout RiskEngine, _ inputs: [RiskInput]) -> [RiskOutput] {
    inputs.flatMap { engine.apply($0) }
}
