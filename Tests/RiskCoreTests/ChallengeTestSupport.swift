import EquityEngine
import Foundation
import RiskCore
import TidemarkProtocol

// Small builders for challenge and competition tests. Times are broker time "YYYY-MM-DD HH:mm".

let testAccount = AccountID("Demo-Server:1")

func at(_ text: String) -> BrokerTime {
    guard let time = BrokerTime(formatted: text) else { preconditionFailure("bad time \(text)") }
    return time
}

/// An observation; floating defaults to equity − balance − credit.
func observation(
    _ time: String, balance: FixedDecimal, equity: FixedDecimal, credit: FixedDecimal = .zero,
    account: AccountID = testAccount
) -> RiskInput {
    .observation(
        EquityObservation(
            account: account, time: at(time), balance: balance, credit: credit,
            equity: equity, floating: equity - balance - credit))
}

/// A flat account: equity = balance.
func flat(_ time: String, _ balance: FixedDecimal, account: AccountID = testAccount) -> RiskInput {
    observation(time, balance: balance, equity: balance, account: account)
}

func deposit(_ time: String, _ amount: FixedDecimal, ticket: Int64 = 900, account: AccountID = testAccount) -> RiskInput
{
    .deal(account, Deal(ticket: ticket, time: at(time), type: .balance, entry: .in, profit: amount))
}

func creditDeal(_ time: String, _ amount: FixedDecimal, account: AccountID = testAccount) -> RiskInput {
    .deal(account, Deal(ticket: 901, time: at(time), type: .credit, entry: .in, profit: amount))
}

func position(
    _ change: PositionChange, _ time: String, ticket: Int64, lots: FixedDecimal = 1,
    account: AccountID = testAccount
) -> RiskInput {
    .position(
        account,
        PositionUpdate(
            change: change, time: at(time),
            position: Position(
                ticket: ticket, symbol: "EURUSD", side: .buy, volume: lots,
                openPrice: "1.08", openTime: at(time))))
}

/// The deal and the position update of opening a position.
func open(_ time: String, ticket: Int64, lots: FixedDecimal = 1, account: AccountID = testAccount) -> [RiskInput] {
    [
        .deal(
            account,
            Deal(
                ticket: ticket * 10, time: at(time), type: .buy, entry: .in, symbol: "EURUSD",
                volume: lots, price: "1.08", positionID: ticket)),
        position(.opened, time, ticket: ticket, lots: lots, account: account),
    ]
}

/// The position update and closing deal, then the flat observation with the new balance.
func close(
    _ time: String, ticket: Int64, lots: FixedDecimal = 1, profit: FixedDecimal, newBalance: FixedDecimal,
    account: AccountID = testAccount
) -> [RiskInput] {
    [
        position(.closed, time, ticket: ticket, lots: lots, account: account),
        .deal(
            account,
            Deal(
                ticket: ticket * 10 + 1, time: at(time), type: .sell, entry: .out, symbol: "EURUSD",
                volume: lots, price: "1.09", profit: profit, positionID: ticket)),
        flat(time, newBalance, account: account),
    ]
}

/// A whole day's round trip: open at 10:00, close at 15:00 with `profit`, from `balance`.
func roundTrip(
    _ date: String, ticket: Int64, from balance: FixedDecimal, profit: FixedDecimal,
    account: AccountID = testAccount
) -> [RiskInput] {
    open("\(date) 10:00", ticket: ticket, account: account)
        + close("\(date) 15:00", ticket: ticket, profit: profit, newBalance: balance + profit, account: account)
}

/// A one-phase challenge on `testAccount` from Monday 2024-03-04 00:00, broker-midnight days.
func challenge(
    _ rules: RuleSet, capital: FixedDecimal = 100_000, dayReset: DayReset = .brokerMidnight,
    brokerClock: BrokerClock? = nil, enforcement: EnforcementOptions = EnforcementOptions()
) throws -> Challenge {
    try Challenge(
        definition: ChallengeDefinition(
            id: "test", account: testAccount, initialCapital: capital, startTime: at("2024-03-04 00:00"),
            dayReset: dayReset, brokerClock: brokerClock,
            phases: [ChallengePhase(name: "only", rules: rules)], enforcement: enforcement))
}

/// Applies every input, collecting the events.
func run(_ challenge: inout Challenge, _ inputs: [RiskInput]) throws -> [ChallengeEvent] {
    var events: [ChallengeEvent] = []
    for input in inputs { events += try challenge.apply(input) }
    return events
}

func rule(_ kind: RuleKind, in challenge: Challenge) -> RuleProgress? {
    challenge.progress.rules.first { $0.rule == kind }
}

/// deploy/challenge-templates/NAME, found from this file's path.
func templateURL(_ name: String) -> URL {
    URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("deploy/challenge-templates/\(name)")
}

func loadTemplate<T: Decodable>(_ name: String, as type: T.Type) throws -> T {
    try JSONDecoder().decode(T.self, from: Data(contentsOf: templateURL(name)))
}
